import { SETTLE_MS, rawNodes, swarmState, waitUntil } from '../calls.js';
import { setNodeRole } from '../nodes.js';
import type { SwarmStep } from './context.js';

/** Promote first, then demote through a declared manager (never through a node being demoted). */
export const reconcileRoles: SwarmStep = {
  title: 'make roles match: promote, then demote',
  async run(ctx) {
    const specs = new Map((await rawNodes(ctx.control)).map((n) => [n.ID, n]));
    const roleOf = (i: number) =>
      specs.get(ctx.nodeIds[i])?.Spec?.Role === 'manager' ? 'manager' : 'worker';
    for (const [i, m] of ctx.members.entries()) {
      if (m.role !== 'manager' || roleOf(i) === 'manager') continue;
      ctx.change(`Promoting ${m.name} to manager`);
      await setNodeRole(ctx.control, ctx.nodeIds[i], 'manager');
      // Raft has it; its own API serves manager calls once its new certificate is in.
      await waitUntil(
        `${m.name} did not take up its manager role`,
        async () => (await swarmState(m.endpoint)).isManager,
        SETTLE_MS,
      );
    }
    const first = ctx.members.findIndex((m) => m.role === 'manager');
    ctx.control = ctx.members[first].endpoint;
    for (const [i, m] of ctx.members.entries()) {
      if (m.role !== 'worker' || roleOf(i) !== 'manager') continue;
      ctx.change(`Demoting ${m.name} to worker`);
      await setNodeRole(ctx.control, ctx.nodeIds[i], 'worker');
    }
  },
};
