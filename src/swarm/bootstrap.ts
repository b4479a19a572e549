/**
 * Swarm bootstrap shared by every driver, through the Docker Engine API (dockerode over the machine's
 * mutual-TLS endpoint). Every step is idempotent, so a re-run converges instead of failing. Join
 * tokens are secrets: they are never logged and are redacted from every error this module throws.
 */
import type Docker from 'dockerode';
import { engineRequest, type EngineEndpoint, type EngineResponse } from '../engine/api.js';
import { UserError, oneLine } from '../errors.js';
import { delay, mapBounded, retryUntil } from '../util/async.js';
import { ENGINE_TIMEOUT_MS, engineClient } from './client.js';
import {
  EngineApiError,
  isAlreadyInSwarm,
  isNoSuchNode,
  isNotInRaft,
  isNotInSwarm,
  isTransient,
  wrapEngineError,
} from './errors.js';
import {
  SWARM_PORT,
  chooseBootstrapManager,
  managerAddrsOf,
  matchNodes,
  mergeLabels,
  nodeReadiness,
  pickNode,
  staleNodes,
  toLocalSwarmState,
  toSwarmNode,
  withSwarmPort,
  type LocalSwarmState,
  type RawInfoSwarm,
  type RawNode,
  type SwarmNode,
} from './model.js';

export interface SwarmMember {
  name: string;
  role: 'manager' | 'worker';
  endpoint: EngineEndpoint;
  /** Address other nodes reach this one on (the internal IP), with or without `:2377`. */
  advertiseAddr: string;
  labels?: Record<string, string>;
}

export type { SwarmNode } from './model.js';

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

/** The role label every member gets. */
export const ROLE_LABEL = 'swarmup.role';

const LISTEN_ADDR = `0.0.0.0:${SWARM_PORT}`;
const SETTLE_MS = 60_000;
const JOIN_DEADLINE_MS = 180_000;
const UPDATE_DEADLINE_MS = 60_000;

const where = (ep: EngineEndpoint) => `${ep.host}:${ep.port}`;

/** One Engine API call; any failure becomes an EngineApiError with the secrets redacted. */
async function call<T>(
  ep: EngineEndpoint,
  action: string,
  fn: (d: Docker) => Promise<T>,
  secrets: readonly string[] = [],
): Promise<T> {
  try {
    return await fn(engineClient(ep));
  } catch (err) {
    throw wrapEngineError(err, ep, action, secrets);
  }
}

/** Like `call`, retried while the error is transient (leader election, connection cut). */
function callRetrying<T>(
  ep: EngineEndpoint,
  action: string,
  fn: (d: Docker) => Promise<T>,
  deadlineMs = 30_000,
): Promise<T> {
  return retryUntil(() => call(ep, action, fn), {
    deadlineMs,
    initialMs: 250,
    maxMs: 2_000,
    retryable: isTransient,
  });
}

export async function swarmState(ep: EngineEndpoint): Promise<LocalSwarmState> {
  const info = (await callRetrying(ep, 'reading the swarm state', (d) => d.info(), 15_000)) as {
    Swarm?: RawInfoSwarm;
  };
  return toLocalSwarmState(info.Swarm);
}

/** The swarm state once it is no longer `pending` (a join in progress), or `pending` at the deadline. */
async function settledState(ep: EngineEndpoint, deadlineMs = SETTLE_MS): Promise<LocalSwarmState> {
  const end = Date.now() + deadlineMs;
  let wait = 250;
  for (;;) {
    const st = await swarmState(ep);
    if (st.state !== 'pending' || Date.now() + wait > end) return st;
    await delay(wait);
    wait = Math.min(wait * 2, 2_000);
  }
}

function refuseBrokenState(name: string, st: LocalSwarmState): void {
  if (st.state === 'locked')
    throw new UserError(`${name}: the swarm is locked; unlock it first (docker swarm unlock)`);
  if (st.state === 'error')
    throw new UserError(`${name}: the swarm state is "error"${st.error ? `: ${oneLine(st.error)}` : ''}`);
  if (st.state === 'pending')
    throw new UserError(`${name}: still joining a swarm (state "pending") after ${SETTLE_MS / 1000} s`);
}

