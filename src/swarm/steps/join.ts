import { UserError } from '../../errors.js';
import { SETTLE_MS, pollUntil, rawNodes, swarmState, waitUntil } from '../calls.js';
import { joinSwarm } from '../membership.js';
import { hasLeader, managerAddrsOf, type RawNode } from '../model.js';
import { describeUnflagged } from './await-lead.js';
import { settleBounded, tokensOf, type SwarmContext, type SwarmStep } from './context.js';

/** How long a manager join waits for the control manager's node list to name a leader. */
const LEADER_BEFORE_JOIN_MS = 30_000;
/** How long one manager join may take (a worker's: joinSwarm's default). */
const MANAGER_JOIN_MS = 120_000;

/**
 * The control manager's node list once it names a leader (`nodes`, just read, when it does already).
 * A manager joining a swarm whose list names none (a restarted raft that does not lead) never finishes
 * joining: that is refused in 30 s instead.
 */
async function nodesWithLeader(ctx: SwarmContext, joining: string, nodes: RawNode[]): Promise<RawNode[]> {
  let latest = nodes;
  const led = async () => hasLeader((latest = await rawNodes(ctx.control)));
  if (hasLeader(latest) || (await pollUntil(led, LEADER_BEFORE_JOIN_MS))) return latest;
  throw new UserError(
    `${joining} cannot join as a manager: ${ctx.members[ctx.leader].name} has listed the swarm's ` +
      `nodes with no leader for ${LEADER_BEFORE_JOIN_MS / 1000} s (${describeUnflagged(latest)})`,
  );
}

/**
 * Is member `i` already in the control manager's swarm? A manager knows its cluster ID; a worker does
 * not, but its node ID is in the manager's node list.
 */
function alreadyIn(ctx: SwarmContext, i: number, nodes: readonly RawNode[]): boolean {
  const st = ctx.states[i];
  if (st.state !== 'active') return false;
  if (st.clusterId) return st.clusterId === ctx.states[ctx.leader].clusterId;
  return nodes.some((n) => n.ID === st.nodeId);
}

/** The managers' addresses in the node list; when it shows none, the control manager's own. */
function joinAddrs(ctx: SwarmContext, nodes: readonly RawNode[]): string[] {
  const addrs = managerAddrsOf(nodes);
  return addrs.length ? addrs : [ctx.members[ctx.leader].advertiseAddr];
}

/** Join member `i` (or find it already in this swarm, or refuse it when it is in another one). */
async function join(ctx: SwarmContext, i: number, addrs: string[]): Promise<boolean> {
  const m = ctx.members[i];
  const deadlineMs = m.role === 'manager' ? MANAGER_JOIN_MS : undefined;
  const r = await joinSwarm(m, await tokensOf(ctx), addrs, { manager: ctx.control, deadlineMs });
  ctx.states[i] = await swarmState(m.endpoint);
  if (r.joined) ctx.result.joined.push(m.name);
  return r.joined;
}

/**
 * Join the other managers one at a time: each join changes the raft membership, and the next one waits
 * until raft counts the last as reachable.
 */
export const joinManagers: SwarmStep = {
  title: 'join the other managers, one at a time',
  async run(ctx) {
    for (const [i, m] of ctx.members.entries()) {
      if (i === ctx.leader || m.role !== 'manager') continue;
      const nodes = await rawNodes(ctx.control);
      ctx.beforeJoins ??= new Set(nodes.map((n) => n.ID));
      if (alreadyIn(ctx, i, nodes)) continue;
      const led = await nodesWithLeader(ctx, m.name, nodes);
      if (ctx.states[i].state !== 'active') ctx.change(`Joining ${m.name} as a manager`);
      if (!(await join(ctx, i, joinAddrs(ctx, led)))) continue;
      const id = ctx.states[i].nodeId;
      await waitUntil(
        `${m.name} did not become a reachable manager`,
        async () =>
          (await rawNodes(ctx.control)).some(
            (n) => n.ID === id && n.ManagerStatus?.Reachability === 'reachable',
          ),
        SETTLE_MS,
      );
    }
  },
};

/** Join the workers concurrently (at most `parallel`); every failure is reported, once, together. */
export const joinWorkers: SwarmStep = {
  title: 'join the workers, concurrently',
  async run(ctx) {
    const nodes = await rawNodes(ctx.control);
    ctx.beforeJoins ??= new Set(nodes.map((n) => n.ID));
    const todo = [...ctx.members.keys()].filter(
      (i) => i !== ctx.leader && ctx.members[i].role === 'worker' && !alreadyIn(ctx, i, nodes),
    );
    if (!todo.length) return;
    const fresh = todo.filter((i) => ctx.states[i].state !== 'active');
    if (fresh.length) ctx.change(`Joining ${fresh.length} worker${fresh.length === 1 ? '' : 's'}`);
    const addrs = joinAddrs(ctx, nodes);
    const results = await settleBounded(todo, ctx.parallel, (i) => join(ctx, i, addrs));
    const failed = results.flatMap((r, k) => (r.ok ? [] : [`${ctx.members[todo[k]].name}: ${r.message}`]));
    if (failed.length)
      throw new UserError(`${failed.length} of ${todo.length} workers did not join: ${failed.join('; ')}`);
    // Report joins in member order, whatever order they finished in.
    const order = new Map(ctx.members.map((m, i) => [m.name, i]));
    ctx.result.joined.sort((a, b) => order.get(a)! - order.get(b)!);
  },
};

/** Every member's node ID, handed to `onNodeIds` (the store records them) before roles and labels. */
export const recordNodeIds: SwarmStep = {
  title: 'record every member’s node ID',
  async run(ctx) {
    ctx.nodeIds = ctx.members.map((m, i) => {
      const id = ctx.states[i].state === 'active' ? ctx.states[i].nodeId : undefined;
      if (!id) throw new UserError(`${m.name} has no swarm node ID after joining`);
      return id;
    });
    ctx.result.nodeIds = Object.fromEntries(ctx.members.map((m, i) => [m.name, ctx.nodeIds[i]]));
    await ctx.opts.onNodeIds?.(ctx.result.nodeIds);
  },
};
