/**
 * Aliyun emulator conformance through the real SDK (@alicloud/pop-core) with lab VMs behind instances:
 * signature/credential/nonce/timestamp refusals, an instance whose machine is made but never started
 * (unreachable) until StartInstance and then takes the imported key as root (same IP and host key after stop/start), an SLB listener that
 * carries no traffic until started and then serves a page from the VM, batch limits, idempotency, fault
 * injection, dependency errors, and stop() removing every VM.
 *
 * Replayed nonce: pop-core merges call parameters over its defaults, so `{SignatureNonce: fixed}` makes it
 * sign two requests with one nonce; the test also re-sends a captured URL (verbose client) byte for byte.
 * Stale timestamp: the same override with `{Timestamp: 20 minutes ago}`.
 * Backend web server: the lab VM image has no HTTP server, so the host's static /bin/busybox is copied in
 * with `docker cp` (lab engine) and `busybox httpd -p 8080 -h /tmp/www` runs through vmExec.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect } from 'node:net';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import RPCClient from '@alicloud/pop-core';
import { labDocker, labUp, vmContainer, vmExec } from '../lab/lab.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { ECS_VERSION, SLB_VERSION, withRegionId } from '../conformance/aliyun-definitions.js';
import { expectViolation } from '../conformance/recorder.js';
import { generateSshKey } from '../../src/ssh/keys.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { eventually, tempDir } from './helpers.js';
import { readFile } from 'node:fs/promises';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const REGION = 'cn-hangzhou';
const LISTENER_PORT = 18480;
const PAGE = 'hello from an emulated ECS instance';

let emu: AliyunEmulator;
let ecs: RPCClient;
let slb: RPCClient;
let work: string;
let keyPath: string;
let publicKey: string;
let instanceId = '';
let instanceIp = '';
let sgId = '';
let stopped = false;

/** RegionId where the action's definition has one; names sent exactly as written (no pop-core casing). */
const ecsCall = (action: string, params: Json = {}) =>
  ecs.request<Json>(action, withRegionId(ECS_VERSION, action, REGION, params), { formatParams: false });
const slbCall = (action: string, params: Json = {}) =>
  slb.request<Json>(action, withRegionId(SLB_VERSION, action, REGION, params), { formatParams: false });

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; data?: { Message?: string } };
    return { code: e.code ?? `no code: ${String(err)}`, message: e.data?.Message ?? '' };
  }
  return { code: 'no error', message: '' };
}
const codeOf = async (p: Promise<unknown>) => (await errorOf(p)).code;

async function instance(id: string): Promise<Json> {
  return (await ecsCall('DescribeInstances', { InstanceIds: JSON.stringify([id]) })).Instances.Instance[0];
}
const statusIs = (id: string, s: string) =>
  eventually(async () => (await instance(id)).Status === s, 90_000, `${id} ${s}`);

/** True when an SSH banner arrives within `ms`. */
function sshAnswers(ip: string, ms = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port: 22, timeout: ms });
    const timer = setTimeout(() => done(false), ms);
    function done(ok: boolean) {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    }
    s.once('data', (d: Buffer) => done(d.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

async function sshAsRoot(ip: string): Promise<string> {
  const t = await SshTransport.connect({
    host: ip,
    port: 22,
    user: 'root',
    privateKey: await readFile(keyPath),
    knownHostsPath: join(work, 'known_hosts'),
    connectDeadlineMs: 20_000,
  });
  try {
    const r = await t.exec('id -un && hostname');
    return r.stdout.trim();
  } finally {
    await t.close();
  }
}

async function httpGet(host: string, port: number): Promise<string> {
  try {
    const r = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(3000) });
    return r.ok ? await r.text() : `HTTP ${r.status}`;
  } catch {
    return 'no answer';
  }
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-ali-e2e-');
  keyPath = join(work, 'id_ed25519');
  publicKey = await generateSshKey(keyPath, 'ali-e2e');
  emu = await startAliyunEmulator({ backing: { image: 'vm' }, latencyMs: 200, healthCheckScale: 0.1 });
  const cfg = { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret, endpoint: emu.endpoint };
  ecs = new RPCClient({ ...cfg, apiVersion: '2014-05-26' });
  slb = new RPCClient({ ...cfg, apiVersion: '2014-05-15' });
});

