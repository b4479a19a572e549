/**
 * `lb sync|status|rm --manager` on the Aliyun emulator, the way the swarm-mode-on-Aliyun walkthrough
 * goes: the `ECS_*` variables exported (with `ECS_SLB_ID` naming an SLB the user made beforehand
 * through the SDK), machines made one by one with `swarmup create -d aliyunecs`, a swarm made by hand
 * through `swarmup env` and the docker CLI, a host-mode service. swarmup adds its listener and the
 * nodes as backends to the user's SLB, traffic flows through it, and `lb rm --manager` takes only
 * swarmup's listener and backends away: the SLB and its own listener stay. `rm -y` leaves nothing
 * else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { labUp } from '../lab/lab.js';
import { bash, eventually, swarmup, tempDir, type Run } from './helpers.js';
import { handMadeSwarm, internalIp } from './hand-swarm.js';

const M = 'node-1';
const W = 'node-2';
const PORT = 18131;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: AliyunEmulator;
let slb: RPCClient;
let store: string;
let work: string;
let slbId = '';

/** The walkthrough's exports, pointed at the emulator. */
const ecsEnv = () => ({
  ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  ECS_API_ENDPOINT: emu.endpoint,
  ECS_REGION: emu.regionId,
  ECS_SLB_ID: slbId,
});
const cli = (args: string[]): Promise<Run> => swarmup(store, args, ecsEnv());
const slbCall = (action: string, params: Json = {}) =>
  slb.request<Json>(action, { RegionId: emu.regionId, ...params }, { method: 'POST' });

async function listenersOf(id: string): Promise<string[]> {
  const r = await slbCall('DescribeLoadBalancerListeners', { LoadBalancerId: [id], MaxResults: 100 });
  return (r.Listeners as Json[])
    .map((l) => `${l.ListenerProtocol}/${l.ListenerPort} ${l.Description}`)
    .sort();
}
const backendsOf = async (id: string): Promise<string[]> =>
  (
    (await slbCall('DescribeLoadBalancerAttribute', { LoadBalancerId: id })).BackendServers?.BackendServer ??
    []
  )
    .map((b: Json) => String(b.ServerId))
    .sort();

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-lbm-ali-');
  store = join(work, 'store');
  emu = await startAliyunEmulator({
    backing: { image: 'vm' },
    addressPrefix: '127.88.9.',
    healthCheckScale: 0.25,
  });
  slb = new RPCClient({
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    endpoint: emu.endpoint,
    apiVersion: '2014-05-15',
  });
  // The user's SLB, made beforehand, with a listener of its own.
  slbId = (await slbCall('CreateLoadBalancer', { LoadBalancerName: 'company-lb', AddressType: 'internet' }))
    .LoadBalancerId as string;
  await slbCall('CreateLoadBalancerTCPListener', {
    LoadBalancerId: slbId,
    ListenerPort: 9000,
    BackendServerPort: 9000,
    Bandwidth: -1,
    Description: 'company listener',
  });
  await Promise.all(
    [M, W].map(async (m) => {
      const r = await cli(['create', '-d', 'aliyunecs', m]);
      if (r.code !== 0) throw new Error(`create ${m}: ${r.stderr}`);
    }),
  );
  await handMadeSwarm({ sw: cli, work, manager: M, workers: [W], port: PORT, advertise: internalIp(cli) });
}, 900_000);

afterAll(async () => {
  if (!emu) return;
  await cli(['lb', 'rm', '--manager', M]).catch(() => undefined);
  await cli(['rm', '-y', '-f', M, W]).catch(() => undefined);
  await emu.stop();
});

describe('lb --manager on a hand-made swarm of aliyunecs machines, with the user’s SLB (ECS_SLB_ID)', () => {
  it('lb sync --manager adds a listener and the nodes to the user’s SLB; traffic flows through it', async () => {
    const r = await cli(['lb', 'sync', '--manager', M]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+ create listener tcp/${PORT}`);
    expect(r.stdout).not.toContain('create load-balancer');
    expect(r.stderr).toMatch(
      new RegExp(`Load balancer ${slbId} \\(127\\.88\\.9\\.\\d+\\) is in sync: 1 listener`),
    );
    expect(await listenersOf(slbId)).toEqual([`tcp/${PORT} swarmup/${M}/web`, 'tcp/9000 company listener']);
    const ids = await Promise.all(
      [M, W].map(async (m) => JSON.parse((await cli(['inspect', m])).stdout).Driver.InstanceId as string),
    );
    expect(await backendsOf(slbId)).toEqual([...ids].sort());
    const address = (await slbCall('DescribeLoadBalancerAttribute', { LoadBalancerId: slbId }))
      .Address as string;
    await eventually(
      async () =>
        (await bash(`curl -s --max-time 2 http://${address}:${PORT}/`)).stdout.includes(
          'swarmup-lab httpd OK',
        ),
      90_000,
      'traffic through the SLB',
    );
    emu.resetLog();
    expect((await cli(['lb', 'sync', '--manager', M])).stdout).toBe('No changes.\n');
    expect(emu.requests().filter((q) => q.mutating)).toEqual([]);
  });

  it('lb status --manager shows the adopted SLB, whose listener is whose, and that it is in sync', async () => {
    const r = await cli(['lb', 'status', '--manager', M, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Json;
    expect(s.manager).toBe(M);
    expect(s.loadBalancer).toMatchObject({ id: slbId, adopted: true });
    expect(s.inSync).toBe(true);
    expect(s.listeners.map((l: Json) => `${l.listener} ${l.owned ? 'swarmup' : 'other'}`).sort()).toEqual(
      [`tcp/${PORT} swarmup`, 'tcp/9000 other'].sort(),
    );
    expect(s.backends.map((b: Json) => b.node).sort()).toEqual([M, W]);
  });

  it('lb rm --manager takes only swarmup’s listener and backends; rm -y leaves only the user’s SLB', async () => {
    const r = await cli(['lb', 'rm', '--manager', M]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`listener tcp/${PORT} of ${slbId}`);
    expect(await listenersOf(slbId)).toEqual(['tcp/9000 company listener']);
    expect(await backendsOf(slbId)).toEqual([]);
    const rm = await cli(['rm', '-y', M, W]);
    expect(rm.code, rm.stderr).toBe(0);
    const d = emu.dump() as Json;
    expect(d.instances).toEqual([]);
    expect(d.securityGroups).toEqual([]);
    expect(d.keyPairs).toEqual([]);
    expect(d.loadBalancers.map((lb: Json) => lb.LoadBalancerId)).toEqual([slbId]);
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: slbId });
    expect(emu.resourceCount()).toBe(0);
  });
});
