import { UserError } from '../../errors.js';
import { mapBounded } from '../../util/async.js';
import { settledState } from '../calls.js';
import type { SwarmMember } from '../membership.js';
import { chooseBootstrapManager } from '../model.js';
import type { SwarmStep } from './context.js';

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

/**
 * Read every member's swarm state (`GET /info`, waiting out a join in progress) and choose the swarm:
 * one a member already manages (a declared manager first), or a new one on the first declared manager.
 */
export const inspectMembers: SwarmStep = {
  title: 'read every member’s swarm state',
  async run(ctx) {
    ctx.states = await mapBounded(ctx.members, ctx.parallel, (m) => settledState(m.endpoint));
    const { index, init, orphans } = chooseBootstrapManager(ctx.members, ctx.states, {
      reclaimOrphans: ctx.opts.repair,
    });
    ctx.leader = index;
    ctx.init = init;
    ctx.orphans = orphans;
    ctx.control = ctx.members[index].endpoint;
  },
};
