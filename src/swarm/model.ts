/**
 * Pure parts of the swarm bootstrap: Engine API JSON → swarmup types, and the decisions taken from
 * them (which member leads). Which node is which machine is in identity.ts. No network here.
 */
import { UserError } from '../errors.js';

/** The swarm port every manager listens on (raft + control plane). */
export const SWARM_PORT = 2377;

export type SwarmRole = 'manager' | 'worker';

/** A swarm node as swarmup reports it. */
export interface SwarmNode {
  id: string;
  hostname: string;
  role: SwarmRole;
  leader: boolean;
  availability: string;
  state: string;
  engineVersion: string;
  addr: string;
  labels: Record<string, string>;
  /** The machine this node is, when swarmup could tell (see identity.ts). */
  machine?: string;
}

/** A raft member as a manager's own daemon knows it (`GET /info`, Swarm.RemoteManagers). */
export interface RaftPeer {
  nodeId: string;
  addr: string;
}
export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

/** What `GET /info` says about a daemon's place in a swarm. */
export interface LocalSwarmState {
  state: LocalNodeState;
  nodeId?: string;
  clusterId?: string;
  isManager: boolean;
  /** The daemon's error text when state is `error`. */
  error?: string;
  /** Managers this node talks to (`host:port`), as the daemon reports them. */
  remoteManagers?: string[];
  /** The same managers with their node IDs: for a manager, the raft membership it knows. */
  raftPeers?: RaftPeer[];
  /** The host's own hostname (`GET /info` Name). */
  hostname?: string;
  /**
   * Its daemon holds every swarm request unanswered: a manager whose raft has no leader (it waits up to
   * ~30 s for one before it says so). It says nothing else: no node ID, no cluster.
   */
  busy?: boolean;
}