async function waitUntil(what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  let wait = 200;
  for (;;) {
    if (await check()) return;
    if (Date.now() + wait > end) throw new UserError(`${what} within ${Math.round(deadlineMs / 1000)} s`);
    await delay(wait);
    wait = Math.min(wait * 2, 2_000);
  }
}

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
 * The manager and worker join tokens. Secrets: never log them. Read with node:https rather than
 * dockerode, whose transport (docker-modem) prints every response body under `DEBUG=modem` or
 * `DEBUG=*`, tokens included.
 */
export async function joinTokens(manager: EngineEndpoint): Promise<JoinTokens> {
  const action = 'reading the join tokens';
  const body = await retryUntil(
    async () => {
      let r: EngineResponse;
      try {
        r = await engineRequest(manager, 'GET', '/swarm', ENGINE_TIMEOUT_MS);
      } catch (err) {
        throw wrapEngineError(err, manager, action);
      }
      if (r.status === 200) return r.body;
      let json: unknown;
      try {
        json = JSON.parse(r.body);
      } catch {
        json = undefined;
      }
      const detail = (json as { message?: string } | undefined)?.message ?? (r.body.trim() || 'no message');
      throw wrapEngineError(Object.assign(new Error(detail), { statusCode: r.status }), manager, action);
    },
    { deadlineMs: 30_000, initialMs: 250, maxMs: 2_000, retryable: isTransient },
  );
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

async function rawNodes(manager: EngineEndpoint): Promise<RawNode[]> {
  return (await callRetrying(manager, 'listing swarm nodes', (d) => d.listNodes())) as RawNode[];
}

export async function listNodes(manager: EngineEndpoint): Promise<SwarmNode[]> {
  return (await rawNodes(manager))
    .map(toSwarmNode)
    .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
}

type NodeSpec = NonNullable<RawNode['Spec']>;

/**
 * Versioned read-modify-write of a node spec; `change` returns undefined when there is nothing to do.
 * Retried on "update out of sequence" (another update won the race) and transient errors.
 */
async function updateNode(
  manager: EngineEndpoint,
  ref: string,
  action: string,
  change: (spec: NodeSpec) => NodeSpec | undefined,
): Promise<{ node: RawNode; updated: boolean }> {
  return retryUntil(
    async () => {
      const node = pickNode(await rawNodes(manager), ref);
      const spec = change(structuredClone(node.Spec ?? {}));
      if (!spec) return { node, updated: false };
      await call(manager, action, (d) =>
        d.getNode(node.ID).update({ _query: { version: node.Version?.Index ?? 0 }, _body: spec }),
      );
      return { node, updated: true };
    },
    { deadlineMs: UPDATE_DEADLINE_MS, initialMs: 100, maxMs: 1_000, retryable: isTransient },
  );
}

/** Merge `labels` into the node's labels (no update when they are already there). */
export async function setNodeLabels(
  manager: EngineEndpoint,
  hostname: string,
  labels: Record<string, string>,
): Promise<void> {
  await updateNode(manager, hostname, `labelling node ${hostname}`, (spec) => {
    const merged = mergeLabels(spec.Labels, labels);
    return merged ? { ...spec, Labels: merged } : undefined;
  });
}

/**
 * Promote or demote a node, then wait until raft agrees: a promoted node is a reachable manager, a
 * demoted one no longer has a manager status. Demoting the manager being talked to is fine: the wait
 * then watches that daemon give up control.
 */
export async function setNodeRole(
  manager: EngineEndpoint,
  hostname: string,
  role: 'manager' | 'worker',
): Promise<void> {
  const verb = role === 'manager' ? 'promoting' : 'demoting';
  const { node } = await updateNode(manager, hostname, `${verb} node ${hostname}`, (spec) =>
    spec.Role === role ? undefined : { ...spec, Role: role },
  );
  // Wait even when the spec already had the role: a transition started earlier may be in flight.
  const self = role === 'worker' && (await swarmState(manager)).nodeId === node.ID;
  await waitUntil(
    `node ${hostname} did not finish ${verb}`,
    async () => {
      if (self) return !(await swarmState(manager)).isManager;
      const n = (await rawNodes(manager)).find((x) => x.ID === node.ID);
      if (!n) return false;
      return role === 'manager' ? n.ManagerStatus?.Reachability === 'reachable' : !n.ManagerStatus;
    },
    UPDATE_DEADLINE_MS,
  );
}

/**
 * Force-remove every node entry with this hostname (or ID); none is fine. A manager entry is demoted
 * first, as Docker refuses to remove a raft member. Draining and `swarm leave` are the caller's job.
 */
export async function removeNode(manager: EngineEndpoint, hostname: string): Promise<void> {
  for (const n of matchNodes(await rawNodes(manager), hostname)) {
    if (n.Spec?.Role === 'manager' || n.ManagerStatus) {
      try {
        await setNodeRole(manager, n.ID, 'worker');
      } catch (err) {
        // A manager that a forced new cluster dropped from raft has nothing left to demote.
        if (!isNotInRaft(err)) throw err;
      }
    }
    try {
      await callRetrying(manager, `removing node ${hostname}`, (d) =>
        d.getNode(n.ID).remove({ force: true }),
      );
    } catch (err) {
      if (!isNoSuchNode(err)) throw err;
    }
  }
}

/** `swarm leave` (force: also as a manager, losing quorum if it was needed). Not in a swarm → no-op. */
export async function leaveSwarm(ep: EngineEndpoint, force = false): Promise<{ left: boolean }> {
  const st = await swarmState(ep);
  if (st.state === 'inactive') return { left: false };
  try {
    await call(ep, 'leaving the swarm', (d) => d.swarmLeave({ force }));
  } catch (err) {
    if (isNotInSwarm(err)) return { left: false };
    throw err;
  }
  return { left: true };
}

/**
 * Poll `GET /nodes` until every hostname has a node that is Ready and active. On timeout the error
 * names each node that is not, with its state, availability and the daemon's message.
 */
export async function waitNodesReady(
  manager: EngineEndpoint,
  hostnames: string[],
  timeoutMs: number,
): Promise<SwarmNode[]> {
  const end = Date.now() + timeoutMs;
  let wait = 250;
  let nodes: RawNode[] = [];
  let lastErr = '';
  for (;;) {
    try {
      nodes = await call(manager, 'listing swarm nodes', async (d) => (await d.listNodes()) as RawNode[]);
      lastErr = '';
    } catch (err) {
      if (!isTransient(err)) throw err;
      lastErr = (err as Error).message;
    }
    const { ready, notReady } = nodeReadiness(nodes, hostnames);
    if (!notReady.length && !lastErr) return ready.map(toSwarmNode);
    const left = end - Date.now();
    if (left <= 0)
      throw new UserError(
        `swarm nodes not Ready after ${Math.round(timeoutMs / 1000)} s: ` +
          (notReady.length ? notReady.join(', ') : lastErr),
      );
    await delay(Math.min(wait, left));
    wait = Math.min(Math.round(wait * 1.5), 2_000);
  }
}

/** How long a manager may go without a raft leader (an election in progress) before quorum is lost. */
const ELECTION_MS = 20_000;

/** Does the swarm have a raft leader? Waits out an election; false once none comes. */
async function hasLeader(manager: EngineEndpoint): Promise<boolean> {
  return (await raftNodes(manager)) !== undefined;
}

/** The node list, or undefined when the swarm has no leader (after waiting out an election). */
async function raftNodes(manager: EngineEndpoint): Promise<RawNode[] | undefined> {
  try {
    return (await callRetrying(
      manager,
      'listing swarm nodes',
      (d) => d.listNodes(),
      ELECTION_MS,
    )) as RawNode[];
  } catch (err) {
    if (err instanceof EngineApiError && /does not have a leader/i.test(err.detail)) return undefined;
    throw err;
  }
}

/**
 * Has the swarm lost its raft quorum? Either it has no leader, or at most half of its raft managers
 * are still alive. A raft manager is known dead when the leader finds it unreachable, or when it is a
 * member made again (same hostname, no swarm state): the leader notices that only after its heartbeat
 * timeout and keeps answering reads meanwhile, while every join, which needs a quorum, fails.
 */
async function quorumLost(
  manager: EngineEndpoint,
  members: readonly SwarmMember[],
  before: readonly LocalSwarmState[],
): Promise<boolean> {
  const nodes = await raftNodes(manager);
  if (!nodes) return true;
  const remade = new Set(members.filter((_, i) => before[i].state === 'inactive').map((m) => m.name));
  const raft = nodes.filter((n) => n.ManagerStatus);
  const dead = raft.filter(
    (n) => n.ManagerStatus?.Reachability === 'unreachable' || remade.has(n.Description?.Hostname ?? ''),
  );
  return (raft.length - dead.length) * 2 <= raft.length;
}

/**
 * The manager at `index` runs but its swarm has no leader: most managers are gone. When it is the only
 * surviving manager among the members (the others were made again, or are workers), restart raft from
 * its state with `--force-new-cluster`, as Docker's own recovery does; services and workers carry on.
 * With other old managers still running, choosing which state wins is the user's call.
 */
async function recoverQuorum(
  members: readonly SwarmMember[],
  before: readonly LocalSwarmState[],
  index: number,
  log: (m: string) => void,
): Promise<void> {
  const survivor = members[index];
  const clusterId = before[index].clusterId;
  const others = members.filter(
    (_, i) => i !== index && before[i].isManager && before[i].clusterId === clusterId,
  );
  if (others.length)
    throw new UserError(
      `the swarm has lost its raft quorum: no leader among ${[survivor, ...others].map((m) => m.name).join(', ')}; ` +
        `run "docker swarm init --force-new-cluster" on the manager whose state should win, then "swarmup cluster up" again`,
    );
  log(
    `The swarm has no leader: its other managers are gone. Restarting raft on ${survivor.name} ` +
      `(docker swarm init --force-new-cluster); services and workers are kept`,
  );
  await call(survivor.endpoint, `swarm init --force-new-cluster on ${survivor.name}`, (d) =>
    d.swarmInit({ ListenAddr: LISTEN_ADDR, AdvertiseAddr: survivor.advertiseAddr, ForceNewCluster: true }),
  );
  await waitUntil(
    `${survivor.name} did not become the leader of the recovered swarm`,
    () => hasLeader(survivor.endpoint),
    SETTLE_MS,
  );
}

/** Settle `fn` over items with bounded concurrency; failures are collected, not thrown. */
async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: unknown })[]> {
  return mapBounded(items, limit, async (item) => {
    try {
      return { ok: true as const, value: await fn(item) };
    } catch (error) {
      return { ok: false as const, error };
    }
  });
}

