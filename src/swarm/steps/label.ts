import { mapBounded } from '../../util/async.js';
import { rawNodes } from '../calls.js';
import { MACHINE_LABEL, ROLE_LABEL } from '../identity.js';
import { mergeLabels } from '../model.js';
import { setNodeLabels } from '../nodes.js';
import type { SwarmStep } from './context.js';

/**
 * Label every member's node: `swarmup.machine=<name>` (its identity for later runs, the load balancer
 * and `cluster status`), `swarmup.role=<role>`, and the member's own labels. No update when they are
 * already there.
 */
export const labelNodes: SwarmStep = {
  title: 'label every node with its machine, role and labels',
  async run(ctx) {
    const specs = new Map((await rawNodes(ctx.control)).map((n) => [n.ID, n]));
    await mapBounded([...ctx.members.keys()], ctx.parallel, async (i) => {
      const m = ctx.members[i];
      const want = { ...(m.labels ?? {}), [ROLE_LABEL]: m.role, [MACHINE_LABEL]: m.name };
      if (!mergeLabels(specs.get(ctx.nodeIds[i])?.Spec?.Labels, want)) return;
      ctx.change(`Labelling ${m.name}`);
      await setNodeLabels(ctx.control, ctx.nodeIds[i], want);
    });
  },
};
