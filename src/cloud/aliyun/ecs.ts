/** Typed wrappers for the ECS actions swarmup uses: one small function per action. */
import { clientToken, isNotFound, type AliyunClient } from './client.js';
import { ecsTagFilter, ecsTagParams, type Tags } from './tags.js';

export type InstanceStatus = 'Pending' | 'Starting' | 'Running' | 'Stopping' | 'Stopped' | string;

interface IpList {
  IpAddress?: string[];
}

export interface EcsInstance {
  InstanceId: string;
  InstanceName?: string;
  HostName?: string;
  Status: InstanceStatus;
  ZoneId?: string;
  PublicIpAddress?: IpList;
  InnerIpAddress?: IpList;
  VpcAttributes?: { PrivateIpAddress?: IpList; VpcId?: string; VSwitchId?: string };
  EipAddress?: { IpAddress?: string };
  SecurityGroupIds?: { SecurityGroupId?: string[] };
  Tags?: unknown;
  KeyPairName?: string;
  CreationTime?: string;
}

export const publicIpOf = (i: EcsInstance): string | undefined =>
  i.PublicIpAddress?.IpAddress?.[0] || i.EipAddress?.IpAddress || undefined;

export const privateIpOf = (i: EcsInstance): string | undefined =>
  i.VpcAttributes?.PrivateIpAddress?.IpAddress?.[0] || i.InnerIpAddress?.IpAddress?.[0] || undefined;

const PAGE = 100;

/** Every page of a Describe* list (PageNumber from 1, `size` per page). */
export async function paged<T>(
  size: number,
  fetch: (page: number) => Promise<{ items: T[]; total: number }>,
): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await fetch(page);
    out.push(...items);
    if (items.length < size || out.length >= total) return out;
  }
}

/** Every page of a Describe* list paged by NextToken (`MaxResults` per page; no token: the first page). */
export async function tokenPaged<T>(
  fetch: (token: string | undefined) => Promise<{ items: T[]; next?: string }>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const { items, next } = await fetch(token);
    out.push(...items);
    token = next || undefined;
  } while (token);
  return out;
}

export interface InstanceQuery {
  instanceIds?: string[];
  tag?: { key: string; value?: string };
  instanceName?: string;
}

/** DescribeInstances (by ids, at most 100 per call, or by tag), all pages. */
export async function describeInstances(c: AliyunClient, q: InstanceQuery): Promise<EcsInstance[]> {
  if (q.instanceIds && q.instanceIds.length > PAGE) {
    const out: EcsInstance[] = [];
    for (let i = 0; i < q.instanceIds.length; i += PAGE) {
      out.push(...(await describeInstances(c, { ...q, instanceIds: q.instanceIds.slice(i, i + PAGE) })));
    }
    return out;
  }
  if (q.instanceIds && q.instanceIds.length === 0) return [];
  return tokenPaged(async (token) => {
    const r = await c.ecs<{ Instances?: { Instance?: EcsInstance[] }; NextToken?: string }>(
      'DescribeInstances',
      {
        RegionId: c.regionId,
        InstanceIds: q.instanceIds ? JSON.stringify(q.instanceIds) : undefined,
        InstanceName: q.instanceName,
        ...(q.tag ? ecsTagFilter(q.tag.key, q.tag.value) : {}),
        MaxResults: PAGE,
        NextToken: token,
      },
    );
    return { items: r.Instances?.Instance ?? [], next: r.NextToken };
  });
}

export interface CreateInstanceParams {
  zoneId?: string;
  imageId: string;
  instanceType: string;
  securityGroupId: string;
  instanceName: string;
  hostName?: string;
  keyPairName: string;
  vswitchId?: string;
  /** Outbound public bandwidth, Mbit/s (0: no public address can be allocated). */
  bandwidth: number;
  internetChargeType?: 'PayByTraffic' | 'PayByBandwidth';
  systemDiskSize?: number;
  systemDiskCategory?: string;
  /** One data disk, deleted with the instance. */
  dataDisk?: { size: number; category?: string };
  description?: string;
  /** The instance's address in the vswitch (PrivateIpAddress). */
  privateIp?: string;
  ioOptimized: 'optimized' | 'none';
  tags: Tags;
  /** Same token on every retry of this create: a lost response cannot make a second instance. */
  clientToken?: string;
  /** The root password (--aliyunecs-ssh-password): in this call only, never kept or printed. */
  password?: string;
}

