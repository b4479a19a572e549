/** Reading what the cluster has on Aliyun now: its SLB, listeners, backends, instances and rules. Reads only. */
import type { AliyunClient } from '../../cloud/aliyun/client.js';
import { describeInstances, describeSecurityGroupRules, privateIpOf } from '../../cloud/aliyun/ecs.js';
import { findGroup } from '../../cloud/aliyun/firewall.js';
import {
  describeListeners,
  describeLoadBalancerAttribute,
  describeLoadBalancers,
  type LoadBalancerAttribute,
  type SlbProtocol,
} from '../../cloud/aliyun/slb.js';
import { TAG, tagsOf } from '../../cloud/aliyun/tags.js';
import { UserError } from '../../errors.js';
import {
  PUBLIC_CIDR,
  ruleDescription,
  type ClusterInstance,
  type LoadBalancerInfo,
  type PortRule,
  type SlbCurrent,
} from './plan.js';

/** Where the cluster's load balancer and security group are. */
export interface SlbScope {
  cluster: string;
  /** --aliyunecs-slb-id: the SLB to adopt instead of one of our own. */
  adoptId?: string;
  /** Name and VPC of the cluster's security group. */
  securityGroup: { name: string; vpcId?: string };
}

export interface FoundLoadBalancers {
  /** The SLB in use: the adopted one (which must exist), else the oldest tagged with the cluster. */
  used?: { info: LoadBalancerInfo; attr: LoadBalancerAttribute };
  /** Our own (tagged) SLBs that are not in use: replaced by an adopted one, or a second from a race. */
  stale: LoadBalancerInfo[];
}

/** `requireAdopted`: an adopted SLB that does not exist is an error (sync), or nothing to do (removal). */
export async function findLoadBalancers(
  c: AliyunClient,
  s: SlbScope,
  requireAdopted = true,
): Promise<FoundLoadBalancers> {
  const [tagged, adopted] = await Promise.all([
    describeLoadBalancers(c, { tags: { [TAG.cluster]: s.cluster } }),
    s.adoptId ? describeLoadBalancerAttribute(c, s.adoptId) : Promise.resolve(undefined),
  ]);
  if (s.adoptId && !adopted && requireAdopted) {
    throw new UserError(
      `the load balancer ${s.adoptId} (--aliyunecs-slb-id) does not exist in ${c.regionId}`,
    );
  }
  // The server's tag filter is not trusted: only what carries the cluster's tag is ours.
  const own = tagged
    .filter((lb) => tagsOf(lb)[TAG.cluster] === s.cluster && lb.LoadBalancerId !== s.adoptId)
    .sort(
      (a, b) =>
        Number(a.CreateTimeStamp ?? 0) - Number(b.CreateTimeStamp ?? 0) ||
        a.LoadBalancerId.localeCompare(b.LoadBalancerId),
    )
    .map((lb): LoadBalancerInfo => ({
      id: lb.LoadBalancerId,
      name: lb.LoadBalancerName,
      address: lb.Address,
      adopted: false,
    }));
  if (adopted) {
    return {
      used: {
        info: { id: s.adoptId!, name: adopted.LoadBalancerName, address: adopted.Address, adopted: true },
        attr: adopted,
      },
      stale: own,
    };
  }
  if (own.length === 0) return { stale: [] };
  const attr = await describeLoadBalancerAttribute(c, own[0].id);
  return { used: attr ? { info: own[0], attr } : undefined, stale: own.slice(1) };
}

export async function clusterInstances(c: AliyunClient, cluster: string): Promise<ClusterInstance[]> {
  return (await describeInstances(c, { tag: { key: TAG.cluster, value: cluster } }))
    .filter((i) => tagsOf(i)[TAG.cluster] === cluster)
    .map((i) => ({
      id: i.InstanceId,
      name: i.InstanceName ?? i.InstanceId,
      privateIp: privateIpOf(i),
    }));
}

/** Our published-port rules in the cluster's security group (by their Description). */
export async function readPortRules(c: AliyunClient, cluster: string, groupId: string): Promise<PortRule[]> {
  const desc = ruleDescription(cluster);
  return (await describeSecurityGroupRules(c, groupId))
    .filter((p) => p.Description === desc && p.SourceCidrIp === PUBLIC_CIDR)
    .map((p): PortRule => {
      const [from, to] = p.PortRange.split('/').map(Number);
      return { protocol: p.IpProtocol.toLowerCase() as SlbProtocol, from, to };
    })
    .filter((r) => (r.protocol === 'tcp' || r.protocol === 'udp') && r.from > 0 && r.to >= r.from);
}

/** Everything the plan compares with: SLB (with listeners and backends) and rules, read in parallel. */
export async function readCurrent(c: AliyunClient, s: SlbScope): Promise<SlbCurrent> {
  const [{ used: lb, stale }, group] = await Promise.all([
    findLoadBalancers(c, s),
    findGroup(c, s.securityGroup.name, s.securityGroup.vpcId, s.cluster),
  ]);
  const [listeners, rules] = await Promise.all([
    lb ? describeListeners(c, lb.info.id) : Promise.resolve([]),
    group ? readPortRules(c, s.cluster, group.SecurityGroupId) : Promise.resolve([]),
  ]);
  return {
    lb: lb?.info,
    stale,
    listeners,
    backends: (lb?.attr.BackendServers?.BackendServer ?? []).map((b) => b.ServerId).sort(),
    securityGroupId: group?.SecurityGroupId,
    rules,
  };
}
