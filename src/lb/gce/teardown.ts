/** Removing a cluster's GCE load balancer: rules → pool → health check → firewalls → address. */
import type { Gce } from '../../cloud/gce/api.js';
import { desiredLb } from './desired.js';
import { GceLbBackend, readLb } from './backend.js';
import { applyLb, planLb } from './plan.js';

/**
 * Delete every load-balancer resource the cluster owns in `region` (by ownership description; what
 * it does not own stays), in reverse dependency order; 404 counts as done. Returns what went.
 */
export async function removeClusterLoadBalancer(
  gce: Gce,
  region: string,
  cluster: string,
  log: (m: string) => void,
): Promise<string[]> {
  const { current } = await readLb(gce, region, cluster);
  const { desired } = desiredLb({ cluster, region, network: 'default', listeners: [], instances: [] }, false);
  const plan = planLb(desired, current, { region });
  await applyLb(plan, new GceLbBackend(gce, region), current, { log });
  return plan.steps.map((s) => `${s.kind} ${s.name}`);
}
