/**
 * The aliyunecs driver end to end against the Aliyun emulator with lab VMs behind its instances (fresh
 * Debian, no Docker: swarmup installs it over SSH): the real CLI builds a swarm, loads an image, runs a
 * host-mode global httpd, and `lb sync` puts an SLB in front of it that serves the page, through a
 * Throttling storm on reads and on a listener create, and a CreateLoadBalancer whose answer is lost
 * (retried with its ClientToken: one SLB). Everything made is tagged. A second sync makes no mutating
 * call, nor does `lb sync --dry-run`; `lb status` shows listeners, health and sync state; a removed
 * service loses its listener; `lb rm` takes our SLB and its listeners away and `cluster down` does too,
 * leaving nothing. A failed CreateInstance leaves nothing; a StartInstance that fails after it was
 * accepted leaves what `cluster down` removes. A one-node cluster adopts an SLB of the user's, which
 * keeps its own listener through `cluster down`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { labDockerHost, labImages, labUp } from '../lab/lab.js';
import {
  bash,
  bin,
  eventually,
  expectOneLineError,
  parseEnv,
  swarmup,
  tempDir,
  type Run,
} from './helpers.js';

const CLUSTER = 'ali1';
/** A one-node cluster that comes up beside ali1 and adopts an SLB of the user's. */
const ADOPTER = 'ali4';
const WEB_PORT = 18191;
const ADOPT_PORT = 18193;
const API_PORT = 18195;
const WATCH_PORT = 18197;
const DRY_PORT = 18199;
const SWARM_WAIT_MS = 90_000;

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