/** A node as the `GET /nodes` endpoint returns it (only the fields swarmup reads). */
export interface RawNode {
  ID: string;
  Version?: { Index?: number };
  CreatedAt?: string;
  Spec?: { Name?: string; Role?: string; Availability?: string; Labels?: Record<string, string> | null };
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
  Status?: { State?: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

/** The parts of `GET /info` swarmup reads. */
export interface RawInfo {
  Name?: string;
  Swarm?: RawInfoSwarm;
}

/** The `Swarm` part of `GET /info`. */
export interface RawInfoSwarm {
  NodeID?: string;
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  Error?: string;
  RemoteManagers?: { NodeID?: string; Addr?: string }[] | null;
  Cluster?: { ID?: string } | null;
}

export const hostOf = (addr: string): string => {
  const m = /^\[?([^\]]*?)\]?(?::\d+)?$/.exec(addr);
  return m ? m[1] : addr;
};

/**
 * Map one `GET /nodes` entry. `addr` is Status.Addr; Docker reports `0.0.0.0` there for some managers,
 * in which case the host part of ManagerStatus.Addr is used.
 */
export function toSwarmNode(raw: RawNode): SwarmNode {
  let addr = raw.Status?.Addr ?? '';
  if ((addr === '' || addr === '0.0.0.0') && raw.ManagerStatus?.Addr) addr = hostOf(raw.ManagerStatus.Addr);
  return {
    id: raw.ID,
    hostname: raw.Description?.Hostname ?? '',
    role: raw.Spec?.Role === 'manager' ? 'manager' : 'worker',
    leader: raw.ManagerStatus?.Leader === true,
    availability: raw.Spec?.Availability ?? '',
    state: raw.Status?.State ?? 'unknown',
    engineVersion: raw.Description?.Engine?.EngineVersion ?? '',
    addr,
    labels: { ...(raw.Spec?.Labels ?? {}) },
  };
}

export function toLocalSwarmState(raw: RawInfoSwarm | undefined | null, name?: string): LocalSwarmState {
  const s = raw?.LocalNodeState;
  const state: LocalNodeState =
    s === 'pending' || s === 'active' || s === 'error' || s === 'locked' ? s : 'inactive';
  const out: LocalSwarmState = { state, isManager: raw?.ControlAvailable === true };
  if (raw?.NodeID) out.nodeId = raw.NodeID;
  if (raw?.Cluster?.ID) out.clusterId = raw.Cluster.ID;
  if (raw?.Error) out.error = raw.Error;
  const rm = (raw?.RemoteManagers ?? []).map((r) => r.Addr ?? '').filter(Boolean);
  if (rm.length) out.remoteManagers = rm;
  const peers = (raw?.RemoteManagers ?? [])
    .filter((r) => r.NodeID && r.Addr)
    .map((r) => ({ nodeId: r.NodeID!, addr: r.Addr! }));
  if (peers.length) out.raftPeers = peers;
  if (name) out.hostname = name;
  return out;
}

/** `host` → `host:2377`; `host:port` unchanged. */
export function withSwarmPort(addr: string): string {
  if (/^\[.*\]:\d+$/.test(addr) || /^[^:]+:\d+$/.test(addr)) return addr;
  if (addr.includes(':') && !addr.startsWith('[')) return `[${addr}]:${SWARM_PORT}`; // bare IPv6
  return `${addr}:${SWARM_PORT}`;
}

/** Does a node list name a leader (only a manager in a raft that has one lists it so)? */
export const hasLeader = (nodes: readonly RawNode[]): boolean => nodes.some((n) => n.ManagerStatus?.Leader);

/** Addresses (`host:2377`) of the managers to join through, leader first, unreachable ones last. */
export function managerAddrsOf(nodes: readonly RawNode[]): string[] {
  const rank = (n: RawNode) =>
    n.ManagerStatus?.Leader ? 0 : n.ManagerStatus?.Reachability === 'reachable' ? 1 : 2;
  const addrs = nodes
    .filter((n) => n.ManagerStatus?.Addr)
    .sort((a, b) => rank(a) - rank(b))
    .map((n) => withSwarmPort(n.ManagerStatus!.Addr!));
  return [...new Set(addrs)];
}

export interface MemberLike {
  name: string;
  role: SwarmRole;
}

/**
 * Where the swarm comes from: an existing manager among the members (a re-run converges on it) or a
 * fresh `swarm init` on the first declared manager. Refuses members spread over several swarms and
 * locked or broken daemons. A member that is only a worker of a swarm none of the members manages is
 * refused too, unless `reclaimOrphans` (a cluster whose managers were all lost and made again): such
 * members are listed in `orphans`, to leave that swarm and join the new one.
 */
export function chooseBootstrapManager(
  members: readonly MemberLike[],
  states: readonly LocalSwarmState[],
  opts: { reclaimOrphans?: boolean } = {},
): { index: number; init: boolean; orphans: number[] } {
  if (members.length !== states.length) throw new Error('one state per member');
  members.forEach((m, i) => {
    const s = states[i];
    if (s.state === 'locked')
      throw new UserError(`${m.name}: the swarm is locked; unlock it first (docker swarm unlock)`);
    if (s.state === 'error')
      throw new UserError(`${m.name}: the swarm state is "error"${s.error ? `: ${s.error}` : ''}`);
    if (s.state === 'pending')
      throw new UserError(`${m.name}: still joining a swarm (state "pending"); try again shortly`);
  });
  const managers = states.map((s, i) => ({ s, i })).filter(({ s }) => s.state === 'active' && s.isManager);
  if (managers.length) {
    // A busy manager cannot say which swarm it is in: the others speak for the cluster, and lead.
    const answering = managers.filter(({ s }) => !s.busy);
    const clusters = [...new Set(answering.map(({ s }) => s.clusterId ?? '?'))];
    if (clusters.length > 1)
      throw new UserError(
        `the machines are managers of different swarms: ${managers
          .map(({ s, i }) => `${members[i].name} (cluster ${s.clusterId ?? '?'})`)
          .join(', ')}`,
      );
    const pool = answering.length ? answering : managers;
    const declared = pool.find(({ i }) => members[i].role === 'manager') ?? pool[0];
    return { index: declared.i, init: false, orphans: [] };
  }
  const orphans = states.flatMap((s, i) => (s.state === 'active' ? [i] : []));
  if (orphans.length && !opts.reclaimOrphans)
    throw new UserError(
      `${members[orphans[0]].name} is a worker of a swarm that none of these machines manages; ` +
        `run "docker swarm leave" on it first`,
    );
  const first = members.findIndex((m) => m.role === 'manager');
  if (first < 0) throw new UserError('a swarm needs at least one manager');
  return { index: first, init: true, orphans };
}

/** Labels to set so that a node carries `want`; undefined when it already does. */
export function mergeLabels(
  have: Record<string, string> | null | undefined,
  want: Record<string, string>,
): Record<string, string> | undefined {
  const current = have ?? {};
  if (Object.entries(want).every(([k, v]) => current[k] === v)) return undefined;
  return { ...current, ...want };
}
