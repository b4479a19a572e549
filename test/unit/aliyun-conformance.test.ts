/**
 * swarmup's Aliyun wrappers through the real @alicloud/pop-core against the Aliyun emulator (no VMs:
 * `backing: false`): signatures and credential redaction, the ECS calls a machine makes, security
 * groups, the SLB plan applied and re-planned (a no-op makes zero mutating calls), adoption rules,
 * and teardown by tags from nothing.
 */
import { mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AliyunClient, AliyunError, popTransports, type RetryPolicy } from '../../src/cloud/aliyun/client.js';
import { destroyCluster, discoverClusters, ensureClusterFirewall } from '../../drivers/aliyunecs/cluster.js';
import { AliyunDriver } from '../../drivers/aliyunecs/driver.js';
import {
  allocatePublicIpAddress,
  createInstance,
  deleteInstance,
  deleteKeyPairs,
  deleteSecurityGroup,
  describeInstances,
  describeKeyPairs,
  describeSecurityGroupRules,
  importKeyPair,
  privateIpOf,
  startInstance,
} from '../../src/cloud/aliyun/ecs.js';
import { ensureSecurityGroup, missingRules, wantedRules } from '../../src/cloud/aliyun/firewall.js';
import { hasStatus, started, waitInstance } from '../../drivers/aliyunecs/poller.js';
import {
  addBackendServers,
  createListener,
  createLoadBalancer,
  describeHealthStatus,
  describeListeners,
  describeLoadBalancerAttribute,
  describeLoadBalancers,
  setListenerAttribute,
  startListener,
} from '../../src/cloud/aliyun/slb.js';
import { resourceTags } from '../../src/cloud/aliyun/tags.js';
import type { Listener, SwarmNodeInfo } from '../../src/lb/model.js';
import { applySlb } from '../../src/lb/slb/apply.js';
import { HEALTH_CHECK, planSlb } from '../../src/lb/slb/plan.js';
import { clusterInstances, readCurrent, type SlbScope } from '../../src/lb/slb/read.js';
import { removeClusterLoadBalancer } from '../../src/lb/slb/remove.js';
import { generateSshKey } from '../../src/ssh/keys.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';

let emu: AliyunEmulator;
let c: AliyunClient;
let target: { regionId: string; endpoint: string };
const quiet = () => undefined;
const FAST: RetryPolicy = {
  attempts: 11,
  baseMs: 10,
  maxMs: 40,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
const POLL = { firstMs: 20, maxMs: 100 };

const mutating = () => emu.requests().filter((r) => r.mutating);
const calls = (action: string) => emu.requests().filter((r) => r.path === action).length;

/** Flags as `cluster down` passes them (credentials as flags: never stored, only in memory). */
const flags = () => ({
  'aliyunecs-api-endpoint': emu.endpoint,
  'aliyunecs-region': emu.regionId,
  'aliyunecs-access-key-id': emu.accessKeyId,
  'aliyunecs-access-key-secret': emu.accessKeySecret,
});

const failure = (p: Promise<unknown>): Promise<AliyunError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as AliyunError,
  );

async function group(cluster: string): Promise<string> {
  return ensureSecurityGroup(c, {
    name: `swarmup-${cluster}`,
    adminCidrs: ['203.0.113.7/32'],
    tags: resourceTags({ user: {}, cluster: { name: cluster, labels: {} }, role: 'firewall' }),
    cluster,
    log: quiet,
  });
}

