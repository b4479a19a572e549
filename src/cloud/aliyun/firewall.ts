/**
 * The security group of a cluster: swarm ports open only to the group itself, SSH and the Docker API
 * only to the admin range. Idempotent: only missing rules are authorized, nothing is revoked.
 */
import type { AliyunClient } from './client.js';
import {
  authorizeSecurityGroup,
  createSecurityGroup,
  describeSecurityGroupRules,
  describeSecurityGroups,
  type Permission,
  type Rule,
  type SecurityGroup,
} from './ecs.js';
import { TAG, tagsOf, type Tags } from './tags.js';

/** Swarm mode: cluster management, gossip (both protocols), overlay VXLAN. */
export const SWARM_PORTS: ReadonlyArray<{ protocol: 'tcp' | 'udp'; port: number }> = [
  { protocol: 'tcp', port: 2377 },
  { protocol: 'tcp', port: 7946 },
  { protocol: 'udp', port: 7946 },
  { protocol: 'udp', port: 4789 },
];

/** SSH and the Docker Engine's TLS API. */
export const ADMIN_PORTS = [22, 2376] as const;

const range = (port: number) => `${port}/${port}`;

/** Every rule the group needs: swarm ports from the group itself, admin ports from each admin range. */
export function wantedRules(groupId: string, adminCidrs: readonly string[]): Rule[] {
  return [
    ...SWARM_PORTS.map((p): Rule => ({
      protocol: p.protocol,
      portRange: range(p.port),
      sourceGroupId: groupId,
      description: 'swarmup: swarm mode between cluster members',
    })),
    ...ADMIN_PORTS.flatMap((port) =>
      adminCidrs.map((cidr): Rule => ({
        protocol: 'tcp',
        portRange: range(port),
        sourceCidr: cidr,
        description:
          port === 22 ? 'swarmup: SSH from the admin range' : 'swarmup: Docker TLS from the admin range',
      })),
    ),
  ];
}

/** What makes two rules the same rule (the description does not). */
export const ruleKey = (r: Rule): string =>
  [r.protocol.toLowerCase(), r.portRange, r.sourceCidr ?? '', r.sourceGroupId ?? ''].join('|');

export const permissionKey = (p: Permission): string =>
  [p.IpProtocol.toLowerCase(), p.PortRange, p.SourceCidrIp ?? '', p.SourceGroupId ?? ''].join('|');

const accepts = (p: Permission) => (p.Policy ?? 'accept').toLowerCase() === 'accept';

/** Wanted rules the group does not have yet (accepting ingress rules count; drop rules do not). */
export function missingRules(wanted: readonly Rule[], current: readonly Permission[]): Rule[] {
  const have = new Set(current.filter(accepts).map(permissionKey));
  const seen = new Set<string>();
  return wanted.filter((r) => {
    const k = ruleKey(r);
    if (have.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Of several groups with one name, the cluster's own (tagged), else the oldest. */
export function pickGroup(groups: SecurityGroup[], cluster?: string): SecurityGroup | undefined {
  const sorted = [...groups].sort(
    (a, b) =>
      (a.CreationTime ?? '').localeCompare(b.CreationTime ?? '') ||
      a.SecurityGroupId.localeCompare(b.SecurityGroupId),
  );
  return (cluster && sorted.find((g) => tagsOf(g)[TAG.cluster] === cluster)) || sorted[0];
}

export interface GroupRequest {
  name: string;
  vpcId?: string;
  adminCidrs: readonly string[];
  tags: Tags;
  cluster?: string;
  log: (msg: string) => void;
}

export async function findGroup(
  c: AliyunClient,
  name: string,
  vpcId: string | undefined,
  cluster?: string,
): Promise<SecurityGroup | undefined> {
  const found = (await describeSecurityGroups(c, { name, vpcId })).filter(
    (g) => (g.SecurityGroupName ?? name) === name,
  );
  return pickGroup(found, cluster);
}

async function ensure(c: AliyunClient, r: GroupRequest): Promise<string> {
  let id = (await findGroup(c, r.name, r.vpcId, r.cluster))?.SecurityGroupId;
  if (!id) {
    r.log(`Creating security group ${r.name}...`);
    id = await createSecurityGroup(c, {
      name: r.name,
      description: r.cluster ? `swarmup cluster ${r.cluster}` : 'swarmup machine',
      vpcId: r.vpcId,
      tags: r.tags,
    });
  }
  const missing = missingRules(wantedRules(id, r.adminCidrs), await describeSecurityGroupRules(c, id));
  if (missing.length) await authorizeSecurityGroup(c, id, missing);
  if (missing.length) r.log(`Security group ${r.name}: ${missing.length} rule(s) added`);
  return id;
}

const ensured = new WeakMap<AliyunClient, Map<string, Promise<string>>>();

/**
 * The group's id, made and completed as needed (idempotent: reads only when nothing is missing). Once
 * per client and group: parallel machine creates of one cluster share one lookup-or-create (a cluster
 * never gets two groups from a race within this process), and later calls in the same process reuse
 * its answer. A failure is forgotten, so the next call tries again.
 */
export function ensureSecurityGroup(c: AliyunClient, r: GroupRequest): Promise<string> {
  let byGroup = ensured.get(c);
  if (!byGroup) ensured.set(c, (byGroup = new Map()));
  const key = JSON.stringify([r.name, r.vpcId ?? '', [...r.adminCidrs].sort()]);
  let p = byGroup.get(key);
  if (!p) {
    const mine = byGroup;
    p = ensure(c, r).catch((err: unknown) => {
      mine.delete(key);
      throw err;
    });
    byGroup.set(key, p);
  }
  return p;
}
