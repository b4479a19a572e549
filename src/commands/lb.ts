import { isIP } from 'node:net';
import type { Command } from 'commander';
import Docker from 'dockerode';
import { requireClusterRecord, validateClusterName } from '../cluster/record.js';
import { UserError } from '../errors.js';
import { desiredListeners, listenerKey } from '../lb/desired.js';
import {
  applyLocal,
  planLocal,
  readLocal,
  removeLocal,
  verifyLocal,
  type LocalCurrent,
} from '../lb/local/backend.js';
import { lbContainerName } from '../lb/local/container.js';
import type { Listener } from '../lb/model.js';
import { cloudLoadBalancerFor } from '../lb/cloud.js';
import { formatPlan, planToJSON } from '../lb/plan.js';
import { watchCluster, type SyncOutcome } from '../lb/watch.js';
import { readClusterSwarm } from '../lb/cluster-swarm.js';
import type { Store } from '../store/store.js';
import { info } from '../util/log.js';
import { storeOf } from './common.js';

/** Drivers whose machines this host reaches directly at their swarm addresses. */
const LOCAL_DRIVERS = ['docker', 'generic'];

interface SyncOptions {
  cluster: string;
  dryRun?: boolean;
  json?: boolean;
  watch?: boolean;
  resync?: string;
  lbImage?: string;
  bind?: string;
}

const localEngine = () => new Docker();
const engineName = () => process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

