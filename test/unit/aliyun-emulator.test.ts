/**
 * Aliyun emulator behaviour through pop-core, without backing VMs (`backing: false`): instance status
 * transitions, idempotency, pagination, tag filters, security-group dependencies, SLB listeners and
 * backend batches, fault injection, quotas, the request log. Instances get unique loopback addresses
 * (127.66.x.y), so the SLB data plane is tested against HTTP servers bound to them.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import RPCClient from '@alicloud/pop-core';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { ECS_VERSION, SLB_VERSION, withRegionId } from '../conformance/aliyun-definitions.js';
import { expectViolation } from '../conformance/recorder.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: AliyunEmulator;
let ecs: RPCClient;
let slb: RPCClient;
const REGION = 'cn-hangzhou';

/** RegionId where the action's definition has one; names sent exactly as written (no pop-core casing). */
const ecsCall = (action: string, params: Json = {}) =>
  ecs.request<Json>(action, withRegionId(ECS_VERSION, action, REGION, params), { formatParams: false });
const slbCall = (action: string, params: Json = {}) =>
  slb.request<Json>(action, withRegionId(SLB_VERSION, action, REGION, params), { formatParams: false });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`;
  }
  return 'no error';
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; data?: { Message?: string } };
    return { code: e.code ?? '', message: e.data?.Message ?? '' };
  }
  return { code: 'no error', message: '' };
}

/** Poll until `fn` returns true; bounded, no fixed sleeps. */
async function until(what: string, fn: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function instance(id: string): Promise<Json> {
  const r = await ecsCall('DescribeInstances', { InstanceIds: JSON.stringify([id]) });
  return r.Instances.Instance[0];
}

async function statusesUntil(id: string, final: string): Promise<string[]> {
  const seen: string[] = [];
  await until(`${id} ${final}`, async () => {
    const s = (await instance(id)).Status as string;
    if (seen[seen.length - 1] !== s) seen.push(s);
    return s === final;
  });
  return seen;
}

const baseInstance = { ImageId: 'debian_12_6_x64_20G_alibase_20240823.vhd', InstanceType: 'ecs.g6.large' };

beforeAll(async () => {
  emu = await startAliyunEmulator({
    backing: false,
    latencyMs: 250,
    addressPrefix: '127.88.2.',
    healthCheckScale: 0.02,
    quotas: { instances: 40, loadBalancers: 6 },
  });
  const cfg = { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret, endpoint: emu.endpoint };
  ecs = new RPCClient({ ...cfg, apiVersion: '2014-05-26' });
  slb = new RPCClient({ ...cfg, apiVersion: '2014-05-15' });
});
afterAll(async () => {
  await emu?.stop();
});
afterEach(() => emu.clearFaults());

describe('ECS instances', () => {
  it('CreateInstance: Pending → Stopped; Start: Starting → Running; Stop: Stopping → Stopped; wrong states refused', async () => {
    const sg = (await ecsCall('CreateSecurityGroup', { SecurityGroupName: 'sg-states' })).SecurityGroupId;
    const { InstanceId: id } = await ecsCall('CreateInstance', {
      ...baseInstance,
      SecurityGroupId: sg,
      InstanceName: 'n1',
    });
    expect(id).toMatch(/^i-[a-z0-9]{20}$/);
    expect((await instance(id)).Status).toBe('Pending');
    expect(await codeOf(ecsCall('StartInstance', { InstanceId: id }))).toBe('IncorrectInstanceStatus');
    expect(await statusesUntil(id, 'Stopped')).toEqual(['Pending', 'Stopped']);
    expect((await instance(id)).PublicIpAddress.IpAddress).toEqual([]);

    const ip = (await ecsCall('AllocatePublicIpAddress', { InstanceId: id })).IpAddress;
    expect(ip).toMatch(/^127\.66\.\d+\.\d+$/);
    await ecsCall('StartInstance', { InstanceId: id });
    expect(await statusesUntil(id, 'Running')).toEqual(['Starting', 'Running']);
    const running = await instance(id);
    expect(running.PublicIpAddress.IpAddress).toEqual([ip]);
    expect(running.InnerIpAddress.IpAddress).toEqual([ip]);
    expect(running.VpcAttributes.PrivateIpAddress.IpAddress).toEqual([ip]);
    expect(running.SecurityGroupIds.SecurityGroupId).toEqual([sg]);
    expect(await codeOf(ecsCall('StartInstance', { InstanceId: id }))).toBe('IncorrectInstanceStatus');
    expect(await codeOf(ecsCall('DeleteInstance', { InstanceId: id }))).toBe('IncorrectInstanceStatus');

    await ecsCall('StopInstance', { InstanceId: id });
    expect(await statusesUntil(id, 'Stopped')).toEqual(['Stopping', 'Stopped']);
    await ecsCall('DeleteInstance', { InstanceId: id });
    expect(await codeOf(ecsCall('StartInstance', { InstanceId: id }))).toBe('InvalidInstanceId.NotFound');
  });

  it('RunInstances starts Amount instances, is idempotent per ClientToken, gives public IPs with bandwidth', async () => {
    const params = { ...baseInstance, Amount: 3, ClientToken: 'run-once-1', InternetMaxBandwidthOut: 5 };
    const first = await ecsCall('RunInstances', params);
    const ids: string[] = first.InstanceIdSets.InstanceIdSet;
    expect(ids).toHaveLength(3);
    const again = await ecsCall('RunInstances', params);
    expect(again.InstanceIdSets.InstanceIdSet).toEqual(ids);
    expect(await codeOf(ecsCall('RunInstances', { ...params, Amount: 2 }))).toBe(
      'IdempotentParameterMismatch',
    );
    for (const id of ids) await statusesUntil(id, 'Running');
    for (const id of ids) expect((await instance(id)).PublicIpAddress.IpAddress).toHaveLength(1);
    for (const id of ids) await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('validates what it is given', async () => {
    expect(await codeOf(ecsCall('CreateInstance', { InstanceType: 'ecs.g6.large' }))).toBe(
      'MissingParameter',
    );
    expect(await codeOf(ecsCall('CreateInstance', { ...baseInstance, ImageId: 'no_such.vhd' }))).toBe(
      'InvalidImageId.NotFound',
    );
    expect(await codeOf(ecsCall('CreateInstance', { ...baseInstance, SecurityGroupId: 'sg-nope' }))).toBe(
      'InvalidSecurityGroupId.NotFound',
    );
    expect(await codeOf(ecsCall('CreateInstance', { ...baseInstance, KeyPairName: 'nope' }))).toBe(
      'InvalidKeyPairName.NotFound',
    );
    expect(await codeOf(ecsCall('CreateInstance', { ...baseInstance, RegionId: 'mars-1' }))).toBe(
      'InvalidRegionId.NotFound',
    );
    expect(await codeOf(ecsCall('DescribeInstances', { InstanceIds: 'i-1,i-2' }))).toBe(
      'InvalidInstanceIds.Malformed',
    );
    expect(await codeOf(ecsCall('ImportKeyPair', { KeyPairName: 'k1', PublicKeyBody: 'not a key' }))).toBe(
      'InvalidPublicKeyBody.Malformed',
    );
  });

  it('takes a description, disks, a charge type and a private address, each checked as ECS checks them', async () => {
    const create = (extra: Json) => ecsCall('CreateInstance', { ...baseInstance, ...extra });
    const vsw = { VSwitchId: 'vsw-1' };
    for (const [field, why] of [
      ['InternetChargeType', 'a charge type ECS does not have'],
      ['SystemDisk.Category', 'a disk category ECS does not have'],
      ['DataDisk.1.Category', 'a disk category ECS does not have'],
    ])
      expectViolation({ operation: 'CreateInstance', field, problem: 'is not one of', why });
    expect(await codeOf(create({ Description: 'http://x' }))).toBe('InvalidDescription.Malformed');
    expect(await codeOf(create({ InternetChargeType: 'PayByMonth' }))).toBe(
      'InvalidInternetChargeType.ValueNotSupported',
    );
    expect(await codeOf(create({ 'SystemDisk.Category': 'floppy' }))).toBe(
      'InvalidSystemDiskCategory.ValueNotSupported',
    );
    expect(await codeOf(create({ DataDisk: [{ Size: 10, Category: 'cloud_ssd' }] }))).toBe(
      'InvalidDataDiskSize.ValueNotSupported',
    );
    expect(await codeOf(create({ DataDisk: [{ Size: 100, Category: 'tape' }] }))).toBe(
      'InvalidDataDiskCategory.ValueNotSupported',
    );
    expect(await codeOf(create({ PrivateIpAddress: '127.66.200.7' }))).toBe('MissingParameter');
    expect(await codeOf(create({ ...vsw, PrivateIpAddress: '127.66.300.7' }))).toBe(
      'InvalidPrivateIpAddress.Malformed',
    );
    expect(await codeOf(create({ ...vsw, PrivateIpAddress: '10.0.0.7' }))).toBe('InvalidPrivateIpAddress');

    const { InstanceId: id } = await create({
      ...vsw,
      Description: 'a data node',
      InternetChargeType: 'PayByBandwidth',
      InternetMaxBandwidthOut: 5,
      'SystemDisk.Category': 'cloud_essd',
      'SystemDisk.Size': 40,
      DataDisk: [{ Size: 100, Category: 'cloud_ssd' }],
      PrivateIpAddress: '127.66.200.7',
    });
    // Known at once, before the machine is made; a second instance cannot have it.
    expect((await instance(id)).InnerIpAddress.IpAddress).toEqual(['127.66.200.7']);
    expect(await codeOf(create({ ...vsw, PrivateIpAddress: '127.66.200.7' }))).toBe(
      'InvalidPrivateIpAddress.Duplicated',
    );
    await statusesUntil(id, 'Stopped');
    // CreateInstance never gives a public address by itself, bandwidth or not (AllocatePublicIpAddress does).
    await ecsCall('StartInstance', { InstanceId: id });
    await statusesUntil(id, 'Running');
    const i = await instance(id);
    expect([i.Description, i.InternetChargeType, i.PublicIpAddress.IpAddress]).toEqual([
      'a data node',
      'PayByBandwidth',
      [],
    ]);
    const dumped = ((emu.dump() as Json).instances as Json[]).find((x) => x.InstanceId === id)!;
    expect([dumped.SystemDisk, dumped.DataDisks]).toEqual([
      { category: 'cloud_essd', size: 40 },
      [{ category: 'cloud_ssd', size: 100, deleteWithInstance: true }],
    ]);
    await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('takes a Password as ECS does: 8-30 characters, three kinds, its own special characters', async () => {
    const create = (Password: string) => ecsCall('CreateInstance', { ...baseInstance, Password });
    for (const bad of [
      'Aa1!',
      'Aa1!'.repeat(8),
      'lowercase1only',
      'Has Space1',
      'Quote"d1x',
      'Back\\slash1',
    ]) {
      expect(await errorOf(create(bad)), bad).toEqual({
        code: 'InvalidPassword.Malformed',
        message: 'The specified parameter "Password" is not valid.',
      });
    }
    const { InstanceId: id } = await create("Ok1()`~!@#$%^&*-_+=|{}[]:;'<>");
    const { InstanceId: plain } = await ecsCall('CreateInstance', baseInstance);
    const dumped = (emu.dump() as Json).instances as Json[];
    expect(dumped.find((x) => x.InstanceId === id)!.PasswordSet).toBe(true);
    expect(dumped.find((x) => x.InstanceId === plain)!.PasswordSet).toBe(false);
    // Like the cloud, DescribeInstances never shows it.
    expect(JSON.stringify(await instance(id))).not.toContain('Ok1(');
    for (const i of [id, plain]) await ecsCall('DeleteInstance', { InstanceId: i, Force: true });
  });

  it('pages DescribeInstances and filters by tags and ids', async () => {
    const made = await ecsCall('RunInstances', {
      ...baseInstance,
      Amount: 12,
      Tag: [
        { Key: 'swarmup-cluster', Value: 'pages' },
        { Key: 'role', Value: 'worker' },
      ],
    });
    const ids: string[] = made.InstanceIdSets.InstanceIdSet;
    const other = (
      await ecsCall('CreateInstance', { ...baseInstance, Tag: [{ Key: 'swarmup-cluster', Value: 'x' }] })
    ).InstanceId;
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await ecsCall('DescribeInstances', {
        Tag: [{ Key: 'swarmup-cluster', Value: 'pages' }],
        PageNumber: page,
        PageSize: 5,
      });
      expect(r.TotalCount).toBe(12);
      expect(r.PageNumber).toBe(page);
      seen.push(...r.Instances.Instance.map((i: Json) => i.InstanceId));
    }
    expect(seen.sort()).toEqual([...ids].sort());
    // The current form: NextToken/MaxResults, '' after the last page.
    const byToken: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await ecsCall('DescribeInstances', {
        Tag: [{ Key: 'swarmup-cluster', Value: 'pages' }],
        MaxResults: 5,
        ...(token ? { NextToken: token } : {}),
      });
      byToken.push(...r.Instances.Instance.map((i: Json) => i.InstanceId));
      token = r.NextToken || undefined;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(byToken.sort()).toEqual([...ids].sort());
    const keyOnly = await ecsCall('DescribeInstances', { Tag: [{ Key: 'swarmup-cluster' }], PageSize: 100 });
    expect(keyOnly.TotalCount).toBe(13);
    const both = await ecsCall('DescribeInstances', {
      Tag: [
        { Key: 'swarmup-cluster', Value: 'pages' },
        { Key: 'role', Value: 'manager' },
      ],
    });
    expect(both.TotalCount).toBe(0);
    const byIds = await ecsCall('DescribeInstances', { InstanceIds: JSON.stringify([ids[0], other]) });
    expect(byIds.Instances.Instance.map((i: Json) => i.InstanceId).sort()).toEqual([ids[0], other].sort());
    expect(byIds.Instances.Instance.find((i: Json) => i.InstanceId === other).Tags.Tag).toEqual([
      { TagKey: 'swarmup-cluster', TagValue: 'x' },
    ]);
    expect(await codeOf(ecsCall('DescribeInstances', { PageSize: 101 }))).toBe('InvalidParameter');
    for (const id of [...ids, other]) await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('enforces the instance quota', async () => {
    expect(await codeOf(ecsCall('RunInstances', { ...baseInstance, Amount: 41 }))).toBe(
      'QuotaExceed.ElasticQuota',
    );
  });
});

