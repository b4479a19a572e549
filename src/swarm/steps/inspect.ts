import { UserError, oneLine } from '../../errors.js';
import { debug } from '../../util/log.js';
import { mapBounded } from '../../util/async.js';
import { memberState, readNodes } from '../calls.js';
import type { SwarmMember } from '../membership.js';
import { chooseBootstrapManager, hasLeader, type LocalSwarmState } from '../model.js';
import { quorumFromPeers } from '../quorum.js';
import type { SwarmContext, SwarmStep } from './context.js';
import { quorumMembers, reportedPeers } from './quorum-evidence.js';

/** Bad member lists are refused before any machine is touched. */
export function validateMembers(members: readonly SwarmMember[]): void {
  if (!members.length) throw new UserError('no machines to build a swarm from');
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.name)) throw new UserError(`machine "${m.name}" is listed twice`);
    seen.add(m.name);
    if (!m.advertiseAddr) throw new UserError(`machine "${m.name}" has no address to advertise`);
  }
  if (!members.some((m) => m.role === 'manager')) throw new UserError('a swarm needs at least one manager');
}

/** A manager swarmup has not asked: assumed alive, a raft member at its own address. */
const UNASKED_MANAGER: LocalSwarmState = { state: 'active', isManager: true, busy: true };

async function read(ctx: SwarmContext, indexes: number[]): Promise<void> {
  await mapBounded(indexes, ctx.parallel, async (i) => {
    ctx.states[i] = await memberState(ctx.members[i].endpoint);
  });
}

/**
 * When managers were made again in this run, read everyone else first: if even the managers left
 * cannot be a majority of the raft membership the workers (or the store) know, the quorum is lost, and
 * the surviving managers are not asked at all. A manager whose raft has no leader holds each `GET /info`
 * for 20 s under the lock that `swarm init --force-new-cluster` needs, so one read would delay the
 * repair by that long. Returns whether the quorum was found lost.
 */
async function lostBeforeAsking(ctx: SwarmContext): Promise<boolean> {
  const old = [...ctx.members.keys()].filter(
    (i) => ctx.members[i].role === 'manager' && !ctx.members[i].fresh,
  );
  const remade = ctx.members.some((m) => m.role === 'manager' && m.fresh);
  if (!ctx.opts.repair || !remade || !old.length) return false;
  await read(
    ctx,
    [...ctx.members.keys()].filter((i) => !old.includes(i)),
  );
  for (const i of old) ctx.states[i] = UNASKED_MANAGER;
  const v = quorumFromPeers(reportedPeers(ctx), quorumMembers(ctx), undefined);
  if (v.size && v.lost && !(await restartedSurvivorLeads(ctx, old))) ctx.lostQuorum = v;
  return ctx.lostQuorum !== undefined;
}

/**
 * An earlier run that did not finish restarted raft on one of these managers: the workers may not have
 * heard yet, and a second restart of a restarted raft leaves a swarm whose node list names no leader.
 * So that manager, and only it, is asked (one bounded `GET /nodes`): leading, the quorum is not lost.
 */
async function restartedSurvivorLeads(ctx: SwarmContext, old: number[]): Promise<boolean> {
  const i = old.find((j) => ctx.members[j].name === ctx.opts.raftRestartedOn);
  if (i === undefined) return false;
  try {
    const nodes = await readNodes(ctx.members[i].endpoint, RESTARTED_PROBE_MS);
    const leads = hasLeader(nodes);
    debug(`swarm: ${ctx.members[i].name}, where raft was restarted, ${leads ? 'leads' : 'names no leader'}`);
    return leads;
  } catch (err) {
    debug(`swarm: ${ctx.members[i].name}, where raft was restarted, did not answer: ${oneLine(err)}`);
    return false;
  }
}

/** How long the manager raft was restarted on may take to list the nodes. */
const RESTARTED_PROBE_MS = 3_000;

/**
 * Read every member's swarm state (`GET /info`, waiting out a join in progress) and choose the swarm:
 * one a member already manages (a declared manager first), or a new one on the first declared manager.
 * A manager too busy to answer (no raft leader) is taken for an alive raft member at its own address;
 * what its node ID is, nobody assumes (the store's record may predate a rejoin).
 */
export const inspectMembers: SwarmStep = {
  title: 'read every member’s swarm state',
  async run(ctx) {
    ctx.states = new Array<LocalSwarmState>(ctx.members.length);
    if (!(await lostBeforeAsking(ctx)))
      await read(
        ctx,
        [...ctx.members.keys()].filter((i) => !ctx.states[i] || ctx.states[i] === UNASKED_MANAGER),
      );
    chooseSwarm(ctx);
  },
};

/**
 * Choose the swarm from the members' states: the one a member manages, else a new one, made on
 * `initOn` when given (a member index), else on the first declared manager.
 */
export function chooseSwarm(ctx: SwarmContext, initOn?: number): void {
  const { index, init, orphans } = chooseBootstrapManager(ctx.members, ctx.states, {
    reclaimOrphans: ctx.opts.repair,
  });
  ctx.leader = init && initOn !== undefined ? initOn : index;
  ctx.init = init;
  ctx.orphans = orphans;
  ctx.control = ctx.members[ctx.leader].endpoint;
}