/** Turn a failure to talk to the local engine into one clear line. */
async function onLocalEngine<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${what} on the local Docker engine (${engineName()}): ${(err as Error).message}`);
  }
}

/** The listeners the swarm of `cluster` asks for, read from a reachable manager. */
async function desiredOf(
  store: Store,
  cluster: string,
  quiet: boolean,
): Promise<{ listeners: Listener[]; settling: boolean }> {
  const rec = await requireClusterRecord(store, cluster);
  if (!LOCAL_DRIVERS.includes(rec.Driver)) {
    throw new UserError(
      `cluster "${cluster}" uses the ${rec.Driver} driver; the local load balancer serves only clusters whose nodes this host reaches directly (drivers ${LOCAL_DRIVERS.join(', ')})`,
    );
  }
  const snap = await readClusterSwarm(store, cluster, quiet);
  for (const w of snap.warnings) info(`Warning: ${w}`);
  return { listeners: desiredListeners(snap.services, snap.nodes, snap.tasks), settling: !!snap.settling };
}

export async function sync(opts: SyncOptions, cmd: Command): Promise<void> {
  const { cluster } = opts;
  validateClusterName(cluster);
  if (opts.resync !== undefined && !opts.watch) throw new UserError('--resync goes with --watch');
  const store = storeOf(cmd);
  const cloud = await cloudLoadBalancerFor(store, cluster);
  if (cloud) return cloud.lb.sync(opts, cloud.ctx);
  if (!opts.watch) {
    await syncLocal(opts, cmd, false);
    return;
  }
  await watchCluster(store, cluster, opts, () => syncLocal(opts, cmd, true));
}

/**
 * One sync of the local haproxy load balancer. Tells whether the swarm was still starting tasks, whose
 * host-mode ports will need another sync once they run.
 */
async function syncLocal(opts: SyncOptions, cmd: Command, quietWhenUnchanged: boolean): Promise<SyncOutcome> {
  const { cluster } = opts;
  if (opts.bind !== undefined && !isIP(opts.bind)) {
    throw new UserError(`--bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), not "${opts.bind}"`);
  }
  if (opts.lbImage !== undefined && !opts.lbImage.trim()) throw new UserError('--lb-image must not be empty');
  const store = storeOf(cmd);
  const t0 = Date.now();
  const { listeners: desired, settling } = await desiredOf(store, cluster, quietWhenUnchanged);
  const docker = localEngine();
  const current = await onLocalEngine('cannot read the load balancer', () => readLocal(docker, cluster));
  const lp = planLocal(current, desired, { image: opts.lbImage, bind: opts.bind });

  if (opts.json) {
    const out = {
      cluster,
      container: lbContainerName(cluster),
      image: lp.image,
      bind: lp.next.bind,
      dryRun: !!opts.dryRun,
      ...planToJSON(lp.plan),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else if (!(quietWhenUnchanged && lp.plan.steps.length === 0)) {
    process.stdout.write(formatPlan(lp.plan));
  }
  if (opts.dryRun || lp.plan.steps.length === 0) return { settling };

  const r = await onLocalEngine('cannot update the load balancer', () =>
    applyLocal(docker, current, lp, info),
  );
  const after = await onLocalEngine('cannot verify the load balancer', () =>
    verifyLocal(docker, lp, desired),
  );
  const n = after.state?.listeners.length ?? 0;
  info(
    `Load balancer ${lbContainerName(cluster)} is in sync: ${n} listener${n === 1 ? '' : 's'} on ${lp.next.bind}` +
      ` (${r.action}${r.readyMs !== undefined ? `, haproxy ready in ${r.readyMs} ms` : ''}; ${Date.now() - t0} ms in all)`,
  );
  return { settling };
}

interface StatusOptions {
  cluster: string;
  json?: boolean;
}

function statusRows(cur: LocalCurrent) {
  const listening = new Set(cur.runtime?.workers.flatMap((w) => w.ports) ?? []);
  return (cur.state?.listeners ?? []).map((l) => ({
    listener: listenerKey(l),
    mode: l.mode,
    services: l.services,
    backends: l.backends,
    listening: !!cur.container?.running && listening.has(l.port),
  }));
}

export async function status(opts: StatusOptions, cmd: Command): Promise<void> {
  const { cluster } = opts;
  validateClusterName(cluster);
  const cloud = await cloudLoadBalancerFor(storeOf(cmd), cluster);
  if (cloud) return cloud.lb.status(opts, cloud.ctx);
  const docker = localEngine();
  const cur = await onLocalEngine('cannot read the load balancer', () => readLocal(docker, cluster));
  // Compare with the swarm when a manager answers; the LB's own state is shown either way.
  let pending: number | undefined;
  let swarmError: string | undefined;
  try {
    const desired = (await desiredOf(storeOf(cmd), cluster, true)).listeners;
    pending = planLocal(cur, desired).plan.steps.length;
  } catch (err) {
    swarmError = (err as Error).message;
  }
  const rows = statusRows(cur);
  if (opts.json) {
    const c = cur.container;
    const out = {
      cluster,
      container: c
        ? { name: c.name, id: c.id, image: c.image, status: c.status, startedAt: c.startedAt }
        : null,
      bind: cur.state?.bind ?? null,
      listeners: rows,
      inSync: pending === undefined ? null : pending === 0,
      pendingChanges: pending ?? null,
      ...(swarmError ? { swarmError } : {}),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const lines: string[] = [];
  const c = cur.container;
  if (!c) lines.push(`No load balancer container (${lbContainerName(cluster)}) on ${engineName()}.`);
  else {
    lines.push(`Container: ${c.name} (${c.status}, image ${c.image}, started ${c.startedAt})`);
    lines.push(`Bind:      ${cur.state?.bind ?? 'unknown (config missing or unreadable)'}`);
    if (rows.length === 0) lines.push('Listeners: none');
    else {
      const table = [
        ['LISTENER', 'MODE', 'SERVICES', 'LISTENING', 'BACKENDS'],
        ...rows.map((r) => [
          r.listener,
          r.mode,
          r.services.join(','),
          r.listening ? 'yes' : 'NO',
          r.backends.map((b) => `${b.node}=${b.address}`).join(' ') || '-',
        ]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table)
        lines.push(
          row
            .map((cell, i) => cell.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        );
    }
  }
  if (swarmError) lines.push(`Swarm: not compared (${swarmError})`);
  else if (pending === 0) lines.push('In sync with the swarm.');
  else
    lines.push(
      `${pending} change${pending === 1 ? '' : 's'} pending: run "swarmup lb sync --cluster ${cluster}".`,
    );
  process.stdout.write(lines.join('\n') + '\n');
}

export async function rm(opts: { cluster: string }, cmd: Command): Promise<void> {
  validateClusterName(opts.cluster);
  const cloud = await cloudLoadBalancerFor(storeOf(cmd), opts.cluster);
  if (cloud) return cloud.lb.rm(opts, cloud.ctx);
  const docker = localEngine();
  const removed = await onLocalEngine('cannot remove the load balancer', () =>
    removeLocal(docker, opts.cluster),
  );
  info(
    removed
      ? `Removed load balancer container ${lbContainerName(opts.cluster)}.`
      : `No load balancer container ${lbContainerName(opts.cluster)}; nothing to remove.`,
  );
}