/** Instances tagged with a cluster, Stopped (the state CreateInstance leaves them in), with private IPs. */
async function instances(cluster: string, n: number, sg: string) {
  const ids = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      createInstance(c, {
        imageId: 'debian_12_6_x64_20G_alibase_20240823.vhd',
        instanceType: 'ecs.g6.large',
        securityGroupId: sg,
        instanceName: `${cluster}-node-${i + 1}`,
        hostName: `${cluster}-node-${i + 1}`,
        keyPairName: undefined as unknown as string,
        bandwidth: 1,
        ioOptimized: 'optimized',
        tags: resourceTags({
          user: {},
          cluster: { name: cluster, labels: {} },
          role: 'worker',
          machine: `${cluster}-node-${i + 1}`,
        }),
      }),
    ),
  );
  await Promise.all(
    ids.map((id) => waitInstance(c, id, 'to be created', hasStatus('Stopped'), 30_000, POLL)),
  );
  return describeInstances(c, { instanceIds: ids });
}

const nodesOf = (insts: Awaited<ReturnType<typeof instances>>): SwarmNodeInfo[] =>
  insts.map((i, n) => ({
    id: `node${n}`,
    hostname: i.InstanceName!,
    role: n === 0 ? 'manager' : 'worker',
    ready: true,
    active: true,
    address: privateIpOf(i)!,
  }));

const listener = (
  port: number,
  service: string,
  protocol: 'tcp' | 'udp' = 'tcp',
  backendPort = port,
): Listener => ({
  protocol,
  port,
  backendPort,
  mode: 'ingress',
  services: [service],
  backends: [],
});

/** Where a cluster's SLB and group are (what the driver's cloud() gives the load balancer). */
const scopeOf = (cluster: string, adoptId?: string): SlbScope => ({
  cluster,
  adoptId,
  securityGroup: { name: `swarmup-${cluster}` },
});

async function sync(cluster: string, desired: Listener[], nodes: SwarmNodeInfo[], adoptId?: string) {
  const scope = scopeOf(cluster, adoptId);
  const current = await readCurrent(c, scope);
  const p = planSlb({
    cluster,
    desired,
    nodes,
    instances: await clusterInstances(c, cluster),
    current,
    adoptId,
  });
  if (p.plan.steps.length)
    await applySlb(c, current.lb, p, current.securityGroupId, { cluster, labels: {}, user: {}, log: quiet });
  return p;
}

beforeAll(async () => {
  emu = await startAliyunEmulator({ backing: false, latencyMs: 50 });
  target = { regionId: emu.regionId, endpoint: emu.endpoint };
  c = new AliyunClient(
    target,
    { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret },
    await popTransports(target, { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret }),
    FAST,
  );
});

afterAll(async () => {
  await emu?.stop();
});

describe('credentials', () => {
  it('a wrong secret is SignatureDoesNotMatch in one line without the key id (which the answer echoes)', async () => {
    const creds = { accessKeyId: emu.accessKeyId, accessKeySecret: 'not-the-secret' };
    const bad = new AliyunClient(target, creds, await popTransports(target, creds), FAST);
    const err = await failure(bad.ecs('DescribeInstances', { RegionId: emu.regionId }));
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.message).toMatch(/^Aliyun DescribeInstances failed: SignatureDoesNotMatch: /);
    expect(err.message).not.toContain(emu.accessKeyId);
    expect(err.message).not.toContain('not-the-secret');
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/Check ALIBABA_CLOUD_ACCESS_KEY_ID/);
  });

  it('an unknown key id is InvalidAccessKeyId.NotFound, not retried, key id not shown', async () => {
    const creds = { accessKeyId: 'LTAIunknownKeyId000000001', accessKeySecret: 'x' };
    const bad = new AliyunClient(target, creds, await popTransports(target, creds), FAST);
    emu.resetLog();
    const err = await failure(bad.slb('DescribeLoadBalancers', { RegionId: emu.regionId }));
    expect(err.code).toBe('InvalidAccessKeyId.NotFound');
    expect(err.message).not.toContain('LTAIunknownKeyId000000001');
    expect(emu.requests()).toHaveLength(1);
  });
});