describe('security groups and key pairs', () => {
  it('stores rules, validates them, refuses to delete a group in use or referenced', async () => {
    const sg = (
      await ecsCall('CreateSecurityGroup', { SecurityGroupName: 'swarm', Tag: [{ Key: 'c', Value: 'sg' }] })
    ).SecurityGroupId;
    const peer = (await ecsCall('CreateSecurityGroup', { SecurityGroupName: 'peer' })).SecurityGroupId;
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: sg,
      Permissions: [
        {
          IpProtocol: 'tcp',
          PortRange: '2377/2377',
          SourceGroupId: sg,
        },
      ],
    });
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: sg,
      Permissions: [
        {
          IpProtocol: 'udp',
          PortRange: '4789/4789',
          SourceGroupId: sg,
        },
      ],
    });
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: sg,
      Permissions: [
        {
          IpProtocol: 'tcp',
          PortRange: '22/22',
          SourceCidrIp: '0.0.0.0/0',
        },
      ],
    });
    // The same rule twice is one rule.
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: sg,
      Permissions: [
        {
          IpProtocol: 'tcp',
          PortRange: '22/22',
          SourceCidrIp: '0.0.0.0/0',
        },
      ],
    });
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: peer,
      Permissions: [
        {
          IpProtocol: 'all',
          PortRange: '-1/-1',
          SourceGroupId: sg,
        },
      ],
    });
    expect(
      await codeOf(
        ecsCall('AuthorizeSecurityGroup', {
          SecurityGroupId: sg,
          Permissions: [
            {
              IpProtocol: 'tcp',
              PortRange: '0/99',
              SourceCidrIp: '1.2.3.4',
            },
          ],
        }),
      ),
    ).toBe('InvalidPortRange.Malformed');
    expectViolation({ field: 'IpProtocol', problem: '"sctp"', why: 'a protocol ECS rules do not take' });
    expect(
      await codeOf(
        ecsCall('AuthorizeSecurityGroup', {
          SecurityGroupId: sg,
          Permissions: [
            {
              IpProtocol: 'sctp',
              PortRange: '1/2',
              SourceCidrIp: '1.2.3.4',
            },
          ],
        }),
      ),
    ).toBe('InvalidIpProtocol.Malformed');

    const attr = await ecsCall('DescribeSecurityGroupAttribute', { SecurityGroupId: sg });
    const perms = attr.Permissions.Permission.map(
      (x: Json) => `${x.IpProtocol} ${x.PortRange} ${x.SourceGroupId || x.SourceCidrIp}`,
    );
    expect(perms).toEqual([`TCP 2377/2377 ${sg}`, `UDP 4789/4789 ${sg}`, 'TCP 22/22 0.0.0.0/0']);
    await ecsCall('RevokeSecurityGroup', {
      SecurityGroupId: sg,
      Permissions: [
        {
          IpProtocol: 'tcp',
          PortRange: '22/22',
          SourceCidrIp: '0.0.0.0/0',
        },
      ],
    });
    expect(
      (await ecsCall('DescribeSecurityGroupAttribute', { SecurityGroupId: sg })).Permissions.Permission,
    ).toHaveLength(2);

    const tagged = await ecsCall('DescribeSecurityGroups', { Tag: [{ Key: 'c', Value: 'sg' }] });
    expect(tagged.SecurityGroups.SecurityGroup.map((g: Json) => g.SecurityGroupId)).toEqual([sg]);

    const { InstanceId: id } = await ecsCall('CreateInstance', { ...baseInstance, SecurityGroupId: sg });
    const refusal = () => errorOf(ecsCall('DeleteSecurityGroup', { SecurityGroupId: sg }));
    expect(await refusal()).toEqual({
      code: 'DependencyViolation',
      message: 'There is still instance(s) in the specified security group.',
    });
    await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
    // Once the instance is released, the peer's rule still refers to the group.
    await until('instance released', async () =>
      (await refusal()).message.includes('authorized in another one'),
    );
    expect((await refusal()).code).toBe('DependencyViolation');
    await ecsCall('DeleteSecurityGroup', { SecurityGroupId: peer });
    await ecsCall('DeleteSecurityGroup', { SecurityGroupId: sg });
    expect(await codeOf(ecsCall('DeleteSecurityGroup', { SecurityGroupId: sg }))).toBe(
      'InvalidSecurityGroupId.NotFound',
    );
  });

  it('pages DescribeSecurityGroups', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      ids.push(
        (
          await ecsCall('CreateSecurityGroup', {
            SecurityGroupName: `pg-${i}`,
            Tag: [{ Key: 'page', Value: 'y' }],
          })
        ).SecurityGroupId,
      );
    }
    const seen: string[] = [];
    let total = 0;
    for (let page = 1; ; page++) {
      const r = await ecsCall('DescribeSecurityGroups', {
        Tag: [{ Key: 'page', Value: 'y' }],
        PageNumber: page,
        PageSize: 10,
      });
      total = r.TotalCount;
      if (r.SecurityGroups.SecurityGroup.length === 0) break;
      seen.push(...r.SecurityGroups.SecurityGroup.map((g: Json) => g.SecurityGroupId));
    }
    expect(total).toBe(23);
    expect(seen).toEqual(ids);
    for (const id of ids) await ecsCall('DeleteSecurityGroup', { SecurityGroupId: id });
  });

  it('imports, lists and deletes key pairs (KeyPairNames as JSON)', async () => {
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ1bm5pbmctdGhlLWFsaXl1bi1lbXVsYXRvci10ZXN0 t@x';
    const r = await ecsCall('ImportKeyPair', { KeyPairName: 'kp-a', PublicKeyBody: pub });
    expect(r.KeyPairFingerPrint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(await codeOf(ecsCall('ImportKeyPair', { KeyPairName: 'kp-a', PublicKeyBody: pub }))).toBe(
      'KeyPair.AlreadyExist',
    );
    await ecsCall('ImportKeyPair', { KeyPairName: 'kp-b', PublicKeyBody: pub });
    expect((await ecsCall('DescribeKeyPairs', { KeyPairName: 'kp-*' })).TotalCount).toBe(2);
    await ecsCall('DeleteKeyPairs', { KeyPairNames: JSON.stringify(['kp-a', 'kp-b']) });
    expect((await ecsCall('DescribeKeyPairs', { KeyPairName: 'kp-*' })).TotalCount).toBe(0);
  });
});

