/**
 * The controller inside the cluster (`swarmup lb controller run`, the service's entrypoint): the
 * same reconcile as `lb sync --watch` (src/lb/reconcile.ts, src/lb/watch.ts) against the local
 * manager's Docker socket, run only while it holds the lease (lease.ts). One log line per change,
 * exponential backoff after a failed sync, a clean exit on SIGTERM (the lease released, so a
 * replacement starts at once).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { useGceCredentials } from '../../cloud/gce/auth.js';
import type { FlagValues } from '../../driver/contract.js';
import { UserError, oneLine } from '../../errors.js';
import { delay } from '../../util/async.js';
import type { InSync, LbBackend, Log } from '../backend.js';
import { backendFor } from '../backends.js';
import { managerClient, type ManagerEngine } from '../engine.js';
import { planSummary } from '../plan.js';
import { syncOnce } from '../reconcile.js';
import { managerEvents, watchAndSync, type SyncOutcome } from '../watch.js';
import { controllerTarget, type ControllerConfig } from './config.js';
import { LEASE, Lease, type ControllerStatus } from './lease.js';
import { CONTROLLER_UID } from './spec.js';

/**
 * Started as root (the socket is root's): keep the socket's group, become CONTROLLER_UID. Returns a
 * line saying who runs. Nothing happens when not root.
 */
export function dropPrivileges(socket: string): string {
  if (process.getuid?.() !== 0 || !process.setuid || !process.setgid || !process.setgroups)
    return `running as uid ${process.getuid?.() ?? '?'}`;
  const gid = statSync(socket).gid;
  process.setgroups([gid]);
  process.setgid(CONTROLLER_UID);
  process.setuid(CONTROLLER_UID);
  return `running as uid ${CONTROLLER_UID} with the group of ${socket} (${gid})`;
}

/** Wait after the n-th failure in a row: 1 s, 2 s, 4 s ... up to `maxMs`, with ±20 % jitter. */
export function backoffMs(failures: number, maxMs = 60_000, random = Math.random): number {
  const base = Math.min(maxMs, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + random() * 0.4));
}

async function secretFile(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new UserError(
      `cannot read the ${what} secret ${file}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`,
    );
  }
}

/** Set the process up for the configured credentials; flags that carry them (Aliyun AccessKey). */
async function credentialFlags(c: ControllerConfig): Promise<FlagValues> {
  const cr = c.credentials;
  switch (cr.kind) {
    case 'instance':
      useGceCredentials({ kind: 'instance' });
      return {};
    case 'key':
      useGceCredentials({ kind: 'key', file: cr.file });
      return {};
    case 'ram-role':
      process.env.ALIBABA_CLOUD_ECS_METADATA = cr.role;
      return {};
    case 'access-key':
      return {
        'aliyunecs-access-key-id': await secretFile(cr.idFile, 'AccessKey id'),
        'aliyunecs-access-key-secret': await secretFile(cr.secretFile, 'AccessKey secret'),
      };
  }
}

export interface RunOptions {
  config: ControllerConfig;
  engine: ManagerEngine;
  /** This task's name (lease holder) and node. */
  me: string;
  node: string;
  /** One line per event worth telling (the service's log). */
  log: Log;
  /** Progress inside a sync (debug). */
  detail: Log;
  signal: AbortSignal;
}

const credentialsText: Record<ControllerConfig['credentials']['kind'], string> = {
  instance: "the instance's service account (metadata server)",
  key: 'a service-account key (swarm secret)',
  'ram-role': "the instance's RAM role (metadata server)",
  'access-key': 'an AccessKey (swarm secrets)',
};