/** CreateInstance: the instance starts Stopped, without a public address. */
export async function createInstance(c: AliyunClient, p: CreateInstanceParams): Promise<string> {
  const r = await c.ecs<{ InstanceId: string }>(
    'CreateInstance',
    {
      RegionId: c.regionId,
      ZoneId: p.zoneId,
      ImageId: p.imageId,
      InstanceType: p.instanceType,
      SecurityGroupId: p.securityGroupId,
      InstanceName: p.instanceName,
      HostName: p.hostName,
      KeyPairName: p.keyPairName,
      Password: p.password,
      VSwitchId: p.vswitchId,
      PrivateIpAddress: p.privateIp,
      Description: p.description,
      InternetChargeType: p.internetChargeType ?? 'PayByTraffic',
      InternetMaxBandwidthOut: p.bandwidth,
      'SystemDisk.Size': p.systemDiskSize,
      'SystemDisk.Category': p.systemDiskCategory,
      // pop-core flattens this to DataDisk.1.Size, DataDisk.1.Category, DataDisk.1.DeleteWithInstance.
      ...(p.dataDisk
        ? {
            DataDisk: [
              {
                Size: p.dataDisk.size,
                ...(p.dataDisk.category ? { Category: p.dataDisk.category } : {}),
                DeleteWithInstance: 'true',
              },
            ],
          }
        : {}),
      IoOptimized: p.ioOptimized,
      ...ecsTagParams(p.tags),
      ClientToken: p.clientToken ?? clientToken(),
    },
    { idempotent: true },
  );
  return r.InstanceId;
}

export async function allocatePublicIpAddress(c: AliyunClient, instanceId: string): Promise<string> {
  const r = await c.ecs<{ IpAddress: string }>('AllocatePublicIpAddress', { InstanceId: instanceId });
  return r.IpAddress;
}

export async function startInstance(c: AliyunClient, instanceId: string): Promise<void> {
  await c.ecs('StartInstance', { InstanceId: instanceId });
}

export async function stopInstance(c: AliyunClient, instanceId: string, force = false): Promise<void> {
  await c.ecs('StopInstance', { InstanceId: instanceId, ForceStop: force ? 'true' : undefined });
}

export async function rebootInstance(c: AliyunClient, instanceId: string): Promise<void> {
  await c.ecs('RebootInstance', { InstanceId: instanceId });
}

