import { rawNodes } from '../calls.js';
import { classifyOthers, describeNode, identifyNodes } from '../identity.js';
import { removeNode } from '../nodes.js';
import { machineRefs, type SwarmStep } from './context.js';

/**
 * Remove every node entry that is no member's current node but provably the cluster's own: a machine
 * that left or was made again leaves its old entry behind (for a manager, a raft member that counts
 * against the quorum), and a join that was retried may leave an entry no daemon ever registered.
 * Removed by node ID; entries swarmup cannot prove are its own are left alone (the readiness check
 * reports them).
 */
export const pruneStaleNodes: SwarmStep = {
  title: 'remove the node entries machines left behind',
  async run(ctx) {
    const refs = machineRefs(ctx);
    const { others } = identifyNodes(await rawNodes(ctx.control), refs);
    for (const { node, reason } of classifyOthers(others, refs, ctx.opts.cluster, {
      before: ctx.beforeJoins,
      now: Date.now(),
    }).stale) {
      ctx.change(
        `Removing the stale node ${node.ID} of ${node.Description?.Hostname ?? '?'} (${reason}: ${describeNode(node)})`,
      );
      await removeNode(ctx.control, node.ID);
      ctx.result.removedNodes.push(node.ID);
    }
  },
};