describe('faults', () => {
  it('a Throttling storm is retried with backoff and the call succeeds', async () => {
    emu.resetLog();
    emu.inject({ kind: 'code', code: 'Throttling', count: 5 });
    await describeInstances(c, { tag: { key: 'swarmup-cluster', value: 'none' } });
    expect(emu.requests().map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 200]);
  });

  it('a create whose answer is lost is retried with its ClientToken: one SLB, even across lb syncs', async () => {
    const sg = await group('lost1');
    const nodes = nodesOf(await instances('lost1', 1, sg));
    emu.resetLog();
    emu.inject({ kind: 'responseLost', action: 'CreateLoadBalancer', count: 1 });
    await sync('lost1', [listener(80, 'web')], nodes);
    // The first call made the SLB, then the connection was reset; the retry got the same SLB back.
    expect(
      emu
        .requests()
        .filter((r) => r.path === 'CreateLoadBalancer')
        .map((r) => r.status),
    ).toEqual([0, 200]);
    const ours = () =>
      (
        emu.dump() as { loadBalancers: Array<{ LoadBalancerId: string; Tags: { Tag: unknown[] } }> }
      ).loadBalancers
        .filter((lb) => JSON.stringify(lb.Tags.Tag).includes('"lost1"'))
        .map((lb) => lb.LoadBalancerId);
    expect(ours()).toHaveLength(1);
    // Removed and made again: a new logical create, a new token, a new SLB (not the deleted one's answer).
    const [first] = ours();
    await removeClusterLoadBalancer(c, scopeOf('lost1'), quiet);
    expect(ours()).toEqual([]);
    emu.inject({ kind: 'responseLost', action: 'CreateLoadBalancer', count: 1 });
    await sync('lost1', [listener(80, 'web')], nodes);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]).not.toBe(first);
    await removeClusterLoadBalancer(c, scopeOf('lost1'), quiet, true);
    await destroyCluster('lost1', flags(), quiet);
  });

  it('InternalError is reported, not retried', async () => {
    emu.resetLog();
    emu.inject({ kind: 'failAction', action: 'CreateSecurityGroup', count: 1 });
    const err = await failure(
      ensureSecurityGroup(c, { name: 'swarmup-fail', adminCidrs: [], tags: {}, log: quiet }),
    );
    expect(err.code).toBe('InternalError');
    expect(calls('CreateSecurityGroup')).toBe(1);
    emu.clearFaults();
  });
});