describe('SLB', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  function httpd(ip: string, port: number, text: string): Promise<Server> {
    const s = createServer((_req, res) => res.end(text));
    servers.push(s);
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, ip, () => resolve(s));
    });
  }

  async function get(address: string, port: number): Promise<string> {
    try {
      const r = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(2000) });
      return await r.text();
    } catch {
      return 'refused';
    }
  }

  function tcpRefused(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
  }

  it('ClientToken makes CreateLoadBalancer idempotent; tags filter by Tags JSON and Tag.N', async () => {
    const a = await slbCall('CreateLoadBalancer', {
      LoadBalancerName: 'a',
      ClientToken: 'tok-a',
      Tag: [{ Key: 'swarmup-cluster', Value: 'c1' }],
    });
    const again = await slbCall('CreateLoadBalancer', {
      LoadBalancerName: 'a',
      ClientToken: 'tok-a',
      Tag: [{ Key: 'swarmup-cluster', Value: 'c1' }],
    });
    expect(again.LoadBalancerId).toBe(a.LoadBalancerId);
    expect(a.Address).toMatch(/^127\.88\.2\.\d+$/);
    const b = await slbCall('CreateLoadBalancer', { LoadBalancerName: 'b' });
    await slbCall('AddTags', {
      LoadBalancerId: b.LoadBalancerId,
      Tags: JSON.stringify([{ TagKey: 'swarmup-cluster', TagValue: 'c2' }]),
    });
    const byJson = await slbCall('DescribeLoadBalancers', {
      Tags: JSON.stringify([{ TagKey: 'swarmup-cluster', TagValue: 'c1' }]),
    });
    expect(byJson.LoadBalancers.LoadBalancer.map((l: Json) => l.LoadBalancerId)).toEqual([a.LoadBalancerId]);
    const byTagN = await slbCall('DescribeLoadBalancers', { Tag: [{ Key: 'swarmup-cluster', Value: 'c2' }] });
    expect(byTagN.LoadBalancers.LoadBalancer.map((l: Json) => l.LoadBalancerId)).toEqual([b.LoadBalancerId]);
    expect(byTagN.LoadBalancers.LoadBalancer[0].Tags.Tag).toEqual([
      { TagKey: 'swarmup-cluster', TagValue: 'c2' },
    ]);
    const tags = await slbCall('DescribeTags', {
      Tags: JSON.stringify([{ TagKey: 'swarmup-cluster', TagValue: 'c1' }]),
    });
    expect(tags.TagSets.TagSet).toEqual([{ TagKey: 'swarmup-cluster', TagValue: 'c1', InstanceCount: 1 }]);
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: a.LoadBalancerId });
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: b.LoadBalancerId });
    expect(await codeOf(slbCall('DescribeLoadBalancerAttribute', { LoadBalancerId: a.LoadBalancerId }))).toBe(
      'InvalidLoadBalancerId.NotFound',
    );
  });

  it('limits backend batches to 20 and keeps listeners stopped until started; traffic goes round-robin to healthy backends', async () => {
    expectViolation({
      operation: 'AddBackendServers',
      problem: 'holds 21 items; at most 20',
      why: 'the batch limit',
    });
    const run = await ecsCall('RunInstances', { ...baseInstance, Amount: 21 });
    const ids: string[] = run.InstanceIdSets.InstanceIdSet;
    for (const id of ids) await statusesUntil(id, 'Running');
    const lb = await slbCall('CreateLoadBalancer', { LoadBalancerName: 'traffic' });
    const batch = (xs: string[]) =>
      JSON.stringify(xs.map((ServerId) => ({ ServerId, Weight: '100', Type: 'ecs' })));
    expect(
      await codeOf(
        slbCall('AddBackendServers', { LoadBalancerId: lb.LoadBalancerId, BackendServers: batch(ids) }),
      ),
    ).toBe('InvalidParameter');
    const added = await slbCall('AddBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: batch(ids.slice(0, 20)),
    });
    expect(added.BackendServers.BackendServer).toHaveLength(20);
    await slbCall('RemoveBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: JSON.stringify(ids.slice(2, 20).map((ServerId) => ({ ServerId }))),
    });
    for (const id of ids.slice(2)) await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
    const [i1, i2] = await Promise.all(ids.slice(0, 2).map(instance));
    const ip1 = i1.InnerIpAddress.IpAddress[0];
    const ip2 = i2.InnerIpAddress.IpAddress[0];
    await httpd(ip1, 18090, 'one');
    const s2 = await httpd(ip2, 18090, 'two');

    const listener = { LoadBalancerId: lb.LoadBalancerId, ListenerPort: 18091 };
    await slbCall('CreateLoadBalancerTCPListener', {
      ...listener,
      BackendServerPort: 18090,
      Bandwidth: -1,
      Description: 'owned',
    });
    expect(
      await codeOf(
        slbCall('CreateLoadBalancerTCPListener', { ...listener, BackendServerPort: 18090, Bandwidth: -1 }),
      ),
    ).toBe('ListenerAlreadyExists');
    expect(
      await codeOf(
        slbCall('CreateLoadBalancerTCPListener', { ...listener, ListenerPort: 18092, Bandwidth: -1 }),
      ),
    ).toBe('MissingParameter');
    // A UDP listener may share the port.
    await slbCall('CreateLoadBalancerUDPListener', { ...listener, BackendServerPort: 18090, Bandwidth: -1 });
    const attr = await slbCall('DescribeLoadBalancerTCPListenerAttribute', listener);
    expect([attr.Status, attr.BackendServerPort, attr.Description]).toEqual(['stopped', 18090, 'owned']);
    expect(await tcpRefused(lb.Address, 18091)).toBe(true);
    const lbAttr = await slbCall('DescribeLoadBalancerAttribute', { LoadBalancerId: lb.LoadBalancerId });
    expect(lbAttr.ListenerPortsAndProtocol.ListenerPortAndProtocol).toEqual([
      { ListenerPort: 18091, ListenerProtocol: 'tcp', Description: 'owned' },
      { ListenerPort: 18091, ListenerProtocol: 'udp', Description: '' },
    ]);
    expect(lbAttr.BackendServers.BackendServer.map((b: Json) => b.ServerId).sort()).toEqual(
      ids.slice(0, 2).sort(),
    );
    // BackendServerPort is no parameter of Set…ListenerAttribute: the gateway ignores it, so does the emulator.
    expectViolation({
      operation: 'SetLoadBalancerTCPListenerAttribute',
      field: 'BackendServerPort',
      why: 'a backend port cannot be set on an existing listener',
    });
    await slbCall('SetLoadBalancerTCPListenerAttribute', { ...listener, BackendServerPort: 18093 });
    expect((await slbCall('DescribeLoadBalancerTCPListenerAttribute', listener)).BackendServerPort).toBe(
      18090,
    );
    // Two listeners on the port: the protocol must be named.
    expect(await codeOf(slbCall('StartLoadBalancerListener', listener))).toBe('MissingParameter');

    await slbCall('StartLoadBalancerListener', { ...listener, ListenerProtocol: 'tcp' });
    expect((await slbCall('DescribeLoadBalancerTCPListenerAttribute', listener)).Status).toBe('running');
    await until('both backends normal', async () => {
      const h = await slbCall('DescribeHealthStatus', {
        LoadBalancerId: lb.LoadBalancerId,
        ListenerPort: 18091,
        ListenerProtocol: 'tcp',
      });
      return h.BackendServers.BackendServer.every((b: Json) => b.ServerHealthStatus === 'normal');
    });
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await get(lb.Address, 18091));
    expect([...answers].sort()).toEqual(['one', 'two']);

    // Backend two goes away: it turns abnormal and gets no traffic.
    await new Promise<void>((r) => s2.close(() => r()));
    servers.splice(servers.indexOf(s2), 1);
    await until('backend two abnormal', async () => {
      const h = await slbCall('DescribeHealthStatus', {
        LoadBalancerId: lb.LoadBalancerId,
        ListenerProtocol: 'tcp',
      });
      return h.BackendServers.BackendServer.some(
        (b: Json) => b.ServerId === ids[1] && b.ServerHealthStatus === 'abnormal',
      );
    });
    for (let i = 0; i < 4; i++) expect(await get(lb.Address, 18091)).toBe('one');

    await slbCall('StopLoadBalancerListener', { ...listener, ListenerProtocol: 'tcp' });
    expect(await tcpRefused(lb.Address, 18091)).toBe(true);
    const h = await slbCall('DescribeHealthStatus', { LoadBalancerId: lb.LoadBalancerId });
    expect(new Set(h.BackendServers.BackendServer.map((b: Json) => b.ServerHealthStatus))).toEqual(
      new Set(['unavailable']),
    );
    await slbCall('DeleteLoadBalancerListener', { ...listener, ListenerProtocol: 'udp' });
    await slbCall('DeleteLoadBalancerListener', listener);
    expect(await codeOf(slbCall('DeleteLoadBalancerListener', listener))).toBe('InvalidParameter');
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: lb.LoadBalancerId });
    for (const id of ids.slice(0, 2)) await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('HTTP health checks follow HealthCheckURI and HealthCheckHttpCode', async () => {
    const { InstanceId: id } = await ecsCall('CreateInstance', baseInstance);
    await statusesUntil(id, 'Stopped');
    await ecsCall('StartInstance', { InstanceId: id });
    await statusesUntil(id, 'Running');
    const ip = (await instance(id)).InnerIpAddress.IpAddress[0];
    const s = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 404;
      res.end(req.url);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(18094, ip, () => r()));
    const lb = await slbCall('CreateLoadBalancer', {});
    await slbCall('AddBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: JSON.stringify([{ ServerId: id }]),
    });
    const l = { LoadBalancerId: lb.LoadBalancerId, ListenerPort: 18095 };
    await slbCall('CreateLoadBalancerTCPListener', {
      ...l,
      BackendServerPort: 18094,
      Bandwidth: -1,
      HealthCheckType: 'http',
      HealthCheckURI: '/missing',
    });
    await slbCall('StartLoadBalancerListener', l);
    const health = async () =>
      (await slbCall('DescribeHealthStatus', { LoadBalancerId: lb.LoadBalancerId })).BackendServers
        .BackendServer[0].ServerHealthStatus as string;
    await until('abnormal on 404', async () => (await health()) === 'abnormal');
    expect(await get(lb.Address, 18095)).toBe('refused');
    await slbCall('SetLoadBalancerTCPListenerAttribute', { ...l, HealthCheckURI: '/healthz' });
    await until('normal on 200', async () => (await health()) === 'normal');
    expect(await get(lb.Address, 18095)).toBe('/');
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: lb.LoadBalancerId });
    expect(await tcpRefused(lb.Address, 18095)).toBe(true);
    await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('forwards UDP datagrams once a UDP listener is started, and answers the client', async () => {
    const run = await ecsCall('RunInstances', { ...baseInstance, Amount: 1 });
    const id: string = run.InstanceIdSets.InstanceIdSet[0];
    await statusesUntil(id, 'Running');
    const ip = (await instance(id)).InnerIpAddress.IpAddress[0];
    const echo = createSocket('udp4');
    echo.on('message', (msg, from) =>
      echo.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address),
    );
    await new Promise<void>((r) => echo.bind(18096, ip, () => r()));
    const lb = await slbCall('CreateLoadBalancer', {});
    await slbCall('AddBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: JSON.stringify([{ ServerId: id }]),
    });
    const l = { LoadBalancerId: lb.LoadBalancerId, ListenerPort: 18097 };
    await slbCall('CreateLoadBalancerUDPListener', { ...l, BackendServerPort: 18096, Bandwidth: -1 });
    const client = createSocket('udp4');
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    try {
      client.send('before', 18097, lb.Address);
      await slbCall('StartLoadBalancerListener', l);
      expect((await slbCall('DescribeLoadBalancerUDPListenerAttribute', l)).Status).toBe('running');
      await until('an echo through the listener', async () => {
        client.send('ping', 18097, lb.Address);
        return replies.includes('echo:ping');
      });
      expect(replies).not.toContain('echo:before');
    } finally {
      client.close();
      echo.close();
      await slbCall('DeleteLoadBalancer', { LoadBalancerId: lb.LoadBalancerId });
      await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
    }
  });

  it('health-checks UDP backends: port unreachable or a wrong HealthCheckExp answer keeps datagrams off them', async () => {
    const run = await ecsCall('RunInstances', { ...baseInstance, Amount: 2 });
    const ids: string[] = run.InstanceIdSets.InstanceIdSet;
    for (const id of ids) await statusesUntil(id, 'Running');
    const [ip1, ip2] = await Promise.all(
      ids.map(async (id) => (await instance(id)).InnerIpAddress.IpAddress[0]),
    );
    const sockets: ReturnType<typeof createSocket>[] = [];
    /** A UDP server on ip:18098 answering `name:msg`, and `hello` with `helloAnswer`. */
    const udpd = async (ip: string, name: string, helloAnswer: string) => {
      const s = createSocket('udp4');
      s.on('message', (msg, from) =>
        s.send(msg.toString() === 'hello' ? helloAnswer : `${name}:${msg}`, from.port, from.address),
      );
      await new Promise<void>((r) => s.bind(18098, ip, () => r()));
      sockets.push(s);
      return s;
    };
    await udpd(ip1, 'one', 'ok');
    const lb = await slbCall('CreateLoadBalancer', {});
    await slbCall('AddBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: JSON.stringify(ids.map((ServerId) => ({ ServerId }))),
    });
    const l = { LoadBalancerId: lb.LoadBalancerId, ListenerPort: 18099 };
    await slbCall('CreateLoadBalancerUDPListener', { ...l, BackendServerPort: 18098, Bandwidth: -1 });
    await slbCall('StartLoadBalancerListener', l);
    const health = async () => {
      const h = await slbCall('DescribeHealthStatus', { LoadBalancerId: lb.LoadBalancerId });
      return Object.fromEntries(
        h.BackendServers.BackendServer.map((b: Json) => [b.ServerId, b.ServerHealthStatus]),
      ) as Record<string, string>;
    };
    const healthIs = (a: string, b: string) =>
      until(`health ${a}/${b}`, async () => {
        const h = await health();
        return h[ids[0]] === a && h[ids[1]] === b;
      });
    /** One fresh client (a new session, so round-robin picks again): its first answer, or 'none'. */
    const ask = async (msg: string) => {
      const c = createSocket('udp4');
      try {
        await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
        const answer = new Promise<string>((resolve) => {
          c.once('message', (m) => resolve(m.toString()));
          setTimeout(() => resolve('none'), 500);
        });
        c.send(msg, 18099, lb.Address);
        return await answer;
      } finally {
        c.close();
      }
    };
    try {
      // Nothing listens on backend two: ICMP port unreachable marks it abnormal; every session gets one.
      await healthIs('normal', 'abnormal');
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await ask(`ping${i}`));
      expect(answers).toEqual(['one:ping0', 'one:ping1', 'one:ping2', 'one:ping3']);

      // Backend two starts listening: silence passes the check, and it takes sessions too.
      await udpd(ip2, 'two', 'nope');
      await healthIs('normal', 'normal');
      const both = new Set<string>();
      for (let i = 0; i < 4; i++) both.add((await ask('x')).split(':')[0]);
      expect([...both].sort()).toEqual(['one', 'two']);

      // With healthCheckReq/Exp only the backend that answers "ok" to "hello" is healthy.
      expect(
        await codeOf(slbCall('SetLoadBalancerUDPListenerAttribute', { ...l, healthCheckReq: 'he llo' })),
      ).toBe('InvalidParameter');
      await slbCall('SetLoadBalancerUDPListenerAttribute', {
        ...l,
        healthCheckReq: 'hello',
        healthCheckExp: 'ok',
      });
      const attr = await slbCall('DescribeLoadBalancerUDPListenerAttribute', l);
      expect([attr.HealthCheckReq, attr.HealthCheckExp]).toEqual(['hello', 'ok']);
      await healthIs('normal', 'abnormal');
      for (let i = 0; i < 4; i++) expect(await ask('y')).toBe('one:y');
    } finally {
      for (const s of sockets) s.close();
      await slbCall('DeleteLoadBalancer', { LoadBalancerId: lb.LoadBalancerId });
      for (const id of ids) await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
    }
  });

  it('enforces the load balancer quota', async () => {
    const made: string[] = [];
    for (let i = 0; i < 6; i++) made.push((await slbCall('CreateLoadBalancer', {})).LoadBalancerId);
    expect(await codeOf(slbCall('CreateLoadBalancer', {}))).toBe('QuotaExceed.LoadBalancer');
    for (const id of made) await slbCall('DeleteLoadBalancer', { LoadBalancerId: id });
  });
});

