/**
 * Swarm membership of one daemon: init, join tokens, join, leave. Each call is idempotent (a member
 * already where it should be is left alone) and refuses a daemon that belongs somewhere else. Join
 * tokens are secrets: never logged, redacted from every error.
 */
import type { EngineEndpoint } from '../engine/api.js';
import { UserError } from '../errors.js';
import { delay, retryUntil } from '../util/async.js';
import {
  LISTEN_ADDR,
  SETTLE_MS,
  call,
  callRetrying,
  engineGet,
  refuseBrokenState,
  settledState,
  swarmState,
  waitUntil,
  where,
} from './calls.js';
import { isAlreadyInSwarm, isNoSuchNode, isNotInSwarm, isTransient } from './errors.js';
import { withSwarmPort, type LocalSwarmState } from './model.js';

export interface SwarmMember {
  name: string;
  role: 'manager' | 'worker';
  endpoint: EngineEndpoint;
  /** Address other nodes reach this one on (the internal IP), with or without `:2377`. */
  advertiseAddr: string;
  labels?: Record<string, string>;
  /** Node IDs the store recorded for this machine at earlier joins, newest first. */
  recordedNodeIds?: string[];
  /** Made (or made again) in this run: its daemon has no swarm state, its old node is gone for sure. */
  fresh?: boolean;
}

export interface JoinTokens {
  manager: string;
  worker: string;
}

export interface JoinOptions {
  /**
   * A manager of the swarm being joined. With it, "already in a swarm" is checked against the
   * manager's cluster (cluster ID for managers, node ID for workers); without it, against the member's
   * remote managers.
   */
  manager?: EngineEndpoint;
  /** How long to keep retrying transient errors and waiting out `pending` (default 180 s). */
  deadlineMs?: number;
}

const JOIN_DEADLINE_MS = 180_000;

/**
 * `swarm init` on the leader (listen 0.0.0.0:2377, advertise the member's internal address). A no-op
 * when it already manages a swarm; refused when it is a worker somewhere.
 */
export async function initSwarm(leader: SwarmMember): Promise<{ created: boolean }> {
  const ep = leader.endpoint;
  for (let attempt = 0; ; attempt++) {
    const st = await settledState(ep);
    if (st.state === 'active') {
      if (st.isManager) return { created: false };
      throw new UserError(
        `${leader.name} is already a worker of a swarm (node ${st.nodeId ?? '?'}); ` +
          `run "docker swarm leave" on it first`,
      );
    }
    refuseBrokenState(leader.name, st);
    try {
      await call(ep, `swarm init on ${leader.name}`, (d) =>
        d.swarmInit({ ListenAddr: LISTEN_ADDR, AdvertiseAddr: leader.advertiseAddr }),
      );
    } catch (err) {
      if (attempt === 0 && isAlreadyInSwarm(err)) continue; // someone else got there first: re-read
      throw err;
    }
    await waitUntil(
      `${leader.name} did not become a swarm manager`,
      async () => {
        const s = await swarmState(ep);
        return s.state === 'active' && s.isManager;
      },
      SETTLE_MS,
    );
    return { created: true };
  }
}

/**
 * `swarm init --force-new-cluster`: restart raft from this manager's own state as a one-member
 * cluster (Docker's own recovery from a lost quorum); services, secrets and workers are kept.
 */
export async function forceNewCluster(survivor: SwarmMember): Promise<void> {
  await call(survivor.endpoint, `swarm init --force-new-cluster on ${survivor.name}`, (d) =>
    d.swarmInit({ ListenAddr: LISTEN_ADDR, AdvertiseAddr: survivor.advertiseAddr, ForceNewCluster: true }),
  );
}

/** The manager and worker join tokens (`GET /swarm`). Secrets: never log them. */
export async function joinTokens(manager: EngineEndpoint): Promise<JoinTokens> {
  const body = await retryUntil(() => engineGet(manager, '/swarm', 'reading the join tokens', 10_000), {
    deadlineMs: 30_000,
    initialMs: 250,
    maxMs: 2_000,
    retryable: isTransient,
  });
  let t: { Worker?: string; Manager?: string } | undefined;
  try {
    t = (JSON.parse(body) as { JoinTokens?: { Worker?: string; Manager?: string } }).JoinTokens;
  } catch {
    t = undefined;
  }
  if (!t?.Manager || !t.Worker) throw new UserError(`${where(manager)} returned no swarm join tokens`);
  return { manager: t.Manager, worker: t.Worker };
}

