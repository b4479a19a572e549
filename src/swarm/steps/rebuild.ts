/**
 * A rebuild (`cluster up --rebuild-swarm`): for a swarm whose raft cannot be restarted (see
 * await-lead.ts). What its store holds (networks, configs, services, node labels; see contents.ts) is
 * read from the manager that answers and kept in the swarmup store first; then every member leaves the
 * old swarm, a new one is made on that manager, every member joins it, and the contents are made in
 * it. A run cut short anywhere is finished by the next `cluster up`, with the flag or without: the kept
 * contents say a rebuild is under way, and they are removed only once the new swarm holds them all.
 */
import { UserError, oneLine } from '../../errors.js';
import { mapBounded } from '../../util/async.js';
import { readSwarmState, swarmState, waitUntil } from '../calls.js';
import { SecretsHeld, readContents, restoreContents, type SwarmContents } from '../contents.js';
import { isNoAnswer, isTransient } from '../errors.js';
import { sendLeave } from '../membership.js';
import { setNodeLabels } from '../nodes.js';
import type { KeptContents, SwarmContext, SwarmStep } from './context.js';
import { chooseSwarm } from './inspect.js';

const count = (c: SwarmContents) =>
  `${c.services.length} service(s), ${c.networks.length} network(s), ${c.configs.length} config(s)`;

/** What the swarm holds, read from member `i` (a manager whose store answers). */
async function readFrom(ctx: SwarmContext, i: number): Promise<KeptContents> {
  const m = ctx.members[i];
  const st = await swarmState(m.endpoint);
  // The old swarm's ID tells, on a re-run, the members still in it from those already in the new one.
  if (st.state !== 'active' || !st.isManager || !st.clusterId)
    throw new UserError(`cannot rebuild the swarm: ${m.name} manages no swarm it can name to read it from`);
  try {
    return { ...(await readContents(m.endpoint, m.name)), clusterId: st.clusterId };
  } catch (err) {
    if (err instanceof SecretsHeld) throw err;
    throw new UserError(
      `cannot rebuild the swarm: reading what it holds from ${m.name} failed: ${oneLine(err)}`,
    );
  }
}

/** Leave with --force, then wait until the daemon says it is in no swarm. */
async function leaveAndWait(ctx: SwarmContext, i: number): Promise<void> {
  const m = ctx.members[i];
  await sendLeave(m.endpoint, true);
  await waitUntil(
    `${m.name} did not leave the swarm`,
    async () => {
      try {
        ctx.states[i] = await readSwarmState(m.endpoint);
        return ctx.states[i].state === 'inactive';
      } catch (err) {
        if (isNoAnswer(err) || isTransient(err)) return false;
        throw err;
      }
    },
    LEAVE_MS,
  );
}

const LEAVE_MS = 60_000;

/**
 * Rebuild from member `from` (or resume the rebuild `c` a run cut short kept): keep what the swarm
 * holds, make every member of the old swarm leave it, and choose where the new one starts. The swarm
 * steps after this one make the new swarm, join every member, and restoreRebuilt fills it.
 */
export async function startRebuild(ctx: SwarmContext, from: number, why: string): Promise<void> {
  const keep = ctx.opts.rebuildStore;
  if (!keep) throw new UserError(`cannot rebuild the swarm (${why}): no place to keep what it holds`);
  let c = await keep.load();
  if (!c) {
    c = await readFrom(ctx, from);
    await keep.save(c);
    ctx.change(
      `Rebuilding the swarm (${why}): ${count(c)} read from ${c.from} and kept in the store; every ` +
        `member leaves the old swarm and joins a new one on ${c.from}`,
    );
  }
  await leaveOld(ctx, c);
}

async function leaveOld(ctx: SwarmContext, c: KeptContents): Promise<void> {
  const old = c.clusterId;
  // Only a member that says it is in another swarm (the new one, of a run cut short) stays: a manager
  // without a leader names no cluster at all.
  const inNew = (i: number) => {
    const st = ctx.states[i];
    return st.state === 'active' && !!old && !!st.clusterId && st.clusterId !== old;
  };
  const leaving = [...ctx.members.keys()].filter((i) => ctx.states[i].state !== 'inactive' && !inNew(i));
  // Workers at once, then managers one by one: the last managers lose their quorum as they go, and
  // a manager without one holds every read, so nothing is read from a member before it leaves.
  const workers = leaving.filter((i) => !ctx.states[i].isManager);
  await mapBounded(workers, ctx.parallel, (i) => leaveAndWait(ctx, i));
  for (const i of leaving.filter((j) => ctx.states[j].isManager)) await leaveAndWait(ctx, i);
  ctx.lostQuorum = undefined;
  ctx.tokenCache = undefined;
  const from = ctx.members.findIndex((m) => m.name === c.from);
  chooseSwarm(ctx, from >= 0 && ctx.members[from].role === 'manager' ? from : undefined);
}

/** `--rebuild-swarm`, or a rebuild a run cut short: see startRebuild. */
export const rebuildSwarm: SwarmStep = {
  title: 'a swarm rebuilt on request (--rebuild-swarm) is read, kept, and left by every member',
  async run(ctx) {
    const kept = await ctx.opts.rebuildStore?.load();
    if (kept) return leaveOld(ctx, kept);
    if (!ctx.opts.rebuild) return;
    if (ctx.init) throw new UserError('--rebuild-swarm: no member manages a swarm to rebuild');
    await startRebuild(ctx, ctx.leader, '--rebuild-swarm');
  },
};

/** Make the kept contents in the new swarm (by name: what is there is left alone), then drop them. */
export const restoreRebuilt: SwarmStep = {
  title: 'the networks, configs, services and node labels of a rebuilt swarm are made again',
  async run(ctx) {
    const keep = ctx.opts.rebuildStore;
    const c = keep && (await keep.load());
    if (!keep || !c) return;
    const made = await restoreContents(ctx.control, c);
    await mapBounded([...ctx.members.keys()], ctx.parallel, async (i) => {
      const labels = c.nodeLabels[ctx.states[i]?.hostname ?? ''];
      if (labels && ctx.nodeIds[i]) await setNodeLabels(ctx.control, ctx.nodeIds[i], labels);
    });
    ctx.change(
      `Rebuilt swarm: made ${made.services} service(s), ${made.networks} network(s), ${made.configs} ` +
        `config(s) (${count(c)} carried over)`,
    );
    ctx.result.rebuilt = true;
    await keep.clear();
  },
};