describe('ECS calls of a machine', () => {
  it('key pair, group, instance (Stopped → public IP → Running), a failed start, force delete', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-ali-'));
    const pub = await generateSshKey(join(dir, 'id'));
    await importKeyPair(c, 'swarmup-m1-abc', pub, { 'swarmup-machine': 'm1', 'swarmup-cluster': 'ecs1' });
    expect((await failure(importKeyPair(c, 'swarmup-m1-abc', pub, {}))).code).toBe('KeyPair.AlreadyExist');
    expect(
      (await describeKeyPairs(c, { tag: { key: 'swarmup-cluster', value: 'ecs1' } })).map(
        (k) => k.KeyPairName,
      ),
    ).toEqual(['swarmup-m1-abc']);

    const sg = await group('ecs1');
    const rules = await describeSecurityGroupRules(c, sg);
    expect(missingRules(wantedRules(sg, ['203.0.113.7/32']), rules)).toEqual([]);

    const [inst] = await instances('ecs1', 1, sg);
    expect(inst.Status).toBe('Stopped');
    expect(await allocatePublicIpAddress(c, inst.InstanceId)).toBe(privateIpOf(inst));
    await startInstance(c, inst.InstanceId);
    const running = await waitInstance(
      c,
      inst.InstanceId,
      'to start',
      started(inst.InstanceId),
      30_000,
      POLL,
    );
    expect(running?.Status).toBe('Running');
    expect(running?.PublicIpAddress?.IpAddress).toEqual([privateIpOf(inst)]);

    // A start whose asynchronous part fails falls back to Stopped: reported, not waited out.
    const [other] = await instances('ecs1b', 1, sg);
    emu.inject({ kind: 'failAction', action: 'StartInstance', count: 1 });
    await startInstance(c, other.InstanceId);
    const err = await failure(
      waitInstance(c, other.InstanceId, 'to start', started(other.InstanceId), 30_000, POLL),
    );
    expect(err.message).toBe(`instance ${other.InstanceId} failed to start (it is Stopped again)`);

    expect(await deleteInstance(c, inst.InstanceId)).toBe(true);
    expect(await deleteInstance(c, inst.InstanceId)).toBe(false);
    expect(await deleteInstance(c, other.InstanceId)).toBe(true);
    // The group is busy while its instances are released: DependencyViolation is retried.
    emu.resetLog();
    expect(await deleteSecurityGroup(c, sg)).toBe(true);
    expect(
      emu
        .requests()
        .filter((r) => r.path === 'DeleteSecurityGroup')
        .map((r) => r.status)
        .at(-1),
    ).toBe(200);
    await deleteKeyPairs(c, ['swarmup-m1-abc', 'swarmup-gone']);
    expect(await describeKeyPairs(c, { name: 'swarmup-m1-abc' })).toEqual([]);
  });

  it("the user's key pair and key, no public address, and the instance flags go into CreateInstance; remove() keeps the user's key pair", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-ali-'));
    const userKey = join(dir, 'team_key');
    await importKeyPair(c, 'team-key', await generateSshKey(userKey, 'team'), {});
    const machineDir = join(dir, 'solo-1');
    await mkdir(machineDir);
    const ctx = { machineName: 'solo-1', machineDir, log: quiet, storeId: '0123456789abcdef' };
    const userFlags = {
      ...flags(),
      'aliyunecs-ssh-keypair': 'team-key',
      'aliyunecs-ssh-keypath': userKey,
      'aliyunecs-private-address-only': true,
      'aliyunecs-description': 'solo machine',
      'aliyunecs-disk-size': 40,
      'aliyunecs-disk-category': 'cloud_essd',
      'aliyunecs-system-disk-category': 'cloud_essd',
      'aliyunecs-internet-charge-type': 'PayByBandwidth',
      'aliyunecs-vpc-id': 'vpc-1',
      'aliyunecs-vswitch-id': 'vsw-1',
      'aliyunecs-private-ip': '127.66.250.9',
    };
    // One address cannot be every member's: refused for a cluster before anything is made.
    await expect(
      AliyunDriver.fromFlags(
        { ...ctx, cluster: { name: 'c', role: 'worker', labels: {} } },
        userFlags,
      ).preCreateCheck(),
    ).rejects.toThrow(/--aliyunecs-private-ip is one address for one machine/);
    const d = AliyunDriver.fromFlags(ctx, userFlags);
    await d.preCreateCheck();
    emu.resetLog();
    // The start is refused, so the create stops after CreateInstance (no SSH needed to see what it sent).
    emu.inject({ kind: 'code', code: 'InternalError', count: 1, action: 'StartInstance' });
    expect((await failure(d.create())).code).toBe('InternalError');
    const paths = emu.requests().map((r) => r.path);
    expect(paths).not.toContain('ImportKeyPair');
    expect(paths).not.toContain('AllocatePublicIpAddress');
    expect(emu.requests().find((r) => r.path === 'CreateInstance')!.params).toMatchObject({
      KeyPairName: 'team-key',
      InternetMaxBandwidthOut: '0',
      InternetChargeType: 'PayByBandwidth',
      Description: 'solo machine',
      'SystemDisk.Category': 'cloud_essd',
      'DataDisk.1.Size': '40',
      'DataDisk.1.Category': 'cloud_essd',
      'DataDisk.1.DeleteWithInstance': 'true',
      VSwitchId: 'vsw-1',
      PrivateIpAddress: '127.66.250.9',
    });
    expect(d.state).toMatchObject({
      KeyPairName: 'team-key',
      ExternalKeyPair: true,
      PrivateAddressOnly: true,
      SSHKeyPath: 'id_ssh',
    });
    expect((await stat(join(machineDir, 'id_ssh'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(machineDir, 'id_ssh'), 'utf8')).toBe(await readFile(userKey, 'utf8'));
    const [inst] = await describeInstances(c, { instanceIds: [d.state.InstanceId!] });
    expect(privateIpOf(inst)).toBe('127.66.250.9');

    await d.remove();
    expect(await describeInstances(c, { instanceIds: [d.state.InstanceId!] })).toEqual([]);
    expect((await describeKeyPairs(c, { name: 'team-key' })).map((k) => k.KeyPairName)).toEqual(['team-key']);
    await deleteKeyPairs(c, ['team-key']);
  });

  it('ensureClusterFirewall: a later process only reads, the same process asks once', async () => {
    const f = flags();
    await ensureClusterFirewall('fw1', f, quiet);
    emu.resetLog();
    await ensureClusterFirewall('fw1', f, quiet);
    expect(emu.requests()).toEqual([]);
    // Another process (a new client) finds the group complete: two reads, nothing else.
    const creds = { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret };
    const fresh = new AliyunClient(target, creds, await popTransports(target, creds), FAST);
    const req = {
      name: 'swarmup-fw1',
      adminCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8'],
      tags: {},
      cluster: 'fw1',
      log: quiet,
    };
    await ensureSecurityGroup(fresh, req);
    expect(emu.requests().map((r) => r.path)).toEqual([
      'DescribeSecurityGroups',
      'DescribeSecurityGroupAttribute',
    ]);
    await destroyCluster('fw1', f, quiet);
  });
});