afterAll(async () => {
  if (!stopped) await emu?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Aliyun emulator through pop-core', () => {
  it('refuses a wrong secret, an unknown key id, a replayed nonce and a stale timestamp', async () => {
    const cfg = { endpoint: emu.endpoint, apiVersion: '2014-05-26' };
    const wrongSecret = new RPCClient({
      ...cfg,
      accessKeyId: emu.accessKeyId,
      accessKeySecret: `${emu.accessKeySecret}x`,
    });
    expect(await codeOf(wrongSecret.request('DescribeRegions', {}))).toBe('SignatureDoesNotMatch');
    const unknown = new RPCClient({
      ...cfg,
      accessKeyId: 'LTAI5tNoSuchKey0000000',
      accessKeySecret: emu.accessKeySecret,
    });
    expect(await codeOf(unknown.request('DescribeRegions', {}))).toBe('InvalidAccessKeyId.NotFound');

    const nonce = `e2e-${Date.now()}`;
    expect(await codeOf(ecs.request('DescribeRegions', { SignatureNonce: nonce }))).toBe('no error');
    expect(await codeOf(ecs.request('DescribeRegions', { SignatureNonce: nonce }))).toBe(
      'SignatureNonceUsed',
    );
    // The verbose client returns the exact URL it sent; replaying it byte for byte is refused too.
    const Verbose = RPCClient as unknown as new (c: object, verbose: boolean) => RPCClient;
    const verbose = new Verbose(
      { ...cfg, accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret },
      true,
    );
    const [, entry] = await verbose.request<[Json, { url: string }]>('DescribeRegions', {});
    const replay = (await (await fetch(entry.url)).json()) as Json;
    expect(replay.Code).toBe('SignatureNonceUsed');

    const stale = new Date(Date.now() - 20 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(await codeOf(ecs.request('DescribeRegions', { Timestamp: stale }))).toBe(
      'InvalidTimeStamp.Expired',
    );
  });

  it('keeps a CreateInstance machine unreachable until StartInstance, then lets the key pair in as root', async () => {
    await ecsCall('ImportKeyPair', { KeyPairName: 'e2e-key', PublicKeyBody: publicKey });
    sgId = (await ecsCall('CreateSecurityGroup', { SecurityGroupName: 'e2e-sg' })).SecurityGroupId;
    await ecsCall('AuthorizeSecurityGroup', {
      SecurityGroupId: sgId,
      Permissions: [{ IpProtocol: 'tcp', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' }],
    });
    instanceId = (
      await ecsCall('CreateInstance', {
        ImageId: 'debian_12_6_x64_20G_alibase_20240823.vhd',
        InstanceType: 'ecs.g6.large',
        SecurityGroupId: sgId,
        KeyPairName: 'e2e-key',
        InstanceName: 'e2e-node',
        Tag: [{ Key: 'swarmup-cluster', Value: 'e2e' }],
      })
    ).InstanceId;
    await statusIs(instanceId, 'Stopped');
    instanceIp = (await ecsCall('AllocatePublicIpAddress', { InstanceId: instanceId })).IpAddress;
    expect(instanceIp).toMatch(/^172\.29\.\d+\.\d+$/);
    expect(await sshAnswers(instanceIp)).toBe(false);
    // The machine exists but has never run (not even briefly while Pending): created, never started.
    const state = await labDocker([
      'container',
      'inspect',
      '-f',
      '{{.State.Status}} {{.State.StartedAt}}',
      vmContainer(`ali-${instanceId}`),
    ]);
    expect(state.stdout.trim()).toBe('created 0001-01-01T00:00:00Z');

    await ecsCall('StartInstance', { InstanceId: instanceId });
    await statusIs(instanceId, 'Running');
    const inst = await instance(instanceId);
    expect(inst.PublicIpAddress.IpAddress).toEqual([instanceIp]);
    expect(inst.InnerIpAddress.IpAddress).toEqual([instanceIp]);
    expect(await sshAsRoot(instanceIp)).toBe(`root\nali-${instanceId}`);

    // Stop and start again: unreachable while stopped, then the same address and host key (pinned in
    // known_hosts by the first connection).
    await ecsCall('StopInstance', { InstanceId: instanceId });
    await statusIs(instanceId, 'Stopped');
    expect(await sshAnswers(instanceIp)).toBe(false);
    await ecsCall('StartInstance', { InstanceId: instanceId });
    await statusIs(instanceId, 'Running');
    expect((await instance(instanceId)).InnerIpAddress.IpAddress).toEqual([instanceIp]);
    expect(await sshAsRoot(instanceIp)).toBe(`root\nali-${instanceId}`);
  });

  it('refuses to delete a security group an instance uses', async () => {
    expect(await codeOf(ecsCall('DeleteSecurityGroup', { SecurityGroupId: sgId }))).toBe(
      'DependencyViolation',
    );
  });

  it('serves the backend page only once the listener is started', async () => {
    const cp = await labDocker([
      'cp',
      '-L',
      '/bin/busybox',
      `${vmContainer(`ali-${instanceId}`)}:/usr/local/bin/busybox`,
    ]);
    expect(cp.stderr).toBe('');
    const up = await vmExec(
      `ali-${instanceId}`,
      `mkdir -p /tmp/www && echo '${PAGE}' > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www`,
    );
    expect(up.code).toBe(0);

    const create = {
      LoadBalancerName: 'e2e-lb',
      ClientToken: `e2e-${instanceId}`,
      Tag: [{ Key: 'swarmup-cluster', Value: 'e2e' }],
    };
    const lb = await slbCall('CreateLoadBalancer', create);
    expect((await slbCall('CreateLoadBalancer', create)).LoadBalancerId).toBe(lb.LoadBalancerId);
    expect(
      (
        await slbCall('DescribeLoadBalancers', {
          Tags: JSON.stringify([{ TagKey: 'swarmup-cluster', TagValue: 'e2e' }]),
        })
      ).TotalCount,
    ).toBe(1);

    expectViolation({ field: 'BackendServers', problem: 'holds 21 items', why: 'the batch limit' });
    const tooMany = Array.from({ length: 21 }, () => ({ ServerId: instanceId, Weight: '100', Type: 'ecs' }));
    const refused = await errorOf(
      slbCall('AddBackendServers', {
        LoadBalancerId: lb.LoadBalancerId,
        BackendServers: JSON.stringify(tooMany),
      }),
    );
    expect(refused.code).toBe('InvalidParameter');
    expect(refused.message).toContain('cannot exceed 20');
    await slbCall('AddBackendServers', {
      LoadBalancerId: lb.LoadBalancerId,
      BackendServers: JSON.stringify([{ ServerId: instanceId, Weight: '100', Type: 'ecs' }]),
    });

    const listener = { LoadBalancerId: lb.LoadBalancerId, ListenerPort: LISTENER_PORT };
    await slbCall('CreateLoadBalancerTCPListener', {
      ...listener,
      BackendServerPort: 8080,
      Bandwidth: -1,
      Description: 'swarmup:e2e',
    });
    expect(
      await codeOf(
        slbCall('CreateLoadBalancerTCPListener', { ...listener, BackendServerPort: 8080, Bandwidth: -1 }),
      ),
    ).toBe('ListenerAlreadyExists');
    expect((await slbCall('DescribeLoadBalancerTCPListenerAttribute', listener)).Status).toBe('stopped');
    expect(await httpGet(lb.Address, LISTENER_PORT)).toBe('no answer');

    await slbCall('StartLoadBalancerListener', listener);
    await eventually(
      async () => (await httpGet(lb.Address, LISTENER_PORT)) === `${PAGE}\n`,
      90_000,
      'the page through the load balancer',
    );
    const health = await slbCall('DescribeHealthStatus', { LoadBalancerId: lb.LoadBalancerId });
    expect(health.BackendServers.BackendServer).toEqual([
      expect.objectContaining({
        ServerId: instanceId,
        ServerIp: instanceIp,
        Port: 8080,
        ServerHealthStatus: 'normal',
      }),
    ]);

    await slbCall('StopLoadBalancerListener', listener);
    expect(await httpGet(lb.Address, LISTENER_PORT)).toBe('no answer');
  });

  it('surfaces injected throttling as err.code', async () => {
    emu.inject({ kind: 'code', code: 'Throttling', count: 1, action: 'DescribeLoadBalancers' });
    expect(await codeOf(slbCall('DescribeLoadBalancers'))).toBe('Throttling');
    expect(await codeOf(slbCall('DescribeLoadBalancers'))).toBe('no error');
  });

  it('stop() removes every backing VM', async () => {
    const vms = ((emu.dump() as Json).instances as Json[]).map((i) => vmContainer(i.VmName as string));
    expect(vms).toEqual([vmContainer(`ali-${instanceId}`)]);
    stopped = true;
    await emu.stop();
    const left = await labDocker(['ps', '-a', '--format', '{{.Names}}', '--filter', `name=${vms[0]}`]);
    expect(left.stdout.trim()).toBe('');
  });
});
