/**
 * Cluster-wide views by tags, so `cluster down`, `cluster down --all` and `prune` work from an empty
 * store: discovery, teardown (load balancing, instances, key pairs, then the security groups once their
 * instances are gone) and the cluster's security group.
 */
import type { DiscoveredCluster, FlagValues } from '../../src/driver/contract.js';
import { mapBounded } from '../../src/util/async.js';
import { aliyunClient, credentialsFrom, requireCredentials } from '../../src/cloud/aliyun/client.js';
import {
  deleteInstance,
  deleteKeyPairs,
  deleteSecurityGroup,
  describeInstances,
  describeKeyPairs,
  describeSecurityGroups,
} from '../../src/cloud/aliyun/ecs.js';
import { ensureSecurityGroup } from '../../src/cloud/aliyun/firewall.js';
import { isGone, waitInstance } from './poller.js';
import { requireAdminCidrs, securityGroupName, settingsFrom, targetFrom } from './settings.js';
import { describeLoadBalancers } from '../../src/cloud/aliyun/slb.js';
import { TAG, resourceTags, tagsOf } from '../../src/cloud/aliyun/tags.js';
import { laterExpiry } from '../../src/driver/expiry.js';

const DELETE_DEADLINE_MS = 5 * 60_000;

export async function discoverClusters(flags: FlagValues): Promise<DiscoveredCluster[]> {
  const creds = credentialsFrom(flags);
  if (!creds) return [];
  const c = await aliyunClient(targetFrom(flags), creds);
  const any = { key: TAG.cluster };
  const [instances, groups, lbs, keys] = await Promise.all([
    describeInstances(c, { tag: any }),
    describeSecurityGroups(c, { tag: any }),
    describeLoadBalancers(c, { tags: { [TAG.cluster]: '' } }),
    describeKeyPairs(c, { tag: any }),
  ]);
  const clusters = new Map<string, DiscoveredCluster>();
  const note = (tags: Record<string, string>, machine?: string) => {
    const name = tags[TAG.cluster];
    if (!name) return;
    const d = clusters.get(name) ?? { name, driver: 'aliyunecs', machines: [] };
    if (machine && !d.machines.includes(machine)) d.machines.push(machine);
    d.expiresAt = laterExpiry(d.expiresAt, tags[TAG.expires]);
    clusters.set(name, d);
  };
  for (const i of instances) note(tagsOf(i), i.InstanceName ?? i.InstanceId);
  for (const r of [...groups, ...lbs, ...keys]) note(tagsOf(r));
  for (const d of clusters.values()) d.machines.sort();
  return [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Remove everything tagged with the cluster: the instances (force), their key pairs, and the security
 * groups after the instances are gone. Its load balancing (our SLB, or our listeners and backends on
 * an adopted one) is removed before, by `cluster down` (src/lb/backends.ts). Returns what went.
 */
export async function destroyCluster(
  cluster: string,
  flags: FlagValues,
  log: (msg: string) => void,
): Promise<string[]> {
  const c = await aliyunClient(targetFrom(flags), requireCredentials(flags));
  const tag = { key: TAG.cluster, value: cluster };
  const groups = await describeSecurityGroups(c, { tag });
  const gone: string[] = [];
  const instances = await describeInstances(c, { tag });
  await mapBounded(instances, 8, async (i) => {
    log(`Deleting instance ${i.InstanceName ?? i.InstanceId} (${i.InstanceId})...`);
    if (await deleteInstance(c, i.InstanceId)) gone.push(`instance ${i.InstanceId}`);
  });
  const keys = (await describeKeyPairs(c, { tag })).map((k) => k.KeyPairName);
  if (keys.length) {
    log(`Deleting key pair(s) ${keys.join(', ')}...`);
    await deleteKeyPairs(c, keys);
    gone.push(...keys.map((k) => `key pair ${k}`));
  }
  if (groups.length) {
    // A group cannot go while an instance still uses it.
    await Promise.all(
      instances.map((i) => waitInstance(c, i.InstanceId, 'to be deleted', isGone, DELETE_DEADLINE_MS)),
    );
    for (const g of groups) {
      log(`Deleting security group ${g.SecurityGroupName ?? g.SecurityGroupId}...`);
      if (await deleteSecurityGroup(c, g.SecurityGroupId)) gone.push(`security group ${g.SecurityGroupId}`);
    }
  }
  return gone;
}

/** The cluster's group with every rule it needs (idempotent: reads only when nothing is missing). */
export async function ensureClusterFirewall(
  cluster: string,
  flags: FlagValues,
  log: (msg: string) => void,
): Promise<void> {
  const s = settingsFrom(flags);
  requireAdminCidrs(s);
  const c = await aliyunClient(s, requireCredentials(flags));
  await ensureSecurityGroup(c, {
    name: securityGroupName(s, cluster, cluster),
    vpcId: s.vpcId,
    adminCidrs: s.adminCidrs,
    tags: resourceTags({ user: s.tags, cluster: { name: cluster, labels: {} }, role: 'firewall' }),
    cluster,
    log,
  });
}
