/**
 * The aliyunecs driver end to end against the Aliyun emulator with lab VMs behind its instances (fresh
 * Debian, no Docker: swarmup installs it over SSH): the real CLI builds a swarm, loads an image, runs a
 * host-mode global httpd, and `lb sync` puts an SLB in front of it that serves the page. A second sync
 * makes no mutating call; a removed service loses its listener; an adopted SLB keeps a listener that is
 * not ours; throttling and busy storms are waited out; a failed CreateInstance leaves nothing; and
 * `cluster down` leaves nothing but the SLB the test itself made, which the test removes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, bin, expectOneLineError, parseEnv, swarmup, tempDir, type Run } from './helpers.js';

const CLUSTER = 'ali1';
const WEB_PORT = 18191;
const API_PORT = 18195;
const WATCH_PORT = 18197;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: AliyunEmulator;
let slb: RPCClient;
let work: string;
let store: string;
let adoptedId = '';

const env = () => ({
  ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  DOCKER_HOST: labDockerHost,
});
const cli = (args: string[]) => swarmup(store, args, env());
const endpointFlags = () => ['--driver', 'aliyunecs', '--aliyunecs-api-endpoint', emu.endpoint];
const slbCall = (action: string, params: Json = {}) =>
  slb.request<Json>(action, { RegionId: emu.regionId, ...params }, { method: 'POST' });

function ok(r: Run): Run {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

async function clusterDocker(args: string): Promise<Run> {
  const e = ok(await cli(['cluster', 'env', CLUSTER]));
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

/** Retry until `fn` holds or `ms` pass (a bounded wait for convergence, not a sleep). */
async function eventually(what: string, fn: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  for (let wait = 100; !(await fn()); wait = Math.min(wait * 2, 2_000)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

const mutatingCalls = () => emu.requests().filter((r) => r.mutating);
const curl = (addr: string, port: number) => bash(`curl -s --max-time 2 http://${addr}:${port}/`);
const syncJson = async (extra: string[] = []) =>
  JSON.parse(ok(await cli(['lb', 'sync', '--cluster', CLUSTER, '--json', ...extra])).stdout) as Json;

/** Listeners of an SLB as `protocol/port description`. */
async function listenersOf(lbId: string): Promise<string[]> {
  const r = await slbCall('DescribeLoadBalancerListeners', { LoadBalancerId: [lbId], MaxResults: 100 });
  return (r.Listeners as Json[])
    .map((l) => `${l.ListenerProtocol}/${l.ListenerPort} ${l.Description}`)
    .sort();
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-aliyun-');
  store = join(work, 'store');
  emu = await startAliyunEmulator({
    backing: { image: 'vm' },
    addressPrefix: '127.88.7.',
    healthCheckScale: 0.25,
  });
  slb = new RPCClient({
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    endpoint: emu.endpoint,
    apiVersion: '2014-05-15',
  });
});

afterAll(async () => {
  await emu?.stop();
});

describe('a failed create', () => {
  it('is reported in one line and leaves nothing behind', async () => {
    expect(emu.resourceCount()).toBe(0);
    emu.inject({ kind: 'failAction', action: 'CreateInstance', count: 1 });
    const r = await cli(['cluster', 'up', 'ali2', ...endpointFlags(), '--managers', '1', '--workers', '0']);
    const last = expectOneLineError(r);
    expect(last).toMatch(
      /^Machines \(1\) failed: ali2-manager-1: Aliyun CreateInstance failed: InternalError: /,
    );
    expect(last).toContain('Nothing was left behind.');
    expect(r.stderr).not.toContain(emu.accessKeyId);
    expect(emu.resourceCount()).toBe(0);
    // From a store without the cluster: the endpoint comes from the environment, as for any sweep.
    ok(
      await swarmup(store, ['cluster', 'down', 'ali2', '--driver', 'aliyunecs'], {
        ...env(),
        ECS_API_ENDPOINT: emu.endpoint,
      }),
    );
    expect(emu.resourceCount()).toBe(0);
  });
});

describe(`cluster up ${CLUSTER} --driver aliyunecs --managers 1 --workers 2`, () => {
  it('builds a swarm on fresh VMs, Docker installed over SSH', async () => {
    const r = ok(
      await cli([
        'cluster',
        'up',
        CLUSTER,
        ...endpointFlags(),
        '--managers',
        '1',
        '--workers',
        '2',
        '--json',
      ]),
    );
    const result = JSON.parse(r.stdout);
    expect(result.created).toHaveLength(3);
    expect(r.stderr).toContain('Installing Docker');
    const ls = await clusterDocker(`node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'`);
    expect(
      ls.stdout
        .trim()
        .split('\n')
        .map((l) => l.trimEnd())
        .sort(),
    ).toEqual(['ali1-manager-1 Ready Leader', 'ali1-worker-1 Ready', 'ali1-worker-2 Ready']);
  });

  it('stores no credentials, keys 0600, and tags everything it made', async () => {
    for (const m of await readdir(join(store, 'machines'))) {
      const cfg = await readFile(join(store, 'machines', m, 'config.json'), 'utf8');
      expect(cfg).not.toContain(emu.accessKeySecret);
      expect(cfg).not.toContain(emu.accessKeyId);
      expect((await stat(join(store, 'machines', m, 'id_ed25519'))).mode & 0o777).toBe(0o600);
    }
    const rec = await readFile(join(store, 'clusters', `${CLUSTER}.json`), 'utf8');
    expect(rec).not.toContain(emu.accessKeySecret);
    const dump = emu.dump() as Json;
    expect(dump.instances).toHaveLength(3);
    for (const i of dump.instances) {
      const tags = Object.fromEntries(i.Tags.Tag.map((t: Json) => [t.TagKey, t.TagValue]));
      expect(tags['swarmup-cluster']).toBe(CLUSTER);
      expect(['manager', 'worker']).toContain(tags['swarmup-role']);
      expect(tags['swarmup-store']).toMatch(/^[0-9a-f]{16}$/);
    }
    const [sg] = dump.securityGroups;
    expect(sg.name).toBe(`swarmup-${CLUSTER}`);
    const rules = sg.rules.map(
      (r: Json) => `${r.IpProtocol} ${r.PortRange} ${r.SourceCidrIp || r.SourceGroupId}`,
    );
    expect(rules).toEqual(
      expect.arrayContaining([`tcp 2377/2377 ${sg.id}`, `udp 4789/4789 ${sg.id}`, `udp 7946/7946 ${sg.id}`]),
    );
    expect(rules.filter((r: string) => r.endsWith(' 0.0.0.0/0'))).toEqual([]);
    expect(dump.keyPairs).toHaveLength(3);
  });

  it('lb sync puts an SLB in front of a host-mode global httpd that serves the page', async () => {
    ok(await swarmup(store, ['image', 'load', '--cluster', CLUSTER, labImages.httpd], env()));
    const web = await clusterDocker(
      `service create -d --name web --mode global -p mode=host,published=${WEB_PORT},target=80 ${labImages.httpd}`,
    );
    expect(web.code, web.stderr).toBe(0);
    await eventually('web 3/3', async () =>
      (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`)).stdout.includes('web 3/3'),
    );
    // A Throttling storm on the way: retried with backoff, the command succeeds.
    emu.resetLog();
    emu.inject({ kind: 'code', code: 'Throttling', count: 5 });
    const r = ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(r.stdout).toContain(`+ create listener tcp/${WEB_PORT}`);
    expect(r.stdout).toContain('+ create load-balancer swarmup-ali1');
    expect(emu.requests().filter((x) => x.status !== 200)).toHaveLength(5);
    const status = JSON.parse(ok(await cli(['lb', 'status', '--cluster', CLUSTER, '--json'])).stdout);
    const address = status.loadBalancer.address as string;
    expect(address).toMatch(/^127\.88\.7\./);
    await eventually('the page through the SLB', async () =>
      (await curl(address, WEB_PORT)).stdout.includes('swarmup-lab httpd OK'),
    );
  });

  it('a second sync makes zero mutating calls', async () => {
    emu.resetLog();
    const r = ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(r.stdout).toBe('No changes.\n');
    expect(emu.requests().length).toBeGreaterThan(0);
    expect(mutatingCalls()).toEqual([]);
  });

  it('a new service gets a listener (through a ServiceIsConfiguring storm); removed, it loses it', async () => {
    // Host mode: the lab's nested engines have no working routing mesh (ingress) for published ports.
    const api = await clusterDocker(
      `service create -d --name api --mode global -p mode=host,published=${API_PORT},target=80 ${labImages.httpd}`,
    );
    expect(api.code, api.stderr).toBe(0);
    await eventually('api 3/3', async () =>
      (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`)).stdout.includes('api 3/3'),
    );
    emu.inject({ kind: 'code', code: 'ServiceIsConfiguring', count: 5, action: 'StartLoadBalancerListener' });
    const added = await syncJson();
    expect(added.steps.map((s: Json) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      `create security-rule tcp/${API_PORT}`,
      `create listener tcp/${API_PORT}`,
    ]);
    const lbId = added.loadBalancer.id as string;
    expect(await listenersOf(lbId)).toEqual(
      [`tcp/${WEB_PORT} swarmup/ali1/web`, `tcp/${API_PORT} swarmup/ali1/api`].sort(),
    );
    await eventually('the api page', async () =>
      (await curl(added.loadBalancer.address, API_PORT)).stdout.includes('swarmup-lab httpd OK'),
    );
    expect((await clusterDocker('service rm api')).code).toBe(0);
    const removed = await syncJson();
    expect(removed.steps.map((s: Json) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      `delete listener tcp/${API_PORT}`,
      `delete security-rule tcp/${API_PORT}`,
    ]);
    expect(await listenersOf(lbId)).toEqual([`tcp/${WEB_PORT} swarmup/ali1/web`]);
  });

  it('lb sync --watch follows the swarm: a new service gets its listener, a removed one loses it', async () => {
    const lbId = (await syncJson(['--dry-run'])).loadBalancer.id as string;
    const watch = spawn(process.execPath, [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch'], {
      env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    watch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code)));
    try {
      await eventually('the watch to start', async () => stderr.includes('Watching cluster'));
      const ws = await clusterDocker(
        `service create -d --name ws --mode global -p mode=host,published=${WATCH_PORT},target=80 ${labImages.httpd}`,
      );
      expect(ws.code, ws.stderr).toBe(0);
      await eventually('a listener for ws', async () =>
        (await listenersOf(lbId)).includes(`tcp/${WATCH_PORT} swarmup/ali1/ws`),
      );
      expect((await clusterDocker('service rm ws')).code).toBe(0);
      await eventually('the ws listener gone', async () => (await listenersOf(lbId)).length === 1);
    } finally {
      watch.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopped watching.');
  });

  it('an adopted SLB replaces ours and keeps its own listener', async () => {
    // The user's existing SLB, with a listener that is not swarmup's.
    const made = await slbCall('CreateLoadBalancer', {
      LoadBalancerName: 'company-lb',
      AddressType: 'internet',
    });
    adoptedId = made.LoadBalancerId;
    await slbCall('CreateLoadBalancerTCPListener', {
      LoadBalancerId: adoptedId,
      ListenerPort: 9000,
      BackendServerPort: 9000,
      Bandwidth: -1,
      Description: 'company listener',
    });
    const before = (await syncJson(['--dry-run'])).loadBalancer.id as string;
    // Converge with the SLB to adopt: no machine changes, the record now names it.
    const up = JSON.parse(
      ok(await cli(['cluster', 'up', CLUSTER, '--aliyunecs-slb-id', adoptedId, '--json'])).stdout,
    );
    expect(up.created).toEqual([]);
    const r = ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(r.stdout).toContain(`- delete load-balancer ${before} (replaced by ${adoptedId})`);
    expect(r.stdout).toContain(`+ create listener tcp/${WEB_PORT}`);
    expect(await listenersOf(adoptedId)).toEqual(
      [`tcp/${WEB_PORT} swarmup/ali1/web`, 'tcp/9000 company listener'].sort(),
    );
    await eventually('the page through the adopted SLB', async () =>
      (await curl(made.Address, WEB_PORT)).stdout.includes('swarmup-lab httpd OK'),
    );
    emu.resetLog();
    ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(mutatingCalls()).toEqual([]);
  });

  it('cluster down leaves nothing but the adopted SLB and its own listener', async () => {
    ok(await cli(['cluster', 'down', CLUSTER]));
    const dump = emu.dump() as Json;
    expect(dump.instances).toEqual([]);
    expect(dump.securityGroups).toEqual([]);
    expect(dump.keyPairs).toEqual([]);
    expect(dump.loadBalancers.map((lb: Json) => lb.LoadBalancerId)).toEqual([adoptedId]);
    expect(await listenersOf(adoptedId)).toEqual(['tcp/9000 company listener']);
    expect(dump.loadBalancers[0].BackendServers.BackendServer).toEqual([]);
    expect(emu.resourceCount()).toBe(2);
    await slbCall('DeleteLoadBalancer', { LoadBalancerId: adoptedId });
    expect(emu.resourceCount()).toBe(0);
    expect(ok(await cli(['cluster', 'ls', '--json'])).stdout.trim()).toBe('[]');
  });
});
