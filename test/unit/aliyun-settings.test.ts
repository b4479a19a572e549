import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsFrom, requireCredentials } from '../../src/cloud/aliyun/client.js';
import { instanceParams, keyPairName, validHostName } from '../../drivers/aliyunecs/driver.js';
import { aliyunecsPlugin } from '../../drivers/aliyunecs/plugin.js';
import {
  adminCidrs,
  parseCidr,
  notActedOnWarning,
  requireAdminCidrs,
  securityGroupName,
  settingsFrom,
  targetFrom,
} from '../../drivers/aliyunecs/settings.js';
import {
  ecsTagFilter,
  ecsTagParams,
  labelTags,
  parseUserTags,
  resourceTags,
  slbTagsJson,
  tagsOf,
} from '../../src/cloud/aliyun/tags.js';
import { storableFlags } from '../../src/driver/flags.js';
import { UserError } from '../../src/errors.js';

const ENV = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ECS_ACCESS_KEY_ID',
  'ECS_ACCESS_KEY_SECRET',
];
let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  for (const k of ENV) delete process.env[k];
});
afterEach(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const emulator = { 'aliyunecs-api-endpoint': 'http://127.0.0.1:8086' };

describe('aliyunecs flags', () => {
  it('has the docker-machine flag names and env vars; credentials are secret and never stored', () => {
    const byName = new Map(aliyunecsPlugin.flags.map((f) => [f.name, f]));
    for (const n of [
      'access-key-id',
      'access-key-secret',
      'region',
      'zone',
      'image-id',
      'instance-type',
      'vpc-id',
      'vswitch-id',
      'security-group',
      'internet-max-bandwidth',
      'system-disk-size',
      'io-optimized',
      'slb-id',
      'tag',
      'api-endpoint',
      'admin-cidr',
      'description',
      'disk-size',
      'disk-category',
      'system-disk-category',
      'internet-charge-type',
      'private-address-only',
      'private-ip',
      'ssh-keypair',
      'ssh-keypath',
      'ssh-password',
      'route-cidr',
      'upgrade-kernel',
      'disk-fs',
      'resource-group-id',
    ]) {
      expect(byName.has(`aliyunecs-${n}`), n).toBe(true);
    }
    expect(byName.get('aliyunecs-access-key-id')!.secret).toBe(true);
    expect(byName.get('aliyunecs-access-key-secret')!.secret).toBe(true);
    expect(byName.get('aliyunecs-region')!.env).toBe('ECS_REGION');
    expect(byName.get('aliyunecs-api-endpoint')!.env).toBe('ECS_API_ENDPOINT');
    expect(byName.get('aliyunecs-private-address-only')!.env).toBe('ECS_PRIVATE_ADDR_ONLY');
    expect(byName.get('aliyunecs-private-ip')!.env).toBe('ECS_VPC_PRIVATE_IP');
    expect(byName.get('aliyunecs-ssh-keypair')!.env).toBe('ECS_SSH_KEYPAIR');
    expect(byName.get('aliyunecs-ssh-password')!.secret).toBe(true);
    const stored = storableFlags(aliyunecsPlugin, {
      'aliyunecs-access-key-id': 'LTAIkey',
      'aliyunecs-access-key-secret': 'shh',
      'aliyunecs-region': 'cn-beijing',
    });
    expect(stored).toEqual({ 'aliyunecs-region': 'cn-beijing' });
  });

  it('settles defaults', () => {
    const s = settingsFrom({ ...emulator });
    expect(s).toMatchObject({
      regionId: 'cn-hangzhou',
      endpoint: 'http://127.0.0.1:8086',
      instanceType: 'ecs.g6.large',
      bandwidth: 1,
      ioOptimized: 'optimized',
      tags: {},
    });
    expect(s.imageId).toMatch(/^debian_12/);
    expect(s.systemDiskSize).toBeUndefined();
    expect(s.slbId).toBeUndefined();
    expect(s).toMatchObject({ internetChargeType: 'PayByTraffic', privateAddressOnly: false });
    for (const k of [
      'dataDisk',
      'description',
      'privateIp',
      'sshKeyPair',
      'sshKeyPath',
      'systemDiskCategory',
    ] as const)
      expect(s[k], k).toBeUndefined();
  });

  it('takes the instance flags and turns them into CreateInstance parameters', () => {
    const s = settingsFrom({
      ...emulator,
      'aliyunecs-vpc-id': 'vpc-1',
      'aliyunecs-vswitch-id': 'vsw-1',
      'aliyunecs-description': 'swarm node',
      'aliyunecs-disk-size': 100,
      'aliyunecs-disk-category': 'cloud_essd',
      'aliyunecs-system-disk-size': 40,
      'aliyunecs-system-disk-category': 'cloud_ssd',
      'aliyunecs-internet-charge-type': 'paybybandwidth',
      'aliyunecs-private-address-only': 'true', // from ECS_PRIVATE_ADDR_ONLY
      'aliyunecs-private-ip': '10.1.2.3',
      'aliyunecs-ssh-keypair': 'team-key',
      'aliyunecs-ssh-keypath': '/home/me/.ssh/id_rsa',
    });
    expect(s).toMatchObject({
      description: 'swarm node',
      dataDisk: { size: 100, category: 'cloud_essd' },
      systemDiskCategory: 'cloud_ssd',
      internetChargeType: 'PayByBandwidth',
      privateAddressOnly: true,
      privateIp: '10.1.2.3',
      sshKeyPair: 'team-key',
      sshKeyPath: '/home/me/.ssh/id_rsa',
    });
    const p = instanceParams(s, {
      name: 'web-1',
      securityGroupId: 'sg-1',
      keyPairName: 'team-key',
      tags: { a: 'b' },
    });
    expect(p).toEqual({
      zoneId: undefined,
      imageId: s.imageId,
      instanceType: 'ecs.g6.large',
      securityGroupId: 'sg-1',
      instanceName: 'web-1',
      hostName: 'web-1',
      keyPairName: 'team-key',
      vswitchId: 'vsw-1',
      privateIp: '10.1.2.3',
      description: 'swarm node',
      // No public address: no outbound public bandwidth either.
      bandwidth: 0,
      internetChargeType: 'PayByBandwidth',
      systemDiskSize: 40,
      systemDiskCategory: 'cloud_ssd',
      dataDisk: { size: 100, category: 'cloud_essd' },
      ioOptimized: 'optimized',
      tags: { a: 'b' },
    });
    const plain = instanceParams(settingsFrom({ ...emulator, 'aliyunecs-disk-size': 50 }), {
      name: 'x_1',
      securityGroupId: 'sg-1',
      keyPairName: 'swarmup-x_1',
      tags: {},
    });
    expect([plain.bandwidth, plain.hostName, plain.dataDisk, plain.privateIp]).toEqual([
      1,
      undefined,
      { size: 50 },
      undefined,
    ]);
  });

  it('takes every value', () => {
    const s = settingsFrom({
      'aliyunecs-region': 'cn-beijing',
      'aliyunecs-zone': 'cn-beijing-b',
      'aliyunecs-image-id': 'img-1',
      'aliyunecs-instance-type': 'ecs.c6.xlarge',
      'aliyunecs-vpc-id': 'vpc-1',
      'aliyunecs-vswitch-id': 'vsw-1',
      'aliyunecs-security-group': 'web-sg',
      'aliyunecs-internet-max-bandwidth': 100,
      'aliyunecs-system-disk-size': 40,
      'aliyunecs-io-optimized': 'none',
      'aliyunecs-slb-id': 'lb-abc',
      'aliyunecs-tag': ['team=web', 'env=prod,tier=1'],
      'aliyunecs-admin-cidr': ['203.0.113.7', '198.51.100.0/24'],
      'aliyunecs-api-endpoint': 'https://ecs-vpc.cn-beijing.aliyuncs.com/',
    });
    expect(s).toMatchObject({
      regionId: 'cn-beijing',
      zoneId: 'cn-beijing-b',
      imageId: 'img-1',
      instanceType: 'ecs.c6.xlarge',
      vpcId: 'vpc-1',
      vswitchId: 'vsw-1',
      securityGroup: 'web-sg',
      bandwidth: 100,
      systemDiskSize: 40,
      ioOptimized: 'none',
      slbId: 'lb-abc',
      tags: { team: 'web', env: 'prod', tier: '1' },
      adminCidrs: ['203.0.113.7/32', '198.51.100.0/24'],
      endpoint: 'https://ecs-vpc.cn-beijing.aliyuncs.com',
    });
  });

  it.each([
    [{ 'aliyunecs-internet-max-bandwidth': 0 }, /--aliyunecs-internet-max-bandwidth "0": expected 1 to 100/],
    [{ 'aliyunecs-internet-max-bandwidth': 101 }, /expected 1 to 100/],
    [{ 'aliyunecs-system-disk-size': 10 }, /--aliyunecs-system-disk-size "10": expected 20 to 500/],
    [{ 'aliyunecs-io-optimized': 'fast' }, /use optimized or none/],
    [{ 'aliyunecs-region': 'Hangzhou!' }, /invalid --aliyunecs-region/],
    [{ 'aliyunecs-api-endpoint': 'ftp://x' }, /invalid --aliyunecs-api-endpoint/],
    [{ 'aliyunecs-api-endpoint': 'http://127.0.0.1:1/path' }, /http\(s\):\/\/host\[:port\]/],
    [{ 'aliyunecs-security-group': '-bad' }, /invalid --aliyunecs-security-group/],
    [{ 'aliyunecs-tag': ['novalue'] }, /invalid --aliyunecs-tag "novalue": expected key=value/],
    [{ 'aliyunecs-tag': ['aliyun-x=1'] }, /may not start with aliyun/],
    [{ 'aliyunecs-tag': ['swarmup-cluster=x'] }, /swarmup-\* tags are swarmup's own/],
    [{ 'aliyunecs-admin-cidr': ['10.0.0.0/33'] }, /invalid --aliyunecs-admin-cidr "10.0.0.0\/33"/],
    [{ 'aliyunecs-admin-cidr': ['300.1.1.1'] }, /invalid --aliyunecs-admin-cidr/],
    [{ 'aliyunecs-description': 'https://x' }, /invalid --aliyunecs-description "https:\/\/x": 2 to 256/],
    [{ 'aliyunecs-disk-size': 10 }, /--aliyunecs-disk-size "10": expected 20 to 32768/],
    [{ 'aliyunecs-disk-size': 3000, 'aliyunecs-disk-category': 'cloud' }, /expected 5 to 2000/],
    [{ 'aliyunecs-disk-category': 'cloud_ssd' }, /--aliyunecs-disk-category needs --aliyunecs-disk-size/],
    [
      { 'aliyunecs-disk-size': 40, 'aliyunecs-disk-category': 'nvme' },
      /invalid --aliyunecs-disk-category "nvme"/,
    ],
    [
      { 'aliyunecs-system-disk-category': 'tape' },
      /invalid --aliyunecs-system-disk-category "tape": use one of cloud/,
    ],
    [{ 'aliyunecs-internet-charge-type': 'monthly' }, /use PayByTraffic or PayByBandwidth/],
    [{ 'aliyunecs-private-ip': '10.0.0.300', 'aliyunecs-vswitch-id': 'v' }, /invalid --aliyunecs-private-ip/],
    [{ 'aliyunecs-private-ip': '10.0.0.3' }, /--aliyunecs-private-ip needs --aliyunecs-vswitch-id/],
    [{ 'aliyunecs-ssh-keypair': 'team-key' }, /--aliyunecs-ssh-keypair needs --aliyunecs-ssh-keypath/],
    [
      { 'aliyunecs-ssh-password': 'Hunter2' },
      /invalid --aliyunecs-ssh-password \(ECS_SSH_PASSWORD\): it has 7 characters; Aliyun needs 8 to 30/,
    ],
    [{ 'aliyunecs-ssh-password': 'hunter2hunter2' }, /it has 2 of the four kinds of characters/],
    [{ 'aliyunecs-ssh-password': 'Hunter2 hunter' }, /it has a space or control character/],
    [{ 'aliyunecs-ssh-password': 'Hunter2"hunter' }, /it has a character Aliyun does not allow/],
    [{ 'aliyunecs-ssh-password': `Aa1${'x'.repeat(28)}` }, /it has 31 characters/],
  ])('rejects %j with one clear line', (flags, re) => {
    let err: unknown;
    try {
      settingsFrom({ ...emulator, ...flags });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('\n');
    const pw = flags['aliyunecs-ssh-password' as keyof typeof flags];
    if (typeof pw === 'string') expect((err as Error).message).not.toContain(pw);
  });

  it('takes a password Aliyun takes, for CreateInstance only, and names the variables it does not act on', () => {
    const passwords = [
      'Hunter2!',
      'hunter2!x',
      'HUNTER2+X',
      'Ab()`~!@#$%^&*-_+=|{}[]',
      "aB:;'<>,.?/",
      'Aa1' + 'x'.repeat(27),
    ];
    for (const pw of passwords) {
      const s = settingsFrom({ ...emulator, 'aliyunecs-ssh-password': pw });
      expect(s.sshPassword).toBe(pw);
      expect(
        instanceParams(s, { name: 'n1', securityGroupId: 'sg-1', keyPairName: 'k', tags: {} }).password,
      ).toBe(pw);
    }
    expect(settingsFrom(emulator).sshPassword).toBeUndefined();
    // docker-machine-aliyunecs's true/false for --aliyunecs-io-optimized (ECS_IO_OPTIMIZED=true).
    expect(settingsFrom({ ...emulator, 'aliyunecs-io-optimized': 'true' }).ioOptimized).toBe('optimized');
    expect(settingsFrom({ ...emulator, 'aliyunecs-io-optimized': 'FALSE' }).ioOptimized).toBe('none');
    expect(notActedOnWarning({})).toBeUndefined();
    expect(notActedOnWarning({ 'aliyunecs-upgrade-kernel': false })).toBeUndefined();
    const w = notActedOnWarning({
      'aliyunecs-upgrade-kernel': true,
      'aliyunecs-route-cidr': '192.168.200.0/24',
    })!;
    expect(w).toMatch(/^Warning: swarmup does not act on /);
    expect(w).toContain('--aliyunecs-upgrade-kernel (ECS_UPGRADE_KERNEL: ');
    expect(w).toContain('--aliyunecs-route-cidr (ECS_ROUTE_CIDR: ');
    expect(w).not.toContain('\n');
    // Accepted, not refused: a walkthrough that exports them still creates machines.
    expect(() => settingsFrom({ ...emulator, 'aliyunecs-route-cidr': '192.168.200.0/24' })).not.toThrow();
  });

  it('needs an admin range for the real API; an emulator (plain http) defaults to private ranges', () => {
    expect(adminCidrs({}, undefined)).toEqual([]);
    expect(adminCidrs({}, 'https://ecs-vpc.example')).toEqual([]);
    expect(() => requireAdminCidrs(settingsFrom({}))).toThrow(/--aliyunecs-admin-cidr is required/);
    const local = adminCidrs({}, 'http://127.0.0.1:9');
    expect(local).toContain('172.16.0.0/12');
    expect(local).not.toContain('0.0.0.0/0');
    expect(adminCidrs({ 'aliyunecs-admin-cidr': '1.2.3.4,1.2.3.4/32' }, undefined)).toEqual(['1.2.3.4/32']);
    expect(parseCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('names the security group per cluster, or per machine outside a cluster', () => {
    expect(securityGroupName({}, 'prod', 'm1')).toBe('swarmup-prod');
    expect(securityGroupName({}, undefined, 'm1')).toBe('swarmup-m1');
    expect(securityGroupName({ securityGroup: 'mine' }, 'prod', 'm1')).toBe('mine');
    expect(targetFrom({})).toEqual({ regionId: 'cn-hangzhou', endpoint: undefined });
  });

  it('names key pairs per machine and store, and keeps only valid host names', () => {
    expect(keyPairName('web-1', '0123456789abcdef')).toBe('swarmup-web-1-01234567');
    expect(keyPairName('web-1')).toBe('swarmup-web-1');
    expect(validHostName('ali1-manager-1')).toBe(true);
    expect(validHostName('a')).toBe(false);
    expect(validHostName('a..b')).toBe(false);
    expect(validHostName('-ab')).toBe(false);
  });
});

describe('aliyunecs credentials', () => {
  it('come from the flags, then ALIBABA_CLOUD_*, then the legacy ECS_* variables', () => {
    expect(credentialsFrom({})).toBeUndefined();
    process.env.ECS_ACCESS_KEY_ID = 'legacy-id';
    process.env.ECS_ACCESS_KEY_SECRET = 'legacy-secret';
    expect(credentialsFrom({})).toEqual({ accessKeyId: 'legacy-id', accessKeySecret: 'legacy-secret' });
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'new-id';
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'new-secret';
    expect(credentialsFrom({})).toEqual({ accessKeyId: 'new-id', accessKeySecret: 'new-secret' });
    expect(
      credentialsFrom({ 'aliyunecs-access-key-id': 'flag-id', 'aliyunecs-access-key-secret': 'flag-secret' }),
    ).toEqual({ accessKeyId: 'flag-id', accessKeySecret: 'flag-secret' });
  });

  it('missing: one line naming the variables', () => {
    expect(() => requireCredentials({})).toThrow(
      /^Aliyun credentials missing: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET/,
    );
  });
});

describe('aliyunecs tags', () => {
  it('encodes ECS tags as Tag.N pairs, filters, and the SLB JSON list', () => {
    expect(ecsTagParams({ a: '1', b: '' })).toEqual({
      Tag: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '' },
      ],
    });
    expect(ecsTagParams({})).toEqual({});
    expect(ecsTagFilter('swarmup-cluster')).toEqual({ Tag: [{ Key: 'swarmup-cluster' }] });
    expect(ecsTagFilter('swarmup-cluster', 'x')).toEqual({ Tag: [{ Key: 'swarmup-cluster', Value: 'x' }] });
    expect(JSON.parse(slbTagsJson({ 'swarmup-cluster': 'x' }))).toEqual([
      { TagKey: 'swarmup-cluster', TagValue: 'x' },
    ]);
  });

  it('reads tags back from either response shape', () => {
    expect(tagsOf({ Tags: { Tag: [{ TagKey: 'k', TagValue: 'v' }] } })).toEqual({ k: 'v' });
    expect(tagsOf({ Tags: [{ Key: 'k', Value: 'v' }] })).toEqual({ k: 'v' });
    expect(tagsOf({})).toEqual({});
  });

  it('turns membership labels into tags and puts swarmup tags last (they win)', () => {
    expect(labelTags({ 'swarmup.expires': '2030-01-01T00:00:00.000Z', team: 'web' })).toEqual({
      'swarmup-expires': '2030-01-01T00:00:00.000Z',
      team: 'web',
    });
    const t = resourceTags({
      user: parseUserTags(['env=prod']),
      cluster: { name: 'ali1', labels: { 'swarmup.expires': 'soon' } },
      role: 'worker',
      storeId: 'abc',
      machine: 'ali1-worker-1',
    });
    expect(t).toEqual({
      env: 'prod',
      'swarmup-expires': 'soon',
      'swarmup-cluster': 'ali1',
      'swarmup-role': 'worker',
      'swarmup-machine': 'ali1-worker-1',
      'swarmup-store': 'abc',
    });
  });

  it('refuses more than 20 tags on a resource', () => {
    const user = parseUserTags(Array.from({ length: 18 }, (_, i) => `k${i}=v`));
    expect(() => resourceTags({ user, role: 'worker', storeId: 's', machine: 'm' })).toThrow(
      /too many tags \(21\): Aliyun allows 20/,
    );
  });
});
