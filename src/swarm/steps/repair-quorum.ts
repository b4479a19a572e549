import { UserError, oneLine } from '../../errors.js';
import { delay } from '../../util/async.js';
import { debug } from '../../util/log.js';
import { readNodes, readSwarmState, settledState, swarmState } from '../calls.js';
import { isNoAnswer, isNoLeader, isTransient } from '../errors.js';
import { forceNewCluster, leaveSwarm } from '../membership.js';
import { hasLeader, type RaftPeer, type RawNode } from '../model.js';
import { chooseSurvivor, quorumFromNodes, quorumFromPeers, type QuorumVerdict } from '../quorum.js';
import { NoLeadError, awaitLead } from './await-lead.js';
import type { SwarmContext, SwarmStep } from './context.js';
import { initOrAdopt } from './init.js';
import { quorumMembers, reportedPeers } from './quorum-evidence.js';
import { startRebuild } from './rebuild.js';

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

/** The raft membership as the control manager knows it now, else as the members reported it. */
async function raftPeers(ctx: SwarmContext, ask: boolean): Promise<RaftPeer[]> {
  if (ask) {
    try {
      const st = await readSwarmState(ctx.control);
      if (st.raftPeers?.length) return st.raftPeers;
    } catch (err) {
      if (!isTransient(err)) throw err;
    }
  }
  return reportedPeers(ctx);
}

const counts = (v: QuorumVerdict) =>
  `${v.alive.length} of ${v.size} raft managers alive` +
  (v.unknown.length ? `, ${v.unknown.length} not made by swarmup (${v.unknown.join(', ')})` : '');

/** Busy managers answer once the swarm has a leader again: read what they really are. */
async function rereadBusy(ctx: SwarmContext): Promise<void> {
  for (const [i, m] of ctx.members.entries())
    if (ctx.states[i].busy) ctx.states[i] = await swarmState(m.endpoint);
}

/**
 * Wait until member `i`, a manager whose node list is the swarm's, names a leader; when it does not
 * within a few seconds, its Docker Engine is restarted (see await-lead.ts).
 */
async function leadOf(ctx: SwarmContext, i: number): Promise<void> {
  const m = ctx.members[i];
  const { engineRestarted } = await awaitLead({
    name: m.name,
    nodes: () => readNodes(m.endpoint),
    restartEngine: ctx.opts.restartEngine && (() => ctx.opts.restartEngine!(m.name)),
    onRestart: () =>
      ctx.change(
        `${m.name} lists the swarm's nodes with no leader: restarting its Docker Engine ` +
          `(it reloads its raft from disk)`,
      ),
  });
  debug(`swarm: ${m.name} leads${engineRestarted ? ' after its engine restart' : ''}`);
}

/**
 * Like leadOf, but a member whose restarted raft never leads (its raft membership does not name it:
 * seen about once in forty quorum-lost repairs, when the survivor had joined seconds before the other
 * managers were lost; see docs/reliability.md) cannot be repaired in place: the swarm is rebuilt on it
 * (steps/rebuild.ts), which keeps its networks, configs and services. Returns whether it was.
 */
async function leadOrRebuild(ctx: SwarmContext, i: number): Promise<boolean> {
  try {
    await leadOf(ctx, i);
    return false;
  } catch (err) {
    if (!(err instanceof NoLeadError) || !ctx.opts.rebuildStore) throw err;
    debug(`swarm: ${ctx.members[i].name} does not lead: ${oneLine(err)}`);
    await startRebuild(ctx, i, `the raft restarted on ${ctx.members[i].name} never named a leader`);
    await initOrAdopt.run(ctx);
    return true;
  }
}

/**
 * Restart raft on the most up-to-date surviving manager (`swarm init --force-new-cluster`), wait until
 * it leads (its Docker Engine restarted when it does not, see await-lead.ts), and make the other
 * surviving managers, which still hold the old raft, leave it to join again.
 */
async function restartRaft(ctx: SwarmContext, v: QuorumVerdict, leaderNodeId: string | undefined) {
  const qm = quorumMembers(ctx);
  const clusterId = ctx.states[ctx.leader].clusterId;
  const i = chooseSurvivor(qm, clusterId, { leaderNodeId, lastLeader: ctx.opts.lastLeader });
  if (i < 0) throw new UserError('the swarm has lost its raft quorum and none of its managers is a member');
  const survivor = ctx.members[i];
  const others = ctx.members.flatMap((_, j) =>
    j !== i && ctx.states[j].state === 'active' && ctx.states[j].isManager ? [j] : [],
  );
  ctx.change(
    `The swarm has lost its raft quorum (${counts(v)}). Restarting raft on ${survivor.name} ` +
      `(docker swarm init --force-new-cluster); services and workers are kept`,
  );
  await ctx.opts.onRaftRestart?.(survivor.name);
  await forceNewCluster(survivor);
  debug(`swarm: raft restarted on ${survivor.name}`);
  ctx.result.quorumRestartedOn = survivor.name;
  ctx.leader = i;
  ctx.control = survivor.endpoint;
  ctx.tokenCache = undefined;
  if (await leadOrRebuild(ctx, i)) return;
  ctx.states[i] = await swarmState(survivor.endpoint);
  for (const j of others) {
    const m = ctx.members[j];
    ctx.change(`${m.name} still holds the old raft: it leaves it and joins again`);
    await leaveSwarm(m.endpoint, true);
    ctx.states[j] = await settledState(m.endpoint);
  }
}

/**
 * Make sure the swarm has a leader before anything joins. A lost quorum is recognised at once from
 * evidence (see quorum.ts), with bounded reads only; a manager known to be busy is not asked at all
 * before that verdict. An election among a live majority is waited out (at most 30 s). A cluster's own
 * machines (`repair`) restart raft from the most up-to-date surviving manager; otherwise a lost quorum
 * is reported with what to do.
 */
export const repairQuorum: SwarmStep = {
  title: 'a swarm without a raft majority restarts from its most up-to-date surviving manager',
  async run(ctx) {
    if (ctx.init) return;
    if (ctx.lostQuorum) {
      await restartRaft(ctx, ctx.lostQuorum, undefined);
      return;
    }
    const clusterId = ctx.states[ctx.leader].clusterId;
    const end = Date.now() + ELECTION_WAIT_MS;
    let ask = !ctx.states[ctx.leader].busy;
    for (let wait = 250; ; wait = Math.min(wait * 2, 2_000)) {
      const nodes = ask ? await leaderNodes(ctx) : undefined;
      // With a leader, busy managers answer again: what they say beats what was assumed of them.
      if (nodes) await rereadBusy(ctx);
      const v = nodes
        ? quorumFromNodes(nodes, quorumMembers(ctx), clusterId, ctx.opts.cluster)
        : quorumFromPeers(await raftPeers(ctx, ask), quorumMembers(ctx), clusterId);
      ask = true;
      debug(
        `swarm: quorum ${nodes ? 'from the leader' : 'without a leader'}: ${JSON.stringify(v)}; states ` +
          JSON.stringify(
            ctx.states.map((st, i) => ({ m: ctx.members[i].name, ...st, raftPeers: undefined })),
          ),
      );
      if (nodes && !v.lost) {
        // A node list with no leader flag (seen after a raft restart of an earlier run) is no swarm to join.
        if (!hasLeader(nodes)) await leadOrRebuild(ctx, ctx.leader);
        return;
      }
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