/** Run until `signal` fires: wait for the lease, then watch and sync while holding it. */
export async function runController(o: RunOptions): Promise<void> {
  const c = o.config;
  const extra = await credentialFlags(c);
  const t = controllerTarget(c, o.engine, o.node, extra);
  const docker = managerClient(o.engine);
  const lease = new Lease(docker, o.me);
  const what = `${c.kind} "${c.name}" (${c.driver})`;
  o.log(
    `swarmup lb controller ${o.me} on ${o.node}: keeps the load balancer of ${what}; credentials: ${credentialsText[c.credentials.kind]}`,
  );

  let backend: LbBackend | undefined;
  let status: Omit<ControllerStatus, 'holder' | 'since'> = { node: o.node, failures: 0 };
  let warned = new Set<string>();
  let failures = 0;

  const sync = async (): Promise<SyncOutcome> => {
    if (lease.validFor() < 1000) {
      o.detail('not syncing: the lease is not held');
      return {};
    }
    try {
      backend ??= await backendFor(t);
      const r = await syncOnce(backend, t, {
        log: o.detail,
        quietWhenUnchanged: true,
        onPlan: (p) => {
          const now = new Set(p.warnings);
          for (const w of now) if (!warned.has(w)) o.log(`warning: ${w}`);
          warned = now;
          for (const s of p.plan.plan.steps)
            o.log(`${s.op} ${s.kind} ${s.name}${s.detail ? `: ${s.detail}` : ''}`);
        },
      });
      const at = new Date().toISOString();
      if (failures) o.log(`sync succeeded after ${failures} failure(s)`);
      failures = 0;
      status = { ...status, lastSync: at, ok: true, lastError: undefined, failures: 0 };
      if (r.applied) {
        const sum = planSummary(r.plan.plan);
        const summary = summaryOf(r.inSync);
        o.log(`in sync (${r.ms} ms): ${summary}`);
        status = { ...status, lastChange: at, plan: sum, summary };
        await lease.acquire(status).catch((err: unknown) => o.detail(`status not written: ${oneLine(err)}`));
      }
      if (r.health && r.health.failed > 0) o.log(`warning: health service: ${r.health.errors.join('; ')}`);
      return { settling: r.settling };
    } catch (err) {
      failures++;
      const wait = backoffMs(failures, Math.max(5_000, Math.min(60_000, c.resyncS * 1000 || 60_000)));
      o.log(`sync failed: ${oneLine(err)}; retrying in ${(wait / 1000).toFixed(1)} s`);
      status = {
        ...status,
        lastSync: new Date().toISOString(),
        ok: false,
        lastError: oneLine(err),
        failures,
      };
      await lease.acquire(status).catch(() => undefined);
      return { retryAfterMs: wait };
    }
  };

  let waitingFor = '';
  while (!o.signal.aborted) {
    // Take the lease (or wait for it).
    let held = false;
    try {
      const r = await lease.acquire(status);
      held = r.held;
      if (!held && r.seen && r.seen.holder !== waitingFor) {
        waitingFor = r.seen.holder;
        o.log(
          `waiting for the lease: held by ${r.seen.holder} until ${new Date(r.seen.expiresAt).toISOString()}`,
        );
      }
    } catch (err) {
      o.log(`cannot read the lease: ${oneLine(err)}`);
    }
    if (!held) {
      await Promise.race([delay(2_000), aborted(o.signal)]);
      continue;
    }
    waitingFor = '';
    o.log(`holding the lease; syncing on start, on the swarm's events and every ${c.resyncS || '∞'} s`);
    const inner = new AbortController();
    const stop = () => inner.abort();
    o.signal.addEventListener('abort', stop, { once: true });
    const renew = setInterval(() => {
      lease.acquire(status).then(
        (r) => {
          if (!r.held) {
            o.log('lost the lease to another controller; no more changes from this one');
            inner.abort();
          }
        },
        (err: unknown) => {
          if (!lease.holding) {
            o.log(`cannot renew the lease (${oneLine(err)}) and it ran out; no more changes from this one`);
            inner.abort();
          } else o.detail(`lease renewal failed: ${oneLine(err)}`);
        },
      );
    }, LEASE.renewMs);
    try {
      await watchAndSync({
        sync,
        events: managerEvents(async () => o.engine),
        log: o.log,
        resyncMs: c.resyncS * 1000,
        signal: inner.signal,
      });
    } finally {
      clearInterval(renew);
      o.signal.removeEventListener('abort', stop);
    }
  }
  try {
    await lease.release(status);
    o.log('stopped; lease released');
  } catch (err) {
    o.log(
      `stopped; the lease could not be released (${oneLine(err)}): it expires in ${LEASE.ttlMs / 1000} s`,
    );
  }
}

const aborted = (s: AbortSignal) =>
  new Promise<void>((resolve) =>
    s.aborted ? resolve() : s.addEventListener('abort', () => resolve(), { once: true }),
  );

function summaryOf(s: InSync | undefined): string {
  if (!s) return 'applied';
  switch (s.provider) {
    case 'gce':
      return `${s.address ?? '?'}, ${s.rules.length} forwarding rule(s) (${s.rules.join(' ') || 'none'}), ${s.instances} instance(s)`;
    case 'slb':
      return `SLB ${s.id} (${s.address ?? 'no address'}), ${s.listeners} listener(s)`;
    case 'local':
      return `${s.container}, ${s.listeners} listener(s)`;
  }
}