/** DeleteInstance with Force (a running instance goes too). True when it existed. */
export async function deleteInstance(c: AliyunClient, instanceId: string): Promise<boolean> {
  try {
    await c.ecs(
      'DeleteInstance',
      { InstanceId: instanceId, Force: 'true' },
      { retryCodes: ['IncorrectInstanceStatus'] },
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export interface KeyPair {
  KeyPairName: string;
  KeyPairFingerPrint?: string;
  Tags?: unknown;
}

export async function importKeyPair(
  c: AliyunClient,
  name: string,
  publicKey: string,
  tags: Tags,
): Promise<void> {
  await c.ecs('ImportKeyPair', {
    RegionId: c.regionId,
    KeyPairName: name,
    PublicKeyBody: publicKey,
    ...ecsTagParams(tags),
  });
}

export async function describeKeyPairs(
  c: AliyunClient,
  q: { name?: string; tag?: { key: string; value?: string } },
): Promise<KeyPair[]> {
  return paged(50, async (page) => {
    const r = await c.ecs<{ KeyPairs?: { KeyPair?: KeyPair[] }; TotalCount?: number }>('DescribeKeyPairs', {
      RegionId: c.regionId,
      KeyPairName: q.name,
      ...(q.tag ? ecsTagFilter(q.tag.key, q.tag.value) : {}),
      PageNumber: page,
      PageSize: 50,
    });
    const items = r.KeyPairs?.KeyPair ?? [];
    return { items, total: Number(r.TotalCount ?? items.length) };
  });
}

/** DeleteKeyPairs for up to 100 names per call; names already gone are fine. */
export async function deleteKeyPairs(c: AliyunClient, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 100) {
    try {
      await c.ecs(
        'DeleteKeyPairs',
        { RegionId: c.regionId, KeyPairNames: JSON.stringify(names.slice(i, i + 100)) },
        { retryCodes: ['DependencyViolation'] },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export interface SecurityGroup {
  SecurityGroupId: string;
  SecurityGroupName?: string;
  VpcId?: string;
  Tags?: unknown;
  CreationTime?: string;
}

export async function createSecurityGroup(
  c: AliyunClient,
  p: { name: string; description: string; vpcId?: string; tags: Tags },
): Promise<string> {
  const r = await c.ecs<{ SecurityGroupId: string }>(
    'CreateSecurityGroup',
    {
      RegionId: c.regionId,
      SecurityGroupName: p.name,
      Description: p.description,
      VpcId: p.vpcId,
      ...ecsTagParams(p.tags),
      ClientToken: clientToken(),
    },
    { idempotent: true },
  );
  return r.SecurityGroupId;
}

export async function describeSecurityGroups(
  c: AliyunClient,
  q: { name?: string; vpcId?: string; tag?: { key: string; value?: string } },
): Promise<SecurityGroup[]> {
  return tokenPaged(async (token) => {
    const r = await c.ecs<{ SecurityGroups?: { SecurityGroup?: SecurityGroup[] }; NextToken?: string }>(
      'DescribeSecurityGroups',
      {
        RegionId: c.regionId,
        SecurityGroupName: q.name,
        VpcId: q.vpcId,
        ...(q.tag ? ecsTagFilter(q.tag.key, q.tag.value) : {}),
        MaxResults: PAGE,
        NextToken: token,
      },
    );
    return { items: r.SecurityGroups?.SecurityGroup ?? [], next: r.NextToken };
  });
}

/** An ingress rule as DescribeSecurityGroupAttribute returns it. */
export interface Permission {
  IpProtocol: string;
  PortRange: string;
  SourceCidrIp?: string;
  SourceGroupId?: string;
  Policy?: string;
  Direction?: string;
  Description?: string;
}

export async function describeSecurityGroupRules(c: AliyunClient, groupId: string): Promise<Permission[]> {
  const r = await c.ecs<{ Permissions?: { Permission?: Permission[] } }>('DescribeSecurityGroupAttribute', {
    RegionId: c.regionId,
    SecurityGroupId: groupId,
    Direction: 'ingress',
  });
  return (r.Permissions?.Permission ?? []).filter((p) => (p.Direction ?? 'ingress') === 'ingress');
}

/** An ingress rule swarmup asks for. */
export interface Rule {
  protocol: 'tcp' | 'udp';
  /** `from/to`, e.g. `2377/2377`. */
  portRange: string;
  sourceCidr?: string;
  sourceGroupId?: string;
  description?: string;
}

/** One rule as a `Permissions.N` entry (the current form; the top-level rule fields are deprecated). */
const permission = (r: Rule) =>
  Object.fromEntries(
    Object.entries({
      IpProtocol: r.protocol,
      PortRange: r.portRange,
      SourceCidrIp: r.sourceCidr,
      SourceGroupId: r.sourceGroupId,
      Policy: 'accept',
      NicType: r.sourceGroupId ? 'intranet' : undefined,
      Description: r.description,
    }).filter(([, v]) => v !== undefined && v !== ''),
  );

/** At most this many rules per Authorize/RevokeSecurityGroup call (`Permissions.N`, N ≤ 100). */
export const PERMISSIONS_BATCH = 100;

async function changeRules(
  c: AliyunClient,
  action: 'AuthorizeSecurityGroup' | 'RevokeSecurityGroup',
  groupId: string,
  rules: readonly Rule[],
): Promise<void> {
  for (let i = 0; i < rules.length; i += PERMISSIONS_BATCH) {
    await c.ecs(action, {
      RegionId: c.regionId,
      SecurityGroupId: groupId,
      // pop-core flattens this to Permissions.1.IpProtocol, Permissions.1.PortRange, ...
      Permissions: rules.slice(i, i + PERMISSIONS_BATCH).map(permission),
    });
  }
}

/** AuthorizeSecurityGroup for one rule or several (one call per 100). */
export async function authorizeSecurityGroup(
  c: AliyunClient,
  groupId: string,
  rules: Rule | readonly Rule[],
): Promise<void> {
  await changeRules(c, 'AuthorizeSecurityGroup', groupId, Array.isArray(rules) ? rules : [rules as Rule]);
}

export async function revokeSecurityGroup(
  c: AliyunClient,
  groupId: string,
  rules: Rule | readonly Rule[],
): Promise<void> {
  await changeRules(c, 'RevokeSecurityGroup', groupId, Array.isArray(rules) ? rules : [rules as Rule]);
}

/** DeleteSecurityGroup, waiting out DependencyViolation while its instances go away. */
export async function deleteSecurityGroup(c: AliyunClient, groupId: string): Promise<boolean> {
  try {
    await c.ecs(
      'DeleteSecurityGroup',
      { RegionId: c.regionId, SecurityGroupId: groupId },
      { retryCodes: ['DependencyViolation'] },
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