/** Is an active node in the swarm that `managerAddrs` / `manager` belong to? */
async function inSameSwarm(
  st: LocalSwarmState,
  managerAddrs: readonly string[],
  manager: EngineEndpoint | undefined,
): Promise<boolean> {
  if (manager) {
    const ms = await swarmState(manager);
    if (!ms.isManager || !ms.clusterId)
      throw new UserError(`${where(manager)} is not a swarm manager; cannot check swarm membership`);
    if (st.clusterId) return st.clusterId === ms.clusterId;
    if (!st.nodeId) return false;
    try {
      await callRetrying(manager, 'looking up a node', (d) => d.getNode(st.nodeId!).inspect());
      return true;
    } catch (err) {
      if (isNoSuchNode(err)) return false;
      throw err;
    }
  }
  const mine = new Set((st.remoteManagers ?? []).map(withSwarmPort));
  return managerAddrs.some((a) => mine.has(withSwarmPort(a)));
}

/**
 * `swarm join` with the token for the member's role. A no-op when the member is already in this swarm;
 * refused when it is in another one. Waits out `pending` and retries transient errors (a leader still
 * being elected, a manager restarting) with backoff until the deadline.
 */
export async function joinSwarm(
  member: SwarmMember,
  tokens: JoinTokens,
  managerAddrs: string[],
  opts: JoinOptions = {},
): Promise<{ joined: boolean }> {
  const ep = member.endpoint;
  const secrets = [tokens.manager, tokens.worker];
  const remote = managerAddrs.map(withSwarmPort);
  if (!remote.length) throw new UserError(`no manager address to join ${member.name} through`);
  const token = member.role === 'manager' ? tokens.manager : tokens.worker;
  const deadlineMs = opts.deadlineMs ?? JOIN_DEADLINE_MS;
  const end = Date.now() + deadlineMs;
  let wait = 500;
  let changed = false;
  let accepted = 0;
  let last = '';
  for (;;) {
    let st: LocalSwarmState | undefined;
    try {
      st = await swarmState(ep);
    } catch (err) {
      if (!isTransient(err)) throw err;
      last = (err as Error).message;
    }
    if (st?.state === 'active') {
      if (await inSameSwarm(st, remote, opts.manager)) return { joined: changed };
      throw new UserError(
        `${member.name} is already in another swarm (node ${st.nodeId ?? '?'}); ` +
          `run "docker swarm leave --force" on it first`,
      );
    }
    if (st) {
      changed = true;
      if (st.state === 'locked' || st.state === 'error') refuseBrokenState(member.name, st);
      last = `state "${st.state}"`;
    }
    if (st?.state === 'inactive') {
      try {
        await call(
          ep,
          `joining ${member.name} to the swarm`,
          (d) =>
            d.swarmJoin({
              ListenAddr: LISTEN_ADDR,
              AdvertiseAddr: member.advertiseAddr,
              RemoteAddrs: remote,
              JoinToken: token,
            }),
          secrets,
        );
        if (++accepted === 1) continue; // re-read at once: active now
        last = 'join accepted, node still inactive';
      } catch (err) {
        if (!isTransient(err) && !isAlreadyInSwarm(err)) throw err;
        last = (err as Error).message;
      }
    }
    if (Date.now() + wait > end)
      throw new UserError(
        `${member.name} did not join the swarm within ${Math.round(deadlineMs / 1000)} s (last: ${last}); ` +
          `a pending join keeps trying in the background, "docker swarm leave --force" stops it`,
      );
    await delay(wait);
    wait = Math.min(wait * 2, 5_000);
  }
}

/** `swarm leave` (force: also as a manager, losing quorum if it was needed). Not in a swarm → no-op. */
export async function leaveSwarm(ep: EngineEndpoint, force = false): Promise<{ left: boolean }> {
  const st = await swarmState(ep);
  if (st.state === 'inactive') return { left: false };
  return sendLeave(ep, force);
}

/**
 * `swarm leave` without reading the state first (a manager without a leader holds reads, not this);
 * "not in a swarm" is `{ left: false }`.
 */
export async function sendLeave(ep: EngineEndpoint, force: boolean): Promise<{ left: boolean }> {
  try {
    await call(ep, 'leaving the swarm', (d) => d.swarmLeave({ force }));
  } catch (err) {
    if (isNotInSwarm(err)) return { left: false };
    throw err;
  }
  return { left: true };
}
