/**
 * `lb sync --watch`, for any load balancer: follow a manager's Docker events (services and nodes),
 * debounce them, and re-sync within seconds; a periodic re-sync catches what events do not show
 * (tasks starting on other nodes). Ctrl-C (SIGINT) or SIGTERM stops it after the running sync.
 */
import type { EngineEndpoint } from '../engine/api.js';
import { UserError, oneLine } from '../errors.js';
import { delay } from '../util/async.js';
import { newEngineClient } from '../swarm/client.js';

/** What a sync may report back to the watch. */
export interface SyncOutcome {
  /**
   * The swarm is still converging: some task it wants running is not yet (scheduled, pulling,
   * starting). No event will say when it runs, so the watch syncs again shortly by itself.
   */
  settling?: boolean;
}

export interface WatchOptions {
  /** One sync; errors are logged and the watch goes on. */
  sync: () => Promise<void | SyncOutcome>;
  /** Open the event stream (again after it breaks). */
  events: () => Promise<NodeJS.ReadableStream>;
  log: (m: string) => void;
  /** Quiet time after the last event before syncing (default 1 s). */
  debounceMs?: number;
  /** A burst of events never delays a sync longer than this (default 5 s). */
  maxDelayMs?: number;
  /** Periodic re-sync (default 30 s; 0: none). */
  resyncMs?: number;
  /** Follow-up after a sync that found the swarm settling (default 1 s; after 15 s, up to 10 s). */
  settleMs?: number;
  /** Stops the watch; default: SIGINT or SIGTERM. */
  signal?: AbortSignal;
}

/** Docker events of a manager that can change what a load balancer needs. */
export function managerEvents(manager: () => Promise<EngineEndpoint>): () => Promise<NodeJS.ReadableStream> {
  return async () => {
    const docker = newEngineClient(await manager());
    return (await docker.getEvents({
      filters: { type: ['service', 'node'] },
    })) as NodeJS.ReadableStream;
  };
}

/** Ends when the signal fires; resolves after the sync that was running then has finished. */
export async function watchAndSync(o: WatchOptions): Promise<void> {
  const debounceMs = o.debounceMs ?? 1_000;
  const maxDelayMs = o.maxDelayMs ?? 5_000;
  const resyncMs = o.resyncMs ?? 30_000;
  let ownSignal: AbortController | undefined;
  let signal = o.signal;
  if (!signal) {
    ownSignal = new AbortController();
    signal = ownSignal.signal;
  }
  const stop = () => ownSignal?.abort();
  if (ownSignal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }

  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt = 0;
  const firstSettleMs = o.settleMs ?? 1_000;
  let settleWait = firstSettleMs;
  let settleTimer: NodeJS.Timeout | undefined;
  let settlingSince = 0;

  const runSync = (): void => {
    if (signal!.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      let settling = false;
      do {
        again = false;
        clearTimeout(settleTimer);
        try {
          settling = !!(await o.sync())?.settling;
        } catch (err) {
          settling = false;
          o.log(`sync failed: ${oneLine(err)} (will try again)`);
        }
      } while (again && !signal!.aborted);
      // Follow a converging swarm until it settles: every settleMs for its first 15 s, then backing
      // off to every 10 s (a task that never starts must not keep the watch busy).
      if (settling && !signal!.aborted) {
        settlingSince ||= Date.now();
        settleTimer = setTimeout(runSync, settleWait);
        if (Date.now() - settlingSince > 15_000) settleWait = Math.min(settleWait * 2, 10_000);
      } else {
        settlingSince = 0;
        settleWait = firstSettleMs;
      }
    })().finally(() => (running = undefined));
  };

  const schedule = (): void => {
    const now = Date.now();
    if (!timer) firstEventAt = now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + maxDelayMs - now));
    timer = setTimeout(() => {
      timer = undefined;
      runSync();
    }, wait);
  };

  const periodic = resyncMs > 0 ? setInterval(runSync, resyncMs) : undefined;
  const aborted = new Promise<void>((resolve) =>
    signal!.addEventListener('abort', () => resolve(), { once: true }),
  );

  runSync();
  let backoff = 1_000;
  let stream: NodeJS.ReadableStream | undefined;
  try {
    while (!signal.aborted) {
      try {
        stream = await Promise.race([o.events(), aborted.then(() => undefined)]);
        if (!stream) break;
        backoff = 1_000;
        o.log(`Following the manager's events.`);
        const s = stream;
        const ended = new Promise<string>((resolve) => {
          s.on('data', () => schedule());
          s.once('end', () => resolve('the event stream ended'));
          s.once('error', (err: unknown) => resolve(oneLine(err)));
        });
        const why = await Promise.race([ended, aborted.then(() => '')]);
        if (signal.aborted) break;
        o.log(`lost the manager's events (${why}); reconnecting`);
      } catch (err) {
        if (signal.aborted) break;
        o.log(`cannot follow the manager's events (${oneLine(err)}); retrying in ${backoff / 1000} s`);
      }
      await Promise.race([delay(backoff), aborted]);
      backoff = Math.min(backoff * 2, 30_000);
      // Events may have been missed while disconnected.
      runSync();
    }
  } finally {
    (stream as { destroy?: () => void } | undefined)?.destroy?.();
    clearTimeout(timer);
    clearTimeout(settleTimer);
    if (periodic) clearInterval(periodic);
    if (ownSignal) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await running;
  }
}

/** `--resync <seconds>`: the periodic re-sync in ms (default 30 s; 0: none). */
export function resyncMs(value: string | undefined): number {
  if (value === undefined) return 30_000;
  const n = Number(value.trim());
  if (!value.trim() || !Number.isFinite(n) || n < 0 || n > 86_400) {
    throw new UserError(`--resync must be a number of seconds from 0 (never) to 86400, not "${value}"`);
  }
  return Math.round(n * 1000);
}