async function clusterDocker(args: string, cluster = CLUSTER): Promise<Run> {
  const e = ok(await cli(['cluster', 'env', cluster]));
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

/** A global httpd published in host mode on `port`, running on every node of the cluster. */
async function globalHttpd(name: string, port: number, nodes: number, cluster = CLUSTER): Promise<void> {
  const r = await clusterDocker(
    `service create -d --name ${name} --mode global -p mode=host,published=${port},target=80 ${labImages.httpd}`,
    cluster,
  );
  expect(r.code, r.stderr).toBe(0);
  await eventually(
    async () =>
      (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`, cluster)).stdout.includes(
        `${name} ${nodes}/${nodes}`,
      ),
    SWARM_WAIT_MS,
  );
}

const mutatingCalls = () => emu.requests().filter((r) => r.mutating);
const statuses = (action: string) =>
  emu
    .requests()
    .filter((r) => r.path === action)
    .map((r) => r.status);
const tagsOf = (tags: Json[]) => Object.fromEntries(tags.map((t) => [t.TagKey, t.TagValue]));
/** The emulator's instances, groups and key pairs of one cluster (by its tag). */
function resourcesOf(cluster: string): { instances: Json[]; groups: Json[]; keyPairs: Json[] } {
  const d = emu.dump() as Json;
  return {
    instances: d.instances.filter((i: Json) => tagsOf(i.Tags.Tag)['swarmup-cluster'] === cluster),
    groups: d.securityGroups.filter((g: Json) => g.tags['swarmup-cluster'] === cluster),
    keyPairs: d.keyPairs.filter((k: Json) => k.tags['swarmup-cluster'] === cluster),
  };
}
const pageVia = async (addr: string, port: number) =>
  (await curl(addr, port)).stdout.includes('swarmup-lab httpd OK');
const curl = (addr: string, port: number) => bash(`curl -s --max-time 2 http://${addr}:${port}/`);
const syncJson = async (extra: string[] = [], cluster = CLUSTER) =>
  JSON.parse(ok(await cli(['lb', 'sync', '--cluster', cluster, '--json', ...extra])).stdout) as Json;

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

describe('a start that fails after it was accepted', () => {
  it('is reported in one line; cluster down removes what --retain kept', async () => {
    expect(emu.resourceCount()).toBe(0);
    emu.resetLog();
    emu.inject({ kind: 'failAction', action: 'StartInstance', count: 1 });
    const r = await cli([
      'cluster',
      'up',
      'ali3',
      ...endpointFlags(),
      '--managers',
      '1',
      '--workers',
      '0',
      '--retain',
      '--aliyunecs-description',
      'swarm node',
      '--aliyunecs-disk-size',
      '40',
      '--aliyunecs-disk-category',
      'cloud_essd',
      '--aliyunecs-internet-charge-type',
      'PayByBandwidth',
    ]);
    expect(expectOneLineError(r)).toMatch(
      /^Machines \(1\) failed: ali3-manager-1: instance i-\w+ failed to start \(it is Stopped again\)\. Run "swarmup cluster up" again/,
    );
    // The flags reached CreateInstance; the StartInstance was accepted, then the instance fell back.
    expect(emu.requests().find((x) => x.path === 'CreateInstance')!.params).toMatchObject({
      Description: 'swarm node',
      'DataDisk.1.Size': '40',
      'DataDisk.1.Category': 'cloud_essd',
      InternetChargeType: 'PayByBandwidth',
    });
    expect(statuses('StartInstance')).toEqual([200]);
    // The driver took its instance and key pair back; the cluster's security group stays (--retain).
    const left = emu.dump() as Json;
    expect([left.instances, left.keyPairs, left.securityGroups.map((g: Json) => g.name)]).toEqual([
      [],
      [],
      ['swarmup-ali3'],
    ]);
    ok(await cli(['cluster', 'down', 'ali3']));
    expect(emu.resourceCount()).toBe(0);
  });
});

describe(`cluster up ${CLUSTER} --driver aliyunecs --managers 1 --workers 2`, () => {
  it('builds a swarm on fresh VMs, Docker installed over SSH (a second cluster alongside)', async () => {
    const up = (name: string, workers: number) =>
      cli([
        'cluster',
        'up',
        name,
        ...endpointFlags(),
        '--managers',
        '1',
        '--workers',
        String(workers),
        '--json',
      ]);
    const [r, adopter] = (await Promise.all([up(CLUSTER, 2), up(ADOPTER, 0)])).map(ok);
    expect(JSON.parse(adopter.stdout).created).toEqual([`${ADOPTER}-manager-1`]);
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
    const mine = resourcesOf(CLUSTER);
    expect(mine.instances).toHaveLength(3);
    for (const i of mine.instances) {
      const tags = tagsOf(i.Tags.Tag);
      expect(['manager', 'worker']).toContain(tags['swarmup-role']);
      expect(tags['swarmup-store']).toMatch(/^[0-9a-f]{16}$/);
    }
    // Everything the emulator holds belongs to one of the two clusters.
    const adopter = resourcesOf(ADOPTER);
    expect(emu.resourceCount()).toBe(
      [mine, adopter].reduce((n, x) => n + x.instances.length + x.groups.length + x.keyPairs.length, 0),
    );
    const [sg] = mine.groups;
    expect(sg.name).toBe(`swarmup-${CLUSTER}`);
    expect(sg.tags).toMatchObject({ 'swarmup-cluster': CLUSTER, 'swarmup-role': 'firewall' });
    // Every swarm port, from the group itself (members only) and from nowhere else.
    const swarmPorts = ['2377/2377', '7946/7946', '4789/4789'];
    const swarmRules = sg.rules
      .filter((r: Json) => swarmPorts.includes(r.PortRange))
      .map((r: Json) => `${r.IpProtocol.toLowerCase()} ${r.PortRange} ${r.SourceGroupId || r.SourceCidrIp}`)
      .sort();
    expect(swarmRules).toEqual([
      `tcp 2377/2377 ${sg.id}`,
      `tcp 7946/7946 ${sg.id}`,
      `udp 4789/4789 ${sg.id}`,
      `udp 7946/7946 ${sg.id}`,
    ]);
    expect(sg.rules.filter((r: Json) => r.SourceCidrIp === '0.0.0.0/0')).toEqual([]);
    // One batch made the three (docs/drivers/aliyunecs.md): the instances are named by HostName and
    // tagged with the batch; its bootstrap key pair is gone once the batch is over.
    expect(mine.instances.map((i) => i.HostName).sort()).toEqual([
      'ali1-manager-1',
      'ali1-worker-1',
      'ali1-worker-2',
    ]);
    for (const i of mine.instances) expect(tagsOf(i.Tags.Tag)['swarmup-batch']).toMatch(/^[0-9a-f]{10}$/);
    expect(mine.keyPairs).toEqual([]);
  });

  it('lb sync puts an SLB in front of a host-mode global httpd that serves the page, through faults', async () => {
    ok(await swarmup(store, ['image', 'load', '--cluster', CLUSTER, labImages.httpd], env()));
    await globalHttpd('web', WEB_PORT, 3);
    emu.resetLog();
    // The first CreateLoadBalancer is carried out but its answer is lost (connection reset); a
    // Throttling storm hits a mutating call (the listener create) and the first reads.
    emu.inject({ kind: 'responseLost', action: 'CreateLoadBalancer', count: 1 });
    emu.inject({ kind: 'code', code: 'Throttling', count: 3, action: 'CreateLoadBalancerTCPListener' });
    emu.inject({ kind: 'code', code: 'Throttling', count: 2 });
    const r = ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(r.stdout).toContain(`+ create listener tcp/${WEB_PORT}`);
    expect(r.stdout).toContain('+ create load-balancer swarmup-ali1');
    expect(emu.requests().filter((x) => x.status !== 200)).toHaveLength(6);
    expect(statuses('CreateLoadBalancerTCPListener')).toEqual([400, 400, 400, 200]);
    // Retried with the same ClientToken, the lost create gave the same SLB back: exactly one exists.
    expect(statuses('CreateLoadBalancer')).toEqual([0, 200]);
    const creates = emu.requests().filter((x) => x.path === 'CreateLoadBalancer');
    expect(creates[1].params.ClientToken).toBe(creates[0].params.ClientToken);
    const [lb, ...more] = (emu.dump() as Json).loadBalancers;
    expect(more).toEqual([]);
    expect(tagsOf(lb.Tags.Tag)).toMatchObject({ 'swarmup-cluster': CLUSTER, 'swarmup-role': 'lb' });
    const status = JSON.parse(ok(await cli(['lb', 'status', '--cluster', CLUSTER, '--json'])).stdout);
    expect(status.loadBalancer.id).toBe(lb.LoadBalancerId);
    const address = status.loadBalancer.address as string;
    expect(address).toMatch(/^127\.88\.7\./);
    await eventually(() => pageVia(address, WEB_PORT), SWARM_WAIT_MS);
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
    await globalHttpd('api', API_PORT, 3);
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
    await eventually(() => pageVia(added.loadBalancer.address, API_PORT), SWARM_WAIT_MS);
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
    // No periodic re-sync: only the swarm's events can bring the changes, within seconds.
    const watch = spawn(
      process.execPath,
      [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch', '--resync', '3600'],
      {
        env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    watch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => stderr.includes("Following the manager's events."), 30_000);
      const ws = await clusterDocker(
        `service create -d --name ws --mode global -p mode=host,published=${WATCH_PORT},target=80 ${labImages.httpd}`,
      );
      expect(ws.code, ws.stderr).toBe(0);
      await eventually(
        async () => (await listenersOf(lbId)).includes(`tcp/${WATCH_PORT} swarmup/ali1/ws`),
        20_000,
        'the new listener',
      );
      expect((await clusterDocker('service rm ws')).code).toBe(0);
      await eventually(async () => (await listenersOf(lbId)).length === 1, 20_000, 'the listener removed');
    } finally {
      watch.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopped watching.');
    expect(stderr).not.toContain('reconnecting');
  });

  it("lb status shows the listeners, each backend's health and that it is in sync", async () => {
    const lbId = (await syncJson(['--dry-run'])).loadBalancer.id as string;
    // Health settles within a few checks; the text is read once it has.
    let out = '';
    await eventually(async () => {
      out = ok(await cli(['lb', 'status', '--cluster', CLUSTER])).stdout;
      return !/unavailable|abnormal/.test(out);
    }, 30_000);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe(`Load balancer: ${lbId} (swarmup-${CLUSTER})`);
    expect(lines[1]).toMatch(/^Address: +127\.88\.7\.\d+$/);
    expect(lines[2]).toMatch(/^Backends: +ali1-manager-1 ali1-worker-1 ali1-worker-2$/);
    expect(lines[3].split(/ {2,}/)).toEqual(['LISTENER', 'STATUS', 'OWNER', 'BACKEND PORT', 'HEALTH']);
    expect(lines[4].split(/ {2,}/)).toEqual([
      `tcp/${WEB_PORT}`,
      'running',
      'swarmup',
      String(WEB_PORT),
      'ali1-manager-1=normal ali1-worker-1=normal ali1-worker-2=normal',
    ]);
    expect(lines.at(-1)).toBe('In sync with the swarm.');
  });

  it('lb sync --dry-run shows a pending listener and makes zero mutating calls', async () => {
    // Published through the routing mesh: the plan needs the service, not its tasks.
    const dry = await clusterDocker(
      `service create -d --name dry -p published=${DRY_PORT},target=80 ${labImages.httpd}`,
    );
    expect(dry.code, dry.stderr).toBe(0);
    emu.resetLog();
    const r = ok(await cli(['lb', 'sync', '--cluster', CLUSTER, '--dry-run']));
    expect(r.stdout).toContain(`+ create listener tcp/${DRY_PORT}`);
    expect(r.stdout).toContain(`+ create security-rule tcp/${DRY_PORT}`);
    expect(emu.requests().length).toBeGreaterThan(0);
    expect(mutatingCalls()).toEqual([]);
    const pending = ok(await cli(['lb', 'status', '--cluster', CLUSTER]))
      .stdout.trimEnd()
      .split('\n');
    expect(pending.at(-1)).toBe(`2 changes pending: run "swarmup lb sync --cluster ${CLUSTER}".`);
    expect((await clusterDocker('service rm dry')).code).toBe(0);
  });

  it('lb rm takes our SLB away with its listeners and our published-port rules', async () => {
    const { id, address } = (await syncJson(['--dry-run'])).loadBalancer as Json;
    expect(await pageVia(address, WEB_PORT)).toBe(true);
    const r = ok(await cli(['lb', 'rm', '--cluster', CLUSTER]));
    expect(r.stderr).toContain(`Removed: load balancer ${id}, rule tcp/${WEB_PORT} of `);
    expect((emu.dump() as Json).loadBalancers).toEqual([]);
    const left = resourcesOf(CLUSTER);
    expect(left.groups[0].rules.filter((x: Json) => x.SourceCidrIp === '0.0.0.0/0')).toEqual([]);
    expect(left.instances).toHaveLength(3);
    expect(await pageVia(address, WEB_PORT)).toBe(false);
  });

  it('cluster down removes our own SLB with its listeners and everything else of the cluster', async () => {
    // lb sync makes a new SLB (a new create, a new ClientToken: not the deleted one's answer).
    const made = await syncJson();
    expect(made.steps.map((x: Json) => `${x.op} ${x.kind}`)).toContain('create load-balancer');
    const lbId = made.loadBalancer.id as string;
    expect(await listenersOf(lbId)).toEqual([`tcp/${WEB_PORT} swarmup/ali1/web`]);
    await eventually(() => pageVia(made.loadBalancer.address, WEB_PORT), SWARM_WAIT_MS);
    const r = ok(await cli(['cluster', 'down', CLUSTER]));
    expect(r.stderr).toContain(`Deleting load balancer ${lbId}...`);
    expect(resourcesOf(CLUSTER)).toEqual({ instances: [], groups: [], keyPairs: [] });
    expect((emu.dump() as Json).loadBalancers).toEqual([]);
    expect(await pageVia(made.loadBalancer.address, WEB_PORT)).toBe(false);
    // The other cluster is untouched: its instance, group and key pair are all that is left.
    const other = resourcesOf(ADOPTER);
    expect([other.instances.length, other.groups.length, other.keyPairs.length]).toEqual([1, 1, 1]);
    expect(emu.resourceCount()).toBe(3);
    const ls = JSON.parse(ok(await cli(['cluster', 'ls', '--json'])).stdout) as Json[];
    expect(ls.map((c) => c.name)).toEqual([ADOPTER]);
  });
});

describe(`${ADOPTER}, one node, adopting an SLB of the user's (--aliyunecs-slb-id)`, () => {
  it('replaces our SLB by the adopted one, which serves the page and keeps its own listener', async () => {
    ok(await swarmup(store, ['image', 'load', '--cluster', ADOPTER, labImages.httpd], env()));
    await globalHttpd('web', ADOPT_PORT, 1, ADOPTER);
    const ours = (await syncJson([], ADOPTER)).loadBalancer.id as string;
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
    // Converge with the SLB to adopt: no machine changes, the record now names it.
    const up = JSON.parse(
      ok(await cli(['cluster', 'up', ADOPTER, '--aliyunecs-slb-id', adoptedId, '--json'])).stdout,
    );
    expect(up.created).toEqual([]);
    const r = ok(await cli(['lb', 'sync', '--cluster', ADOPTER]));
    expect(r.stdout).toContain(`- delete load-balancer ${ours} (replaced by ${adoptedId})`);
    expect(r.stdout).toContain(`+ create listener tcp/${ADOPT_PORT}`);
    expect(await listenersOf(adoptedId)).toEqual(
      [`tcp/${ADOPT_PORT} swarmup/ali4/web`, 'tcp/9000 company listener'].sort(),
    );
    // The adopted SLB is never tagged as ours.
    const adopted = ((emu.dump() as Json).loadBalancers as Json[]).find(
      (x) => x.LoadBalancerId === adoptedId,
    )!;
    expect(tagsOf(adopted.Tags.Tag)).toEqual({});
    await eventually(() => pageVia(made.Address, ADOPT_PORT), SWARM_WAIT_MS);
    emu.resetLog();
    ok(await cli(['lb', 'sync', '--cluster', ADOPTER]));
    expect(mutatingCalls()).toEqual([]);
  });

  it('cluster down leaves nothing but the adopted SLB and its own listener', async () => {
    ok(await cli(['cluster', 'down', ADOPTER]));
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
