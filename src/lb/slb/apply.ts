/**
 * Carrying out an SLB plan in the Alibaba controller's order: deletes (listeners, then backends, then
 * rules), then creates (load balancer, rules, backends in batches of 20, listeners created and
 * started), then updates. Calls on one SLB go one at a time: it answers concurrent changes with
 * ServiceIsConfiguring, which the client retries anyway.
 */
import { clientToken, type AliyunClient } from '../../cloud/aliyun/client.js';
import { authorizeSecurityGroup, revokeSecurityGroup, type Rule } from '../../cloud/aliyun/ecs.js';
import {
  addBackendServers,
  batches,
  createListener,
  createLoadBalancer,
  deleteListener,
  deleteLoadBalancer,
  removeBackendServers,
  setListenerAttribute,
  startListener,
} from '../../cloud/aliyun/slb.js';
import { resourceTags, type Tags } from '../../cloud/aliyun/tags.js';
import {
  PUBLIC_CIDR,
  ruleDescription,
  updateActions,
  type LoadBalancerInfo,
  type PortRule,
  type SlbPlan,
} from './plan.js';

export interface ApplyContext {
  cluster: string;
  /** Labels of the cluster (swarmup.expires, --label), tagged on a load balancer we make. */
  labels: Record<string, string>;
  user: Tags;
  log: (msg: string) => void;
}

export const portRule = (cluster: string, r: PortRule): Rule => ({
  protocol: r.protocol,
  portRange: `${r.from}/${r.to}`,
  sourceCidr: PUBLIC_CIDR,
  description: ruleDescription(cluster),
});

export async function applySlb(
  c: AliyunClient,
  lb: LoadBalancerInfo | undefined,
  p: SlbPlan,
  groupId: string | undefined,
  o: ApplyContext,
): Promise<LoadBalancerInfo> {
  for (const l of p.listeners.delete) {
    o.log(`Deleting listener ${l.protocol}/${l.port}...`);
    await deleteListener(c, lb!.id, l.port, l.protocol);
  }
  for (const batch of batches(p.backends.remove)) await removeBackendServers(c, lb!.id, batch);
  for (const r of p.rules.remove) await revokeSecurityGroup(c, groupId!, portRule(o.cluster, r));
  for (const id of p.deleteLbs) {
    o.log(`Deleting load balancer ${id}...`);
    await deleteLoadBalancer(c, id);
  }

  if (p.createLb) {
    o.log(`Creating load balancer swarmup-${o.cluster}...`);
    const made = await createLoadBalancer(
      c,
      {
        name: `swarmup-${o.cluster}`,
        tags: resourceTags({ user: o.user, cluster: { name: o.cluster, labels: o.labels }, role: 'lb' }),
      },
      clientToken(),
    );
    lb = { id: made.LoadBalancerId, name: `swarmup-${o.cluster}`, address: made.Address, adopted: false };
  }
  if (!lb) throw new Error('applySlb: no load balancer');
  const id = lb.id;
  for (const r of p.rules.add) await authorizeSecurityGroup(c, groupId!, portRule(o.cluster, r));
  for (const batch of batches(p.backends.add)) await addBackendServers(c, id, batch);
  for (const l of p.listeners.create) {
    o.log(`Creating listener ${l.protocol}/${l.port}...`);
    await createListener(c, id, l);
    await startListener(c, id, l.port, l.protocol);
  }
  for (const { from, to } of p.listeners.update) {
    const a = updateActions(from, to);
    if (a.set) await setListenerAttribute(c, id, to);
    if (a.start) await startListener(c, id, to.port, to.protocol);
  }
  return lb;
}
