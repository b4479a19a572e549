/**
 * Swarm bootstrap shared by every driver, through the Docker Engine API over each machine's mutual-TLS
 * endpoint: members become one swarm by an ordered list of small steps, each in its own module under
 * steps/. Every step is idempotent, so a re-run converges instead of failing, and a run killed between
 * two steps leaves state the next run finishes. Join tokens are never logged.
 */
import { debug } from '../util/log.js';
import type { SwarmMember } from './membership.js';
import { newContext, type SwarmOptions, type SwarmResult, type SwarmStep } from './steps/context.js';
import { initOrAdopt } from './steps/init.js';
import { inspectMembers, validateMembers } from './steps/inspect.js';
import { joinManagers, joinWorkers, recordNodeIds } from './steps/join.js';
import { labelNodes } from './steps/label.js';
import { pruneStaleNodes } from './steps/prune-stale.js';
import { reclaimOrphans } from './steps/reclaim-orphans.js';
import { rebuildSwarm, restoreRebuilt } from './steps/rebuild.js';
import { repairQuorum } from './steps/repair-quorum.js';
import { reconcileRoles } from './steps/roles.js';

export type { SwarmOptions, SwarmResult } from './steps/context.js';

/** What making or converging a swarm is, in order. */
export const SWARM_STEPS: readonly SwarmStep[] = [
  inspectMembers, // read every member's swarm state; choose the swarm (existing, or new)
  rebuildSwarm, // --rebuild-swarm: keep what the swarm holds, every member leaves it, a new one is chosen
  reclaimOrphans, // workers whose managers are all gone leave their dead swarm
  initOrAdopt, // swarm init on the first declared manager, or use the swarm a member manages
  repairQuorum, // no raft majority: restart raft from the most up-to-date surviving manager
  joinManagers, // one at a time, each reachable before the next
  joinWorkers, // concurrently
  recordNodeIds, // every member's node ID, recorded before anything else changes
  reconcileRoles, // promote, then demote
  pruneStaleNodes, // remove the entries machines left behind, by node ID
  labelNodes, // swarmup.machine, swarmup.role and the members' labels
  restoreRebuilt, // a rebuilt swarm gets its networks, configs, services and node labels again
];

/**
 * Build or converge a swarm from machines. A second call with the same members changes nothing and
 * returns `{ initialized: false, joined: [] }` (and the members' node IDs).
 */
export async function bootstrapSwarm(members: SwarmMember[], opts: SwarmOptions): Promise<SwarmResult> {
  validateMembers(members);
  const ctx = newContext(members, opts);
  for (const step of SWARM_STEPS) {
    debug(`swarm: ${step.title}`);
    await step.run(ctx);
  }
  if (!ctx.changed) opts.log('The swarm is up to date');
  return ctx.result;
}
