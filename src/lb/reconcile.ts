/**
 * The one reconcile loop, for every load balancer: read the swarm, read what exists, plan, apply,
 * verify; `watch` runs it again on the manager's events, on a timer and while the swarm settles. It
 * returns data and reports progress through callbacks, so the CLI (and later an in-cluster
 * controller) renders it as it likes.
 */
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import type { BackendPlan, HelperHealth, InSync, LbBackend, LbStatus, Log } from './backend.js';
import type { SwarmSnapshot } from './model.js';
import { readTargetSwarm, type LbTarget } from './target.js';
import { managerEvents, resyncMs, watchAndSync, type SyncOutcome } from './watch.js';

export interface SyncOptions {
  dryRun?: boolean;
  /** Progress (stderr in the CLI). */
  log: Log;
  /** Watch mode: say nothing about a sync that changes nothing. */
  quietWhenUnchanged?: boolean;
  /** Called with the plan before it is applied (the CLI prints it). */
  onPlan?: (p: PlannedSync) => void;
  /** How long to wait for a helper service's new tasks to run or fail (default 30 s). */
  helperWaitMs?: number;
}

export interface PlannedSync {
  plan: BackendPlan;
  /** The swarm's warnings, then the plan's. */
  warnings: string[];
  /** Nothing to say: watch mode and no changes. */
  quiet: boolean;
}

export interface SyncReport extends PlannedSync, SyncOutcome {
  applied: boolean;
  /** After an apply (verified), or for a backend that reports an unchanged balancer (SLB). */
  inSync?: InSync;
  /** The helper service's tasks (GCE health service). */
  health?: HelperHealth;
  ms: number;
}

/** The helper service's failure as one line, e.g. `health service: 3 tasks rejected: No such image: ...`. */
export function helperFailure(h: HelperHealth): string {
  const n = h.failed;
  return (
    `health service: ${n} task${n === 1 ? '' : 's'} ${h.failedState ?? 'failed'}: ${h.errors.join('; ') || 'no reason given'}` +
    (h.hint ? ` — ${h.hint}` : '')
  );
}

/** No node runs a helper task and none is on its way: no backend can become healthy. */
export const helperHopeless = (h: HelperHealth | undefined): h is HelperHealth =>
  !!h && h.running === 0 && h.starting === 0 && h.failed > 0;

/** The helper service's tasks, waiting up to `ms` for those on their way to run or fail. */
async function settleHelper(b: LbBackend, ms: number): Promise<HelperHealth | undefined> {
  if (!b.helperHealth) return undefined;
  const end = Date.now() + ms;
  for (;;) {
    const h = await b.helperHealth();
    if (!h || h.starting === 0 || Date.now() >= end) return h;
    await delay(500);
  }
}

/**
 * One sync for the swarm as `snap` shows it: plan, apply, verify. A plan without steps makes no
 * mutating call. Throws when the helper service cannot run anywhere (after applying the rest).
 */
export async function syncSnapshot(b: LbBackend, snap: SwarmSnapshot, o: SyncOptions): Promise<SyncReport> {
  const t0 = Date.now();
  const current = await b.current();
  const desired = await b.desired(snap, current);
  const p = b.plan(current, desired);
  const changes = p.plan.steps.length > 0;
  const planned: PlannedSync = {
    plan: p,
    warnings: [...snap.warnings, ...p.warnings],
    quiet: !!o.quietWhenUnchanged && !changes,
  };
  o.onPlan?.(planned);
  const report: SyncReport = { ...planned, applied: false, settling: !!snap.settling, ms: 0 };
  if (o.dryRun) return { ...report, ms: Date.now() - t0 };
  if (changes) {
    await b.apply(p, current, o.log);
    report.inSync = await b.verify(p, desired);
    report.applied = true;
  } else report.inSync = b.unchanged?.(p, current);
  report.health = await settleHelper(b, changes ? (o.helperWaitMs ?? 30_000) : 0);
  report.ms = Date.now() - t0;
  if (helperHopeless(report.health)) throw new UserError(helperFailure(report.health));
  return report;
}

/** One sync of the target's swarm as it is now. */
export async function syncOnce(b: LbBackend, t: LbTarget, o: SyncOptions): Promise<SyncReport> {
  const snap = await readTargetSwarm(t, o.quietWhenUnchanged ? undefined : o.log);
  return syncSnapshot(b, snap, o);
}

export interface WatchOptions {
  /** `--resync <seconds>` as given. */
  resync?: string;
  log: Log;
  /** One sync (the CLI's: sync, then render). */
  sync: () => Promise<SyncOutcome>;
  signal?: AbortSignal;
}

/** Sync now, then again whenever the target's swarm changes (and every `resync`), until stopped. */
export async function watchTarget(t: LbTarget, o: WatchOptions): Promise<void> {
  const every = resyncMs(o.resync);
  const what = t.kind === 'cluster' ? `cluster "${t.name}"` : `the swarm of manager "${t.name}"`;
  o.log(
    `Watching ${what} (${every ? `re-sync every ${every / 1000} s` : 'no periodic re-sync'}; Ctrl-C stops)...`,
  );
  await watchAndSync({
    sync: o.sync,
    events: managerEvents(async () => (await t.manager()).endpoint),
    log: o.log,
    resyncMs: every,
    signal: o.signal,
  });
  o.log('Stopped watching.');
}

/** `lb status` as data, with the helper service's tasks when the backend has one. */
export function statusOf(b: LbBackend, t: LbTarget): Promise<LbStatus> {
  return b.describe(() => readTargetSwarm(t));
}
