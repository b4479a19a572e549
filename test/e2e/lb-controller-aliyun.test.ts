/**
 * `swarmup lb controller` on the Aliyun emulator, listening on the lab network, with a RAM role the
 * cluster's instances are made with (`--aliyunecs-ram-role`): the controller inside a lab VM's
 * engine signs with the STS credentials the emulator's metadata service hands its instance (short
 * lived here, so it renews them while the test runs), and the gateway takes them only with their
 * token. With no swarmup process on the host, the docker CLI alone: a published port gets an SLB
 * listener that carries traffic, `--publish-rm` takes it away, draining the controller's node moves
 * it (the old task ends on SIGTERM with exit 0) and it keeps reconciling; throttling and
 * ServiceUnavailable are retried with growing waits. Then the AccessKey as two swarm secrets (never shown in the service,
 * its logs or swarmup's debug output), and `cluster down` leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { labDockerHost, labImages, labUp, vmContainer } from '../lab/lab.js';
import { bash, eventually, swarmup, tempDir } from './helpers.js';
import { ControllerCluster, expectBackoff, expectNoSecrets, ok } from './controller.js';

const CLUSTER = 'ctla';
const ROLE = 'swarmup-lb';
const P1 = 18521;
const P2 = 18523;
const P3 = 18525;
const HOST = '172.29.0.1';
const WAIT = 90_000;
/** STS credentials last this long: the controller renews them a third of it before they end. */
const STS_TTL_S = 45;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: AliyunEmulator;
let slb: RPCClient;
let store: string;
let work: string;
let c: ControllerCluster;

const env = (): NodeJS.ProcessEnv => ({
  ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  SWARMUP_ALIYUN_METADATA_ENDPOINT: emu.metadataEndpoint,
  SWARMUP_LB_HEALTH_IMAGE: labImages.httpd,
  DOCKER_HOST: labDockerHost,
});
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => swarmup(store, args, { ...env(), ...extra });

async function listener(port: number): Promise<{ address: string } | undefined> {
  const lbs = (
    await slb.request<Json>('DescribeLoadBalancers', { RegionId: emu.regionId }, { method: 'POST' })
  ).LoadBalancers.LoadBalancer as Json[];
  const lb = lbs.find((l) => l.LoadBalancerName === `swarmup-${CLUSTER}`);
  if (!lb) return undefined;
  const ls = (
    await slb.request<Json>(
      'DescribeLoadBalancerListeners',
      { RegionId: emu.regionId, LoadBalancerId: [lb.LoadBalancerId], MaxResults: 100 },
      { method: 'POST' },
    )
  ).Listeners as Json[];
  return ls.some((l) => l.ListenerPort === port && l.ListenerProtocol === 'tcp')
    ? { address: lb.Address }
    : undefined;
}
const page = async (port: number) => {
  const l = await listener(port);
  return !!l && (await bash(`curl -s --max-time 2 http://${l.address}:${port}/`)).stdout.includes('httpd OK');
};
beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-ctl-ali-');
  store = join(work, 'store');
  emu = await startAliyunEmulator({
    backing: { image: 'vm' },
    addressPrefix: '127.88.12.',
    healthCheckScale: 0.25,
    host: HOST,
    ramRoles: [ROLE],
    stsTtlS: STS_TTL_S,
    metadata: { host: HOST },
  });
  slb = new RPCClient({
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    endpoint: emu.endpoint,
    apiVersion: '2014-05-15',
  });
  c = new ControllerCluster(cli, CLUSTER, store, work);
  await c.up([
    '--driver',
    'aliyunecs',
    '--aliyunecs-api-endpoint',
    emu.endpoint,
    '--aliyunecs-ram-role',
    ROLE,
  ]);
}, 900_000);

afterAll(async () => {
  if (!emu) return;
  await cli(['cluster', 'down', CLUSTER]).catch(() => undefined);
  await emu.stop();
});

