/**
 * Has the swarm lost its raft quorum? Decided from evidence, not from waiting: a raft member is alive
 * when it is the node ID a member's daemon reports as an active manager of this swarm, dead when the
 * leader finds it unreachable or when it is provably one of the cluster's own leftovers (a recorded ID,
 * a machine label, a machine's address that now has another node). Members made again keep no state,
 * so their old raft entries are dead at once, long before the leader's heartbeat timeout says so.
 * Pure: no network here.
 */
import { classifyOthers, identifyNodes, type MachineRef } from './identity.js';
import { hostOf, toSwarmNode, type LocalSwarmState, type RaftPeer, type RawNode } from './model.js';

export interface QuorumMember {
  name: string;
  role: 'manager' | 'worker';
  state: LocalSwarmState;
  /** The address the member advertises. */
  address: string;
  recordedIds?: readonly string[];
}

export interface QuorumVerdict {
  /** Raft members counted. */
  size: number;
  /** Raft members known to be alive (members' current manager nodes). */
  alive: string[];
  /** Raft members known to be gone. */
  dead: string[];
  /** Raft members swarmup cannot account for (managers it did not make). */
  unknown: string[];
  /** No majority is possible even if every unknown member were alive (never when nothing is known). */
  lost: boolean;
}

/**
 * Node IDs of the members whose daemons say they are active managers of the swarm `clusterId`; of any
 * swarm when which one is not known yet (node IDs are unique: one in the raft list is that member).
 */
export function liveManagerIds(members: readonly QuorumMember[], clusterId: string | undefined): Set<string> {
  return new Set(
    members
      .filter((m) => m.state.state === 'active' && m.state.isManager && !m.state.busy)
      .filter((m) => clusterId === undefined || m.state.clusterId === clusterId)
      .map((m) => m.state.nodeId!)
      .filter(Boolean),
  );
}

/**
 * Addresses of the members too busy to say anything (managers without a leader): the raft member at
 * such an address is that daemon, alive (one daemon per address).
 */
const busyAddresses = (members: readonly QuorumMember[]): Set<string> =>
  new Set(members.filter((m) => m.state.busy).map((m) => hostOf(m.address)));

const refsOf = (members: readonly QuorumMember[]): MachineRef[] =>
  members.map((m) => ({
    name: m.name,
    // A busy manager did not say: unknown, not "in no swarm".
    nodeId: m.state.state !== 'active' ? null : m.state.busy ? undefined : (m.state.nodeId ?? null),
    recordedIds: m.recordedIds,
    address: hostOf(m.address),
    hostname: m.state.hostname,
  }));

function verdict(size: number, alive: string[], dead: string[], unknown: string[]): QuorumVerdict {
  return { size, alive, dead, unknown, lost: size > 0 && (alive.length + unknown.length) * 2 <= size };
}

/** The verdict from a leader's node list (it answered, but may be about to step down). */
export function quorumFromNodes(
  nodes: readonly RawNode[],
  members: readonly QuorumMember[],
  clusterId: string | undefined,
  cluster?: string,
): QuorumVerdict {
  const live = liveManagerIds(members, clusterId);
  const busyAt = busyAddresses(members);
  // Busy members are matched by address only: no record may speak for what they are now.
  const refs = refsOf(members).map((r, i) => (members[i].state.busy ? { ...r, recordedIds: [] } : r));
  const { stale } = classifyOthers(identifyNodes(nodes, refs).others, refs, cluster);
  const leftovers = new Set(stale.map((s) => s.node.ID));
  const raft = nodes.filter((n) => n.ManagerStatus);
  const alive: string[] = [];
  const dead: string[] = [];
  const unknown: string[] = [];
  for (const n of raft) {
    const reachable = n.ManagerStatus?.Reachability !== 'unreachable';
    if (reachable && (live.has(n.ID) || busyAt.has(toSwarmNode(n).addr))) alive.push(n.ID);
    else if (!reachable || leftovers.has(n.ID)) dead.push(n.ID);
    else unknown.push(n.ID); // a reachable manager swarmup did not make: it may well be alive
  }
  return verdict(raft.length, alive, dead, unknown);
}

/**
 * The verdict without a leader, from the raft membership a surviving manager's own daemon knows
 * (`GET /info` RemoteManagers: node IDs and addresses, no state).
 */
export function quorumFromPeers(
  peers: readonly RaftPeer[],
  members: readonly QuorumMember[],
  clusterId: string | undefined,
): QuorumVerdict {
  const live = liveManagerIds(members, clusterId);
  const recorded = new Set(members.flatMap((m) => m.recordedIds ?? []));
  const busyAt = busyAddresses(members);
  const addresses = new Set(members.map((m) => hostOf(m.address)));
  const alive: string[] = [];
  const dead: string[] = [];
  const unknown: string[] = [];
  for (const p of peers) {
    if (live.has(p.nodeId) || busyAt.has(hostOf(p.addr))) alive.push(p.nodeId);
    // Not a member's current node, yet recorded for one or at a member's address: a leftover.
    else if (recorded.has(p.nodeId) || addresses.has(hostOf(p.addr))) dead.push(p.nodeId);
    else unknown.push(p.nodeId);
  }
  return verdict(peers.length, alive, dead, unknown);
}

/**
 * The manager to restart raft from: the one that still leads (by raft's rules its log holds every
 * committed entry), else the one that led when swarmup last saw the swarm, else the first declared
 * manager, else the first survivor. Returns a member index, or -1 when no member survives.
 */
export function chooseSurvivor(
  members: readonly QuorumMember[],
  clusterId: string | undefined,
  opts: { leaderNodeId?: string; lastLeader?: string } = {},
): number {
  const survivors = members
    .map((m, i) => ({ m, i }))
    .filter(
      ({ m }) =>
        m.state.state === 'active' && m.state.isManager && (m.state.busy || m.state.clusterId === clusterId),
    );
  const pick =
    survivors.find(({ m }) => opts.leaderNodeId !== undefined && m.state.nodeId === opts.leaderNodeId) ??
    survivors.find(({ m }) => opts.lastLeader !== undefined && m.name === opts.lastLeader) ??
    survivors.find(({ m }) => m.role === 'manager') ??
    survivors[0];
  return pick ? pick.i : -1;
}
