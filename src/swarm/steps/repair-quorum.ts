import { UserError } from '../../errors.js';
import { delay } from '../../util/async.js';
import { SETTLE_MS, readNodes, readSwarmState, settledState, swarmState, waitUntil } from '../calls.js';
import { isNoAnswer, isNoLeader, isTransient } from '../errors.js';
import { forceNewCluster, leaveSwarm } from '../membership.js';
import type { RaftPeer, RawNode } from '../model.js';
import {
  chooseSurvivor,
  liveManagerIds,
  quorumFromNodes,
  quorumFromPeers,
  type QuorumMember,
  type QuorumVerdict,
} from '../quorum.js';
import type { SwarmContext, SwarmStep } from './context.js';

/** How long a swarm may go without a leader while a majority of its managers is alive (an election). */
const ELECTION_WAIT_MS = 30_000;

/** The node list, or undefined when the swarm has no leader or the manager holds the request. */
async function leaderNodes(ctx: SwarmContext): Promise<RawNode[] | undefined> {
  try {
    return await readNodes(ctx.control);
  } catch (err) {
    if (isNoLeader(err) || isNoAnswer(err) || isTransient(err)) return undefined;
    throw err;
  }
}

/** The raft membership the control manager knows now, else as it was read at the start. */
async function raftPeers(ctx: SwarmContext): Promise<RaftPeer[]> {
  try {
    const st = await readSwarmState(ctx.control);
    if (st.raftPeers?.length) return st.raftPeers;
  } catch (err) {
    if (!isTransient(err)) throw err;
  }
  return ctx.states[ctx.leader].raftPeers ?? [];
}

const quorumMembers = (ctx: SwarmContext): QuorumMember[] =>
  ctx.members.map((m, i) => ({
    name: m.name,
    role: m.role,
    state: ctx.states[i],
    address: m.advertiseAddr,
    recordedIds: m.recordedNodeIds,
  }));

const counts = (v: QuorumVerdict) =>
  `${v.alive.length} of ${v.size} raft managers alive` +
  (v.unknown.length ? `, ${v.unknown.length} not made by swarmup (${v.unknown.join(', ')})` : '');

/**
 * Restart raft on the most up-to-date surviving manager (`swarm init --force-new-cluster`), wait until
 * it leads, and make the other surviving managers, which still hold the old raft, leave it to join again.
 */
async function restartRaft(ctx: SwarmContext, v: QuorumVerdict, leaderNodeId: string | undefined) {
  const qm = quorumMembers(ctx);
  const clusterId = ctx.states[ctx.leader].clusterId;
  const i = chooseSurvivor(qm, clusterId, { leaderNodeId, lastLeader: ctx.opts.lastLeader });
  if (i < 0) throw new UserError('the swarm has lost its raft quorum and none of its managers is a member');
  const survivor = ctx.members[i];
  const others = [...liveManagerIds(qm, clusterId)].filter((id) => id !== ctx.states[i].nodeId);
  ctx.change(
    `The swarm has lost its raft quorum (${counts(v)}). Restarting raft on ${survivor.name} ` +
      `(docker swarm init --force-new-cluster); services and workers are kept`,
  );
  await forceNewCluster(survivor);
  ctx.result.quorumRestartedOn = survivor.name;
  ctx.leader = i;
  ctx.control = survivor.endpoint;
  ctx.tokenCache = undefined;
  await waitUntil(
    `${survivor.name} did not become the leader of the restarted swarm`,
    async () => (await leaderNodes(ctx))?.some((n) => n.ManagerStatus?.Leader) === true,
    SETTLE_MS,
  );
  ctx.states[i] = await swarmState(survivor.endpoint);
  for (const [j, m] of ctx.members.entries()) {
    if (!others.includes(ctx.states[j].nodeId ?? '')) continue;
    ctx.change(`${m.name} still holds the old raft: it leaves it and joins again`);
    await leaveSwarm(m.endpoint, true);
    ctx.states[j] = await settledState(m.endpoint);
  }
}

/**
 * Make sure the swarm has a leader before anything joins. Lost quorum is recognised at once from
 * evidence (see quorum.ts), with bounded reads only; an election among a live majority is waited out
 * (at most 30 s). A cluster's own machines (`repair`) restart raft from the most up-to-date surviving
 * manager; otherwise a lost quorum is reported with what to do.
 */
export const repairQuorum: SwarmStep = {
  title: 'a swarm without a raft majority restarts from its most up-to-date surviving manager',
  async run(ctx) {
    if (ctx.init) return;
    const clusterId = ctx.states[ctx.leader].clusterId;
    const end = Date.now() + ELECTION_WAIT_MS;
    for (let wait = 250; ; wait = Math.min(wait * 2, 2_000)) {
      const nodes = await leaderNodes(ctx);
      const v = nodes
        ? quorumFromNodes(nodes, quorumMembers(ctx), clusterId, ctx.opts.cluster)
        : quorumFromPeers(await raftPeers(ctx), quorumMembers(ctx), clusterId);
      if (nodes && !v.lost) return;
      if (v.lost && ctx.opts.repair) {
        await restartRaft(ctx, v, nodes?.find((n) => n.ManagerStatus?.Leader)?.ID);
        return;
      }
      if (v.lost)
        throw new UserError(
          `the swarm has lost its raft quorum (${counts(v)}): run "docker swarm init --force-new-cluster" ` +
            `on the manager whose state should win`,
        );
      if (Date.now() + wait > end)
        throw new UserError(
          `the swarm has had no leader for ${ELECTION_WAIT_MS / 1000} s (${counts(v)}); when the managers ` +
            `that are gone will not come back, run "docker swarm init --force-new-cluster" on the one ` +
            `whose state should win, then "swarmup cluster up" again`,
        );
      await delay(wait);
    }
  },
};