describe('SLB through lb sync', () => {
  it('applies a plan (45 backends in batches of 20), then re-plans to nothing with zero mutating calls', async () => {
    const sg = await group('lb1');
    const insts = await instances('lb1', 45, sg);
    const nodes = nodesOf(insts);
    emu.resetLog();
    const first = await sync('lb1', [listener(80, 'web'), listener(53, 'dns', 'udp')], nodes);
    expect(first.createLb).toBe(true);
    expect(calls('AddBackendServers')).toBe(3);
    expect(calls('CreateLoadBalancerTCPListener')).toBe(1);
    expect(calls('CreateLoadBalancerUDPListener')).toBe(1);
    expect(calls('StartLoadBalancerListener')).toBe(2);
    expect(calls('AuthorizeSecurityGroup')).toBe(2);
    const [lb] = await describeLoadBalancers(c, { tags: { 'swarmup-cluster': 'lb1' } });
    const listeners = await describeListeners(c, lb.LoadBalancerId);
    expect(listeners.map((l) => [l.protocol, l.port, l.backendPort, l.status, l.description])).toEqual([
      ['udp', 53, 53, 'running', 'swarmup/lb1/dns'],
      ['tcp', 80, 80, 'running', 'swarmup/lb1/web'],
    ]);
    expect(listeners[1].healthCheck).toEqual(HEALTH_CHECK);
    // The interval goes as each action's definition spells it, and the emulator reads only that form.
    const sent = (action: string) => emu.requests().find((r) => r.path === action)!.params;
    expect(sent('CreateLoadBalancerTCPListener')).toMatchObject({
      healthCheckInterval: String(HEALTH_CHECK.intervalS),
    });
    expect(sent('CreateLoadBalancerTCPListener').HealthCheckInterval).toBeUndefined();
    const web = { protocol: 'tcp' as const, port: 80, backendPort: 80, description: 'swarmup/lb1/web' };
    await setListenerAttribute(c, lb.LoadBalancerId, {
      ...web,
      healthCheck: { ...HEALTH_CHECK, intervalS: 9 },
    });
    expect(sent('SetLoadBalancerTCPListenerAttribute')).toMatchObject({ HealthCheckInterval: '9' });
    expect(sent('SetLoadBalancerTCPListenerAttribute').healthCheckInterval).toBeUndefined();
    expect((await describeListeners(c, lb.LoadBalancerId))[1].healthCheck?.intervalS).toBe(9);
    await setListenerAttribute(c, lb.LoadBalancerId, { ...web, healthCheck: HEALTH_CHECK });
    expect(
      (await describeLoadBalancerAttribute(c, lb.LoadBalancerId))!.BackendServers!.BackendServer,
    ).toHaveLength(45);

    emu.resetLog();
    const again = await sync('lb1', [listener(80, 'web'), listener(53, 'dns', 'udp')], nodes);
    expect(again.plan.steps).toEqual([]);
    expect(mutating()).toEqual([]);
    expect(emu.requests().length).toBeLessThanOrEqual(7);

    // A changed backend port: SLB cannot update it, so the listener is deleted and created again;
    // a service gone: its listener and its rule go.
    emu.resetLog();
    const changed = await sync('lb1', [listener(80, 'web', 'tcp', 8080)], nodes.slice(0, 44));
    expect(changed.plan.steps.map((s) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      'delete listener udp/53',
      'delete listener tcp/80',
      `delete backend ${insts[44].InstanceName} (${insts[44].InstanceId})`,
      'delete security-rule udp/53',
      'create listener tcp/80',
    ]);
    expect(
      emu
        .requests()
        .filter((r) => r.mutating)
        .map((r) => r.path),
    ).toEqual([
      'DeleteLoadBalancerListener',
      'DeleteLoadBalancerListener',
      'RemoveBackendServers',
      'RevokeSecurityGroup',
      'CreateLoadBalancerTCPListener',
      'StartLoadBalancerListener',
    ]);
    expect(
      (await describeListeners(c, lb.LoadBalancerId)).map((l) => `${l.protocol}/${l.port}→${l.backendPort}`),
    ).toEqual(['tcp/80→8080']);
    const health = await describeHealthStatus(c, lb.LoadBalancerId);
    expect(health).toHaveLength(44);

    // cluster down: the load balancer first (src/lb/backends.ts), then the driver's sweep.
    expect(await removeClusterLoadBalancer(c, scopeOf('lb1'), quiet, true)).toEqual([
      `load balancer ${lb.LoadBalancerId}`,
    ]);
    expect(await destroyCluster('lb1', flags(), quiet)).toEqual(
      expect.arrayContaining([`security group ${sg}`]),
    );
    expect(await describeLoadBalancers(c, { tags: { 'swarmup-cluster': 'lb1' } })).toEqual([]);
  });

  it('a busy SLB (ServiceIsConfiguring, BackendServer.configuring) is waited out', async () => {
    const sg = await group('lb2');
    const nodes = nodesOf(await instances('lb2', 2, sg));
    emu.inject({ kind: 'code', code: 'ServiceIsConfiguring', count: 3, action: 'StartLoadBalancerListener' });
    emu.inject({ kind: 'code', code: 'BackendServer.configuring', count: 3, action: 'AddBackendServers' });
    emu.resetLog();
    await sync('lb2', [listener(8080, 'api')], nodes);
    expect(
      emu
        .requests()
        .filter((r) => r.path === 'StartLoadBalancerListener')
        .map((r) => r.status),
    ).toEqual([400, 400, 400, 200]);
    const [lb] = await describeLoadBalancers(c, { tags: { 'swarmup-cluster': 'lb2' } });
    expect((await describeListeners(c, lb.LoadBalancerId))[0].status).toBe('running');
    await removeClusterLoadBalancer(c, scopeOf('lb2'), quiet, true);
    await destroyCluster('lb2', flags(), quiet);
  });

  it('an adopted SLB keeps existing with its unowned listener and backends; only ours leave it', async () => {
    const sg = await group('lb3');
    const ours = await instances('lb3', 2, sg);
    const [stranger] = await instances('other', 1, await group('other'));
    const made = await createLoadBalancer(c, { name: 'company-lb', tags: { owner: 'someone' } });
    const adopted = made.LoadBalancerId;
    await createListener(c, adopted, {
      protocol: 'tcp',
      port: 9000,
      backendPort: 9000,
      description: 'company listener',
      healthCheck: HEALTH_CHECK,
    });
    await startListener(c, adopted, 9000, 'tcp');
    await addBackendServers(c, adopted, [stranger.InstanceId]);

    const p = await sync('lb3', [listener(80, 'web'), listener(9000, 'clash')], nodesOf(ours), adopted);
    expect(p.createLb).toBe(false);
    expect(p.plan.skipped.map((s) => s.name)).toEqual(['tcp/9000']);
    const after = await describeListeners(c, adopted);
    expect(after.map((l) => `${l.port} ${l.description}`)).toEqual([
      '80 swarmup/lb3/web',
      '9000 company listener',
    ]);

    const gone = await removeClusterLoadBalancer(c, scopeOf('lb3', adopted), quiet);
    expect(gone).toContain(`listener tcp/80 of ${adopted}`);
    const attr = await describeLoadBalancerAttribute(c, adopted);
    expect(attr).toBeDefined();
    expect(attr!.BackendServers!.BackendServer!.map((b) => b.ServerId)).toEqual([stranger.InstanceId]);
    expect((await describeListeners(c, adopted)).map((l) => l.description)).toEqual(['company listener']);

    // cluster down with the adopted SLB in its flags: the SLB and its own listener stay.
    await removeClusterLoadBalancer(c, scopeOf('lb3', adopted), quiet, true);
    await destroyCluster('lb3', { ...flags(), 'aliyunecs-slb-id': adopted }, quiet);
    expect(await describeLoadBalancerAttribute(c, adopted)).toBeDefined();
    await destroyCluster('other', flags(), quiet);
    await c.slb('DeleteLoadBalancer', { RegionId: emu.regionId, LoadBalancerId: adopted });
  });
});

