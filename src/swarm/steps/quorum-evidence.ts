/** What the steps know about the raft quorum without asking a manager that may have no leader. */
import type { RaftPeer } from '../model.js';
import type { QuorumMember } from '../quorum.js';
import type { SwarmContext } from './context.js';

export const quorumMembers = (ctx: SwarmContext): QuorumMember[] =>
  ctx.members.map((m, i) => ({
    name: m.name,
    role: m.role,
    state: ctx.states[i],
    address: m.advertiseAddr,
    recordedIds: m.recordedNodeIds,
  }));

/**
 * The raft membership as the members reported it (a manager's own view first, then the managers the
 * workers know), else as the store recorded the manager machines' nodes; empty when nobody can say.
 */
export function reportedPeers(ctx: SwarmContext): RaftPeer[] {
  const reported = (managers: boolean) =>
    ctx.states.find(
      (s) => s && !s.busy && s.state === 'active' && s.isManager === managers && s.raftPeers?.length,
    )?.raftPeers;
  const recorded = ctx.members.flatMap((m) =>
    m.role === 'manager' && m.recordedNodeIds?.[0]
      ? [{ nodeId: m.recordedNodeIds[0], addr: m.advertiseAddr }]
      : [],
  );
  return reported(true) ?? reported(false) ?? recorded;
}