describe('lb controller on the Aliyun emulator (RAM role, STS, lab VMs)', () => {
  it('install takes the instances’ RAM role; a role that does not exist is refused at create', async () => {
    const bad = await cli([
      'create',
      '-d',
      'aliyunecs',
      '--aliyunecs-api-endpoint',
      emu.endpoint,
      '--aliyunecs-ram-role',
      'nope',
      'ctla-extra',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/InvalidRamRole\.NotFound/);
    const r = ok(await c.install());
    expect(r.stderr).toMatch(
      /Controller swarmup-lb-controller installed on ctla-manager-1 .*credentials: ram-role/,
    );
    const s = await c.status();
    expect(s.service.credentials).toBe('ram-role');
    expect(s.status.ok).toBe(true);
    expect(emu.stsEvents().length).toBeGreaterThan(0);
  });

  it('with no swarmup process: a published port gets a listener that carries traffic, signed with the role’s STS key', async () => {
    const since = Date.now();
    await c.publish('web', P1);
    await eventually(() => page(P1), WAIT, `traffic through the SLB listener tcp/${P1}`);
    await c.expectNoSwarmup();
    const made = emu.requests().filter((e) => e.at >= since && e.mutating);
    expect(made.map((e) => e.path)).toContain('CreateLoadBalancerTCPListener');
    expect(
      made
        .filter((e) => !e.principal?.startsWith(`ram-role:${ROLE}@i-`))
        .map((e) => `${e.path} ${e.principal}`),
    ).toEqual([]);
    expect(await c.logs()).toMatch(new RegExp(`create listener tcp/${P1}`));
  });

  it('docker service update --publish-rm takes the listener away', async () => {
    ok(await c.docker(`service update -d --publish-rm mode=host,published=${P1},target=80 web`));
    await eventually(async () => !(await listener(P1)), WAIT, `listener tcp/${P1} removed`);
    expect(await c.logs()).toMatch(new RegExp(`delete listener tcp/${P1}`));
  });

  it('throttling and ServiceUnavailable are retried with growing waits, and the change lands', async () => {
    const since = Date.now();
    const action = 'CreateLoadBalancerTCPListener';
    emu.inject({ kind: 'code', code: 'Throttling', count: 2, action });
    emu.inject({ kind: 'code', code: 'ServiceUnavailable', count: 2, action });
    await c.publish('busy', P3);
    await eventually(() => page(P3), WAIT, `traffic through listener tcp/${P3} after throttling`);
    await c.expectNoSwarmup();
    const calls = emu.requests().filter((e) => e.at >= since && e.path === action);
    expect(calls.every((e) => e.principal?.startsWith(`ram-role:${ROLE}@i-`))).toBe(true);
    expectBackoff(calls, [400, 400, 503, 503, 200], 500);
    ok(await c.docker('service rm busy'));
    await eventually(async () => !(await listener(P3)), WAIT, `listener tcp/${P3} removed with its service`);
  });

  it('draining the controller’s node moves it; it keeps reconciling, renewing its STS credentials', async () => {
    await c.drainControllerTo('ctla-worker-1');
    await c.publish('api', P2);
    await eventually(() => page(P2), WAIT, `traffic through listener tcp/${P2} after the move`);
    // Credentials a third of their life from their end are renewed: more than one for the new node.
    const workerId = (JSON.parse(ok(await cli(['inspect', 'ctla-worker-1'])).stdout) as Json).Driver
      .InstanceId as string;
    await eventually(
      async () => emu.stsEvents().filter((e) => e.instance === workerId).length >= 2,
      STS_TTL_S * 1000 + 30_000,
      'STS credentials renewed by the controller',
    );
    expect((await c.status()).status.ok).toBe(true);
  });

  it('the AccessKey as swarm secrets: used, and never shown in the service, its logs or debug output', async () => {
    const r = ok(await c.install('--debug', '--credentials', 'secret'));
    // From here on only the new task runs (stop-first), and it has synced once.
    const since = Date.now();
    expect(r.stderr).toMatch(/Controller swarmup-lb-controller updated .*credentials: access-key/);
    ok(await c.docker(`service update -d --publish-rm mode=host,published=${P2},target=80 api`));
    await eventually(async () => !(await listener(P2)), WAIT, `listener tcp/${P2} removed`);
    const made = emu.requests().filter((e) => e.at >= since && e.mutating && e.path.includes('Listener'));
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((e) => e.principal !== 'access-key').map((e) => `${e.path} ${e.principal}`)).toEqual(
      [],
    );
    const inspect = ok(await c.docker('service inspect swarmup-lb-controller')).stdout;
    expect(inspect).toMatch(/swarmup-lb-controller-aliyun-access-key-secret-/);
    expectNoSecrets(
      {
        'docker service inspect': inspect,
        'controller logs': await c.logs(),
        'swarmup --debug': r.stdout + r.stderr,
      },
      [emu.accessKeySecret],
    );
    for (const text of [inspect, await c.logs(), r.stderr]) {
      expect(text).not.toMatch(/CAIS[A-Za-z0-9+/]{20}/); // an STS security token
      expect(text).not.toMatch(/SecurityToken=/);
    }
  });

  it('cluster down removes the controller first, then everything: nothing is left', async () => {
    const vms = ((emu.dump() as Json).instances as Json[]).map((i) => vmContainer(i.VmName as string));
    await c.downLeavesNothing(vms, () => emu.resourceCount());
  });
});
