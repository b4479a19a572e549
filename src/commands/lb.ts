/**
 * `swarmup lb sync|status|rm`: parse the flags, pick the target (`--cluster` or `--manager`) and its
 * backend (src/lb/backends.ts), run the reconcile loop (src/lb/reconcile.ts), render what it returns.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { LbBackend } from '../lb/backend.js';
import { backendFor, removalTarget } from '../lb/backends.js';
import { formatPlan, planToJSON } from '../lb/plan.js';
import {
  helperFailure,
  helperHopeless,
  statusOf,
  syncOnce,
  watchTarget,
  type PlannedSync,
} from '../lb/reconcile.js';
import { managerTarget } from '../lb/manager.js';
import { clusterTarget, type LbTarget } from '../lb/target.js';
import { validateClusterName } from '../cluster/record.js';
import type { Store } from '../store/store.js';
import { info } from '../util/log.js';
import { storeOf } from './common.js';
import { inSyncLine, removedLine, statusJSON, statusText } from './lb-render.js';

interface TargetOptions {
  cluster?: string;
  manager?: string;
}

interface SyncOptions extends TargetOptions {
  dryRun?: boolean;
  json?: boolean;
  watch?: boolean;
  resync?: string;
  lbImage?: string;
  bind?: string;
}

/** `--cluster NAME` or `--manager MACHINE`, exactly one. */
async function targetOf(o: TargetOptions, store: Store, removal = false): Promise<LbTarget> {
  if (!!o.cluster === !!o.manager) {
    throw new UserError(
      'name the swarm with --cluster NAME (made by "cluster up") or --manager MACHINE (made by hand)',
    );
  }
  if (o.cluster) {
    validateClusterName(o.cluster);
    // `lb rm` needs no record: without one, the local load balancer of that name goes.
    return removal ? removalTarget(store, o.cluster) : clusterTarget(store, o.cluster);
  }
  return managerTarget(store, o.manager!);
}

function printPlan(p: PlannedSync): void {
  if (p.quiet) return;
  for (const w of p.warnings) info(`Warning: ${w}`);
  process.stdout.write(formatPlan(p.plan.plan));
}

async function syncAndRender(b: LbBackend, t: LbTarget, o: SyncOptions, watching: boolean) {
  const r = await syncOnce(b, t, {
    dryRun: o.dryRun,
    log: info,
    quietWhenUnchanged: watching,
    onPlan: o.json ? undefined : printPlan,
  });
  if (o.json && !r.quiet) {
    const out = {
      [t.kind]: t.name,
      ...(r.inSync?.where ?? r.plan.where),
      dryRun: !!o.dryRun,
      warnings: r.warnings,
      ...planToJSON(r.plan.plan),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else if (r.inSync && (r.applied || !watching) && !o.dryRun) info(inSyncLine(t, r.inSync, r.ms));
  const h = r.health;
  if (h && h.failed > 0 && !r.quiet) info(`Warning: ${helperFailure(h)}`);
  return r;
}

export async function sync(opts: SyncOptions, cmd: Command): Promise<void> {
  if (opts.resync !== undefined && !opts.watch) throw new UserError('--resync goes with --watch');
  if (opts.watch && opts.dryRun) throw new UserError('--watch and --dry-run do not go together');
  if (opts.bind !== undefined && !isIP(opts.bind)) {
    throw new UserError(`--bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), not "${opts.bind}"`);
  }
  if (opts.lbImage !== undefined && !opts.lbImage.trim()) throw new UserError('--lb-image must not be empty');
  const t = await targetOf(opts, storeOf(cmd));
  const b = await backendFor(t, { local: { image: opts.lbImage, bind: opts.bind } });
  if (!opts.watch) {
    await syncAndRender(b, t, opts, false);
    return;
  }
  await watchTarget(t, { resync: opts.resync, log: info, sync: () => syncAndRender(b, t, opts, true) });
}

export async function status(opts: TargetOptions & { json?: boolean }, cmd: Command): Promise<void> {
  const t = await targetOf(opts, storeOf(cmd));
  const s = await statusOf(await backendFor(t), t);
  process.stdout.write(opts.json ? JSON.stringify(statusJSON(t, s), null, 2) + '\n' : statusText(t, s));
  if (helperHopeless(s.health)) throw new UserError(helperFailure(s.health));
}

export async function rm(opts: TargetOptions, cmd: Command): Promise<void> {
  const t = await targetOf(opts, storeOf(cmd), true);
  const b = await backendFor(t);
  let planned = false;
  const gone = await b.remove({
    log: info,
    swarm: true,
    onPlan: (p) => {
      planned = true;
      process.stdout.write(formatPlan(p));
    },
  });
  info(removedLine(t, b.provider, gone, planned));
}