describe('teardown by tags', () => {
  it('discovers clusters and removes everything they own, from nothing', async () => {
    const sg = await group('gone1');
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-ali-'));
    await importKeyPair(c, 'swarmup-gone1-manager-1-x', await generateSshKey(join(dir, 'id')), {
      'swarmup-cluster': 'gone1',
      'swarmup-expires': '2000-01-01T00:00:00.000Z',
    });
    await instances('gone1', 2, sg);
    await sync('gone1', [listener(80, 'web')], nodesOf(await instances('gone1x', 0, sg)));
    const found = await discoverClusters(flags());
    expect(found.find((d) => d.name === 'gone1')).toEqual({
      name: 'gone1',
      driver: 'aliyunecs',
      machines: ['gone1-node-1', 'gone1-node-2'],
      expiresAt: '2000-01-01T00:00:00.000Z',
    });
    // cluster down: the load balancer by its tag first (src/lb/backends.ts), then the driver's sweep.
    expect(await removeClusterLoadBalancer(c, scopeOf('gone1'), quiet, true)).toEqual([
      expect.stringMatching(/^load balancer /),
    ]);
    const gone = await destroyCluster('gone1', flags(), quiet);
    expect(gone.filter((g) => g.startsWith('instance '))).toHaveLength(2);
    expect(gone).toContain('key pair swarmup-gone1-manager-1-x');
    expect(gone).toContain(`security group ${sg}`);
    expect((await discoverClusters(flags())).map((d) => d.name)).not.toContain('gone1');
    expect(emu.resourceCount()).toBe(0);
  });

  it('finds nothing and calls nothing without credentials', async () => {
    emu.resetLog();
    expect(await discoverClusters({ 'aliyunecs-api-endpoint': emu.endpoint })).toEqual([]);
    expect(emu.requests()).toEqual([]);
  });
});
