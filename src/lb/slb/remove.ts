/**
 * Taking a cluster's load balancing away (lb rm, cluster down). Our own SLB (tagged with the cluster)
 * is deleted with its listeners. An adopted SLB (--aliyunecs-slb-id) stays: only our listeners (by
 * Description) and the cluster's instances as backends leave it. Our published-port rules go too.
 */
import type { AliyunClient } from '../../cloud/aliyun/client.js';
import { revokeSecurityGroup } from '../../cloud/aliyun/ecs.js';
import { findGroup } from '../../cloud/aliyun/firewall.js';
import {
  batches,
  deleteListener,
  deleteLoadBalancer,
  describeListeners,
  removeBackendServers,
} from '../../cloud/aliyun/slb.js';
import { portRule } from './apply.js';
import { isOwned, portRuleName } from './plan.js';
import { clusterInstances, findLoadBalancers, readPortRules, type SlbScope } from './read.js';

/**
 * Remove what the cluster has on its SLB and its published-port rules (unless `keepRules`: the group
 * is about to be deleted anyway); returns what went.
 */
export async function removeClusterLoadBalancer(
  c: AliyunClient,
  s: SlbScope,
  log: (msg: string) => void,
  keepRules = false,
  /** Instance ids of the swarm's machines (default: the instances tagged with the cluster). */
  instances?: string[],
): Promise<string[]> {
  const gone: string[] = [];
  const { used, stale } = await findLoadBalancers(c, s, false);
  // Our own SLBs go whole (listeners with them); an adopted one stays.
  for (const lb of [...(used && !used.info.adopted ? [used.info] : []), ...stale]) {
    log(`Deleting load balancer ${lb.id}...`);
    if (await deleteLoadBalancer(c, lb.id)) gone.push(`load balancer ${lb.id}`);
  }
  if (used?.info.adopted) {
    const id = used.info.id;
    const listeners = (await describeListeners(c, id)).filter((l) => isOwned(l.description, s.cluster));
    for (const l of listeners) {
      log(`Deleting listener ${l.protocol}/${l.port} of ${id}...`);
      await deleteListener(c, id, l.port, l.protocol);
      gone.push(`listener ${l.protocol}/${l.port} of ${id}`);
    }
    const ours = new Set(instances ?? (await clusterInstances(c, s.cluster)).map((i) => i.id));
    const backends = (used.attr.BackendServers?.BackendServer ?? [])
      .map((b) => b.ServerId)
      .filter((b) => ours.has(b));
    for (const batch of batches(backends)) await removeBackendServers(c, id, batch);
    if (backends.length) gone.push(`${backends.length} backend(s) of ${id}`);
  }
  const group = keepRules
    ? undefined
    : await findGroup(c, s.securityGroup.name, s.securityGroup.vpcId, s.cluster);
  if (group) {
    for (const r of await readPortRules(c, s.cluster, group.SecurityGroupId)) {
      await revokeSecurityGroup(c, group.SecurityGroupId, portRule(s.cluster, r));
      gone.push(`rule ${portRuleName(r)} of ${group.SecurityGroupId}`);
    }
  }
  return gone;
}