describe('fault injection, request log, resource count', () => {
  it('injects codes for a number of calls, optionally for one action', async () => {
    emu.inject({ kind: 'code', code: 'Throttling', count: 2, action: 'DescribeLoadBalancers' });
    expect(await codeOf(slbCall('DescribeRegions'))).toBe('no error');
    expect(await codeOf(slbCall('DescribeLoadBalancers'))).toBe('Throttling');
    expect(await codeOf(slbCall('DescribeLoadBalancers'))).toBe('Throttling');
    expect(await codeOf(slbCall('DescribeLoadBalancers'))).toBe('no error');
    emu.inject({ kind: 'code', code: 'ServiceIsConfiguring', count: 1 });
    expect(await codeOf(ecsCall('DescribeRegions'))).toBe('ServiceIsConfiguring');
    emu.inject({ kind: 'code', code: 'Throttling.User', count: 5 });
    emu.clearFaults();
    expect(await codeOf(ecsCall('DescribeRegions'))).toBe('no error');
  });

  it('failAction: accepted StartInstance falls back to Stopped; synchronous actions answer InternalError', async () => {
    const { InstanceId: id } = await ecsCall('CreateInstance', baseInstance);
    await statusesUntil(id, 'Stopped');
    emu.inject({ kind: 'failAction', action: 'StartInstance', count: 1 });
    await ecsCall('StartInstance', { InstanceId: id });
    expect(await statusesUntil(id, 'Stopped')).toEqual(['Starting', 'Stopped']);
    await ecsCall('StartInstance', { InstanceId: id });
    await statusesUntil(id, 'Running');
    emu.inject({ kind: 'failAction', action: 'CreateSecurityGroup', count: 1 });
    expect(await codeOf(ecsCall('CreateSecurityGroup', {}))).toBe('InternalError');
    await ecsCall('DeleteInstance', { InstanceId: id, Force: true });
  });

  it('responseLost: the action is carried out, then the connection is reset without an answer', async () => {
    emu.resetLog();
    emu.inject({ kind: 'responseLost', action: 'CreateSecurityGroup', count: 1 });
    expect(await codeOf(ecsCall('CreateSecurityGroup', { SecurityGroupName: 'lost-answer' }))).toBe(
      'ECONNRESET',
    );
    const made = await ecsCall('DescribeSecurityGroups', { SecurityGroupName: 'lost-answer' });
    expect(made.TotalCount).toBe(1);
    expect(emu.requests().map((r) => [r.path, r.status])).toEqual([
      ['CreateSecurityGroup', 0],
      ['DescribeSecurityGroups', 200],
    ]);
    await ecsCall('DeleteSecurityGroup', {
      SecurityGroupId: made.SecurityGroups.SecurityGroup[0].SecurityGroupId,
    });
  });

  it('logs every call with mutating = not Describe*/List*, and counts resources', async () => {
    const before = emu.resourceCount();
    emu.resetLog();
    const sg = (await ecsCall('CreateSecurityGroup', {})).SecurityGroupId;
    await ecsCall('DescribeSecurityGroups');
    await ecsCall('ListTagResources', { ResourceType: 'securitygroup', ResourceId: [sg] });
    await codeOf(ecsCall('DeleteSecurityGroup', { SecurityGroupId: 'sg-none' }));
    const lb = await slbCall('CreateLoadBalancer', {});
    await slbCall('CreateLoadBalancerUDPListener', {
      LoadBalancerId: lb.LoadBalancerId,
      ListenerPort: 53,
      BackendServerPort: 53,
      Bandwidth: -1,
    });
    expect(emu.resourceCount()).toBe(before + 3);
    expect(emu.requests().map((r) => [r.path, r.mutating, r.status])).toEqual([
      ['CreateSecurityGroup', true, 200],
      ['DescribeSecurityGroups', false, 200],
      ['ListTagResources', false, 200],
      ['DeleteSecurityGroup', true, 404],
      ['CreateLoadBalancer', true, 200],
      ['CreateLoadBalancerUDPListener', true, 200],
    ]);
    const dump = emu.dump() as Json;
    expect(
      dump.loadBalancers.find((l: Json) => l.LoadBalancerId === lb.LoadBalancerId).Listeners[0].Status,
    ).toBe('stopped');
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: lb.LoadBalancerId });
    await ecsCall('DeleteSecurityGroup', { SecurityGroupId: sg });
    expect(emu.resourceCount()).toBe(before);
  });
});