function validateMembers(members: readonly SwarmMember[]): void {
  if (!members.length) throw new UserError('no machines to build a swarm from');
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.name)) throw new UserError(`machine "${m.name}" is listed twice`);
    seen.add(m.name);
    if (!m.advertiseAddr) throw new UserError(`machine "${m.name}" has no address to advertise`);
  }
  if (!members.some((m) => m.role === 'manager')) throw new UserError('a swarm needs at least one manager');
}

/**
 * Build or converge a swarm from machines: reuse a manager that already runs (or `swarm init` the
 * first declared manager), read the tokens once, join the other managers one at a time (each changes
 * the raft quorum) and the workers concurrently (at most `parallel`, default 8), then make roles and
 * labels (`swarmup.role` plus the member's labels) match. A second call with the same members changes
 * nothing and returns `{ initialized: false, joined: [] }`.
 */
export async function bootstrapSwarm(
  members: SwarmMember[],
  opts: {
    log: (m: string) => void;
    parallel?: number;
    /**
     * The members are one cluster's own machines, so a swarm that lost its managers is theirs to
     * repair: workers left behind by managers that are all gone leave it and join a new swarm, and a
     * lone surviving manager that lost its raft quorum starts a new cluster from its own state.
     */
    repair?: boolean;
  },
): Promise<{ initialized: boolean; joined: string[] }> {
  validateMembers(members);
  let changed = false;
  const log = (m: string) => {
    changed = true;
    opts.log(m);
  };
  const parallel = Math.max(1, opts.parallel ?? 8);

  const before = await mapBounded(members, parallel, (m) => settledState(m.endpoint));
  const { index, init, orphans } = chooseBootstrapManager(members, before, { reclaimOrphans: opts.repair });
  const leader = members[index];
  let control = leader.endpoint;
  let initialized = false;
  for (const i of orphans) {
    log(`${members[i].name} is a worker of a swarm whose managers are all gone: it leaves it`);
    await leaveSwarm(members[i].endpoint, true);
    before[i] = await settledState(members[i].endpoint);
  }
  if (init) {
    log(`Initializing a swarm on ${leader.name} (advertising ${leader.advertiseAddr})`);
    initialized = (await initSwarm(leader)).created;
  } else {
    opts.log(`Using the existing swarm managed by ${leader.name}`);
    if (opts.repair && (await quorumLost(control, members, before)))
      await recoverQuorum(members, before, index, log);
  }

  const tokens = await joinTokens(control);
  const joinedSet = new Set<string>();
  const others = members.filter((_, i) => i !== index);
  const wasIn = (m: SwarmMember) => before[members.indexOf(m)].state === 'active';

  for (const m of others.filter((x) => x.role === 'manager')) {
    if (!wasIn(m)) log(`Joining ${m.name} as a manager`);
    const r = await joinSwarm(m, tokens, managerAddrsOf(await rawNodes(control)), { manager: control });
    if (!r.joined) continue;
    joinedSet.add(m.name);
    const id = (await swarmState(m.endpoint)).nodeId;
    await waitUntil(
      `${m.name} did not become a reachable manager`,
      async () =>
        (await rawNodes(control)).some((n) => n.ID === id && n.ManagerStatus?.Reachability === 'reachable'),
      SETTLE_MS,
    );
  }

  const workers = others.filter((x) => x.role === 'worker');
  const fresh = workers.filter((w) => !wasIn(w));
  if (fresh.length) log(`Joining ${fresh.length} worker${fresh.length === 1 ? '' : 's'}`);
  const addrs = managerAddrsOf(await rawNodes(control));
  const results = await settleBounded(workers, parallel, (w) =>
    joinSwarm(w, tokens, addrs, { manager: control }),
  );
  const failed: string[] = [];
  results.forEach((r, i) => {
    if (r.ok && r.value.joined) joinedSet.add(workers[i].name);
    if (!r.ok) failed.push(`${workers[i].name}: ${oneLine(r.error)}`);
  });
  if (failed.length)
    throw new UserError(`${failed.length} of ${workers.length} workers did not join: ${failed.join('; ')}`);

  // Roles: promote first, then demote through a declared manager (never through a node being demoted).
  const ids = await mapBounded(members, parallel, async (m) => {
    const id = (await swarmState(m.endpoint)).nodeId;
    if (!id) throw new UserError(`${m.name} has no swarm node ID after joining`);
    return id;
  });
  const specs = new Map((await rawNodes(control)).map((n) => [n.ID, n]));
  const roleOf = (i: number) => (specs.get(ids[i])?.Spec?.Role === 'manager' ? 'manager' : 'worker');
  for (const [i, m] of members.entries()) {
    if (m.role === 'manager' && roleOf(i) !== 'manager') {
      log(`Promoting ${m.name} to manager`);
      await setNodeRole(control, ids[i], 'manager');
      // Raft has it; its own API serves manager calls once its new certificate is in.
      await waitUntil(
        `${m.name} did not take up its manager role`,
        async () => (await swarmState(m.endpoint)).isManager,
        SETTLE_MS,
      );
    }
  }
  const firstManager = members.find((m) => m.role === 'manager')!;
  if (firstManager !== leader) control = firstManager.endpoint;
  for (const [i, m] of members.entries()) {
    if (m.role === 'worker' && roleOf(i) === 'manager') {
      log(`Demoting ${m.name} to worker`);
      await setNodeRole(control, ids[i], 'worker');
    }
  }

  // A machine that left and joined again leaves its old entry behind (for a manager, also a raft
  // member that counts against the quorum): remove those entries of our machines.
  const remade = members.filter((_, i) => before[i].state === 'inactive').map((m) => m.name);
  for (const n of staleNodes(await rawNodes(control), ids, remade)) {
    log(`Removing the stale node ${n.ID} of ${n.Description?.Hostname ?? '?'}`);
    await removeNode(control, n.ID);
  }

  await mapBounded([...members.keys()], parallel, async (i) => {
    const m = members[i];
    const want = { ...(m.labels ?? {}), [ROLE_LABEL]: m.role };
    if (mergeLabels(specs.get(ids[i])?.Spec?.Labels, want)) {
      log(`Labelling ${m.name}`);
      await setNodeLabels(control, ids[i], want);
    }
  });

  const joined = members.filter((m) => joinedSet.has(m.name)).map((m) => m.name);
  if (!changed) opts.log('The swarm is up to date');
  return { initialized, joined };
}
