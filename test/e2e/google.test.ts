/**
 * The google driver and the GCE load balancer against the GCE emulator with lab VMs behind its
 * instances (fresh Debian, no Docker: the provisioner installs docker.io over SSH), through the real
 * CLI and the real @google-cloud/compute SDK: a real swarm, a real TCP load balancer on loopback,
 * real health checks, faults, and a teardown that leaves nothing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ForwardingRulesClient, RegionOperationsClient, TargetPoolsClient } from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { Faults } from '../emulators/gce/faults.js';
import { labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, bin, eventually, expectOneLineError, parseEnv, swarmup, tempDir } from './helpers.js';
import type { RequestLogEntry } from '../emulators/gce/index.js';

const CLUSTER = 'gce1';
const PORT = 18101;
let emu: GceEmulator;
let store: string;
let work: string;

/** Every CLI call: the emulator, and the lab httpd image as the health service's image. */
const gflags = () => ['--google-endpoint', emu.endpoint, '--google-project', emu.project];
const env = () => ({ SWARMUP_LB_HEALTH_IMAGE: labImages.httpd });
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => swarmup(store, args, { ...env(), ...extra });

async function clusterDocker(args: string) {
  const e = await cli(['cluster', 'env', CLUSTER]);
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

async function machineDocker(machine: string, args: string) {
  const e = await cli(['env', machine]);
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

interface Dump {
  forwardingRules: Array<{
    name: string;
    portRange: string;
    IPAddress: string;
    description?: string;
    labels?: Record<string, string>;
  }>;
  httpHealthChecks: Array<{ name: string; port: number; requestPath: string }>;
  targetPools: Array<{ name: string; instances?: string[] }>;
  addresses: Array<{ name: string; labels?: Record<string, string> }>;
  firewalls: Array<{ name: string }>;
}
const dump = () => emu.dump() as Dump;
const ruleNames = () =>
  dump()
    .forwardingRules.map((r) => r.name)
    .sort();

/** An API request as `METHOD kind` (address, firewall, health-check, target-pool, forwarding-rule, ...). */
const KINDS: Array<[RegExp, string]> = [
  [/\/addresses(\/|$)/, 'address'],
  [/\/firewalls(\/|$)/, 'firewall'],
  [/\/httpHealthChecks(\/|$)/, 'health-check'],
  [/\/targetPools(\/|$)/, 'target-pool'],
  [/\/forwardingRules(\/|$)/, 'forwarding-rule'],
];
const callKind = (e: RequestLogEntry) =>
  `${e.method} ${KINDS.find(([re]) => re.test(e.path))?.[1] ?? e.path}`;
/** The mutating calls since the last resetLog, as kinds in order, neighbours of one kind merged. */
const mutationOrder = () =>
  emu
    .requests()
    .filter((e) => e.mutating)
    .map(callKind)
    .filter((k, i, all) => i === 0 || all[i - 1] !== k);
const requestIdOf = (e: RequestLogEntry) => new URLSearchParams(e.query ?? '').get('requestId');
const swarmServices = async () =>
  (await clusterDocker(`service ls --format '{{.Name}}'`)).stdout.trim().split('\n').filter(Boolean).sort();

async function lbStatus(): Promise<{
  address: string | null;
  healthyBackends: number | null;
  targetPool: { members: Array<{ instance: string; health: string }> } | null;
  inSync: boolean | null;
}> {
  const r = await cli(['lb', 'status', '--cluster', CLUSTER, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const page = (ip: string, port = PORT) => bash(`curl -s --max-time 2 http://${ip}:${port}/`);

/** Made with the SDK, not by swarmup: must survive every sync and cluster down. */
const sdk = () => {
  // Two copies of google-auth-library (ours and gax's) have the same shape but distinct class types.
  const o = {
    apiEndpoint: '127.0.0.1',
    port: emu.port,
    protocol: 'http',
    authClient: new PassThroughClient() as never,
  };
  const ops = new RegionOperationsClient(o);
  /** Wait for a regional operation to be DONE (wait may answer before). */
  const done = async (op: { latestResponse?: unknown }) => {
    let cur = op.latestResponse as { name?: string | null; status?: unknown; error?: unknown };
    while (cur.status !== 'DONE') {
      [cur] = await ops.wait({ project: emu.project, region: emu.region, operation: String(cur.name) });
    }
    expect(cur.error ?? null).toBeNull();
  };
  return { rules: new ForwardingRulesClient(o), pools: new TargetPoolsClient(o), done };
};

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-gce-');
  store = join(work, 'store');
  emu = await startGceEmulator({ backing: { image: 'vm' }, healthCheckScale: 0.25 });
});

afterAll(async () => {
  if (emu) {
    const sweep = { GOOGLE_ENDPOINT: emu.endpoint, GOOGLE_PROJECT: emu.project };
    await cli(['cluster', 'down', CLUSTER], sweep).catch(() => undefined);
    await cli(['cluster', 'down', 'gce2', '--driver', 'google'], sweep).catch(() => undefined);
    await emu.stop();
  }
});

describe('google driver + GCE load balancer (emulator, lab VMs)', () => {
  it('cluster up builds a swarm on fresh VMs (Docker installed over SSH) with member-only swarm ports', async () => {
    const r = await cli([
      'cluster',
      'up',
      CLUSTER,
      '--driver',
      'google',
      ...gflags(),
      '--managers',
      '1',
      '--workers',
      '2',
      '--google-labels',
      'team=edge',
      '--label',
      'env=ci',
      '--ttl',
      '2h',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const up = JSON.parse(r.stdout);
    expect(up.created).toHaveLength(3);
    expect(up.nodes.filter((n: { state: string }) => n.state === 'ready')).toHaveLength(3);
    const ls = await clusterDocker(`node ls --format '{{.Hostname}} {{.Status}}'`);
    expect(ls.stdout.trim().split('\n').sort()).toEqual([
      'gce1-manager-1 Ready',
      'gce1-worker-1 Ready',
      'gce1-worker-2 Ready',
    ]);
    // The zone goes into the state and onto the swarm node.
    const zone = await clusterDocker(
      `node inspect gce1-worker-1 --format '{{index .Spec.Labels "swarmup.zone"}}'`,
    );
    expect(zone.stdout.trim()).toBe('us-central1-a');
    const fw = (
      emu.dump() as {
        firewalls: Array<{
          name: string;
          sourceTags?: string[];
          targetTags?: string[];
          sourceRanges?: string[];
          allowed: unknown;
        }>;
      }
    ).firewalls;
    const swarm = fw.find((f) => f.name === 'swarmup-gce1-swarm')!;
    expect(swarm.sourceTags).toEqual(['swarmup-gce1']);
    expect(swarm.targetTags).toEqual(['swarmup-gce1']);
    expect(swarm.sourceRanges ?? []).toEqual([]);
    const admin = fw.find((f) => f.name === 'swarmup-gce1-admin')!;
    expect(admin.sourceRanges).not.toContain('0.0.0.0/0');
  });

  it('lb sync --dry-run prints the plan and changes nothing; --json gives the same plan as data', async () => {
    // Someone else's pool and rules, made with the SDK: one named with the cluster's prefix.
    const { rules, pools, done } = sdk();
    const region = emu.region;
    await done(
      (await pools.insert({ project: emu.project, region, targetPoolResource: { name: 'other-pool' } }))[0],
    );
    for (const [name, port] of [
      ['other-rule', 19000],
      ['swarmup-gce1-tcp19001', 19001],
    ] as const) {
      const [op] = await rules.insert({
        project: emu.project,
        region,
        forwardingRuleResource: {
          name,
          IPProtocol: 'TCP',
          portRange: `${port}-${port}`,
          target: `projects/${emu.project}/regions/${region}/targetPools/other-pool`,
        },
      });
      await done(op);
    }
    expect(ruleNames()).toEqual(['other-rule', 'swarmup-gce1-tcp19001']);

    const load = await cli(['image', 'load', '--cluster', CLUSTER, labImages.httpd], {
      DOCKER_HOST: labDockerHost,
    });
    expect(load.code, load.stderr).toBe(0);
    const web = await clusterDocker(
      `service create -d --name web --mode global -p mode=host,published=${PORT},target=80 ${labImages.httpd}`,
    );
    expect(web.code, web.stderr).toBe(0);
    await eventually(
      async () =>
        (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`)).stdout.includes('web 3/3'),
      90_000,
    );

    const before = emu.resourceCount();
    emu.resetLog();
    const plan = [
      'create swarm-service swarmup-lb-health',
      'create address swarmup-gce1-lb',
      'create firewall swarmup-gce1-lb',
      'create firewall swarmup-gce1-lb-health',
      'create health-check swarmup-gce1-lb',
      'create target-pool swarmup-gce1-lb',
      `create forwarding-rule swarmup-gce1-tcp${PORT}`,
    ];
    const dry = await cli(['lb', 'sync', '--cluster', CLUSTER, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('+ ')).map((l) => l.split(' ').slice(1, 4).join(' '))).toEqual(
      plan,
    );
    expect(lines[lines.length - 1]).toBe('Plan: 7 to create, 0 to update, 0 to delete.');
    expect(dry.stdout).toContain(
      `+ create forwarding-rule swarmup-gce1-tcp${PORT} tcp/${PORT} → swarmup-gce1-lb (web)`,
    );

    const json = await cli(['lb', 'sync', '--cluster', CLUSTER, '--dry-run', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout);
    expect(j).toMatchObject({
      cluster: CLUSTER,
      provider: 'gce',
      project: emu.project,
      region: emu.region,
      address: null,
      dryRun: true,
      warnings: [],
      changes: true,
      summary: { create: 7, update: 0, delete: 0 },
      skipped: [],
    });
    expect(
      j.steps.map((x: { op: string; kind: string; name: string }) => `${x.op} ${x.kind} ${x.name}`),
    ).toEqual(plan);
    expect(Object.keys(j.steps[0]).sort()).toEqual(['detail', 'kind', 'name', 'op']);

    // Reads only; nothing made in GCE or on the swarm.
    expect(emu.requests().length).toBeGreaterThan(0);
    expect(emu.requests().filter((e) => e.mutating)).toEqual([]);
    expect(emu.resourceCount()).toBe(before);
    expect(dump().addresses).toEqual([]);
    expect(dump().targetPools.map((p) => p.name)).toEqual(['other-pool']);
    expect(await swarmServices()).toEqual(['web']);
  });

  it('lb sync creates address → firewall → health check → pool → rules (request log), serves the page, labels like the instances, leaves unowned rules alone', async () => {
    emu.resetLog();
    const sync = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toContain(`+ create forwarding-rule swarmup-gce1-tcp${PORT}`);
    expect(mutationOrder()).toEqual([
      'POST address',
      'POST firewall',
      'POST health-check',
      'POST target-pool',
      'POST forwarding-rule',
    ]);
    const st = await lbStatus();
    expect(st.address).toMatch(/^127\.77\.0\.\d+$/);
    expect(ruleNames()).toEqual(['other-rule', `swarmup-gce1-tcp${PORT}`, 'swarmup-gce1-tcp19001']);
    const ours = dump().forwardingRules.find((r) => r.name === `swarmup-gce1-tcp${PORT}`)!;
    expect(ours.IPAddress).toBe(st.address);
    // The unowned rule with our prefix: not touched, still without an owner.
    expect(emu.requests().filter((e) => e.path.endsWith('/swarmup-gce1-tcp19001') && e.mutating)).toEqual([]);
    expect(dump().forwardingRules.find((r) => r.name === 'swarmup-gce1-tcp19001')?.description ?? '').toBe(
      '',
    );
    // --google-labels, the cluster's --label and its expiry (--ttl), and ownership labels.
    const want = {
      team: 'edge',
      env: 'ci',
      'swarmup-expires': expect.stringMatching(/^\d{10}$/),
      'swarmup-managed': 'true',
      'swarmup-cluster': 'gce1',
      'swarmup-role': 'lb',
    };
    expect(dump().addresses.find((a) => a.name === 'swarmup-gce1-lb')?.labels).toMatchObject(want);
    expect(ours.labels).toMatchObject(want);
    await eventually(async () => (await page(st.address!)).stdout.includes('swarmup-lab httpd OK'), 90_000);
  });

  it('the health check tells the truth about each node: its health service answers, or it does not', async () => {
    const hc = dump().httpHealthChecks.find((h) => h.name === 'swarmup-gce1-lb')!;
    expect(hc).toMatchObject({ port: 10256, requestPath: '/' });
    await eventually(async () => (await lbStatus()).healthyBackends === 3, 90_000);
    // Freeze worker-2's health server: that node stops answering, so GCE must call it unhealthy.
    const ps = await machineDocker(
      'gce1-worker-2',
      `ps -q --filter label=com.docker.swarm.service.name=swarmup-lb-health`,
    );
    const id = ps.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]+$/);
    expect((await machineDocker('gce1-worker-2', `pause ${id}`)).code).toBe(0);
    await eventually(async () => {
      const s = await lbStatus();
      return (
        s.healthyBackends === 2 &&
        !!s.targetPool?.members.some((m) => m.instance.endsWith('/gce1-worker-2') && m.health === 'UNHEALTHY')
      );
    }, 90_000);
    expect((await machineDocker('gce1-worker-2', `unpause ${id}`)).code).toBe(0);
    await eventually(async () => (await lbStatus()).healthyBackends === 3, 90_000);
  });

  it('a second lb sync is a no-op: zero mutating API calls', async () => {
    emu.resetLog();
    const r = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('No changes.');
    const log = emu.requests();
    expect(log.length).toBeGreaterThan(0);
    expect(log.filter((e) => e.mutating)).toEqual([]);
  });

  it('a drained node leaves the target pool; it comes back when active', async () => {
    expect((await clusterDocker('node update --availability drain gce1-worker-1')).code).toBe(0);
    const r = await cli(['lb', 'sync', '--cluster', CLUSTER, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).steps).toEqual([
      { op: 'update', kind: 'target-pool', name: 'swarmup-gce1-lb', detail: '-gce1-worker-1' },
    ]);
    const pool = dump().targetPools.find((p) => p.name === 'swarmup-gce1-lb')!;
    expect((pool.instances ?? []).map((i) => i.replace(/^.*\//, '')).sort()).toEqual([
      'gce1-manager-1',
      'gce1-worker-2',
    ]);
    expect((await clusterDocker('node update --availability active gce1-worker-1')).code).toBe(0);
    const back = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('+gce1-worker-1');
  });

  it('lb sync --watch follows the swarm events: a new service gets its rule within seconds (no periodic re-sync); Ctrl-C stops it', async () => {
    // The periodic re-sync is an hour away: only the service's event can make the rule appear in time.
    const child = spawn(
      process.execPath,
      [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch', '--resync', '3600'],
      {
        env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await eventually(async () => out.includes("Following the manager's events."), 30_000);
      expect(out).toContain('re-sync every 3600 s');
      const api = await clusterDocker(
        `service create -d --name api --mode global -p mode=host,published=18102,target=80 ${labImages.httpd}`,
      );
      expect(api.code, api.stderr).toBe(0);
      await eventually(async () => ruleNames().includes('swarmup-gce1-tcp18102'), 15_000);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped watching.');
    // No reconnect (which also syncs) happened: the event did it.
    expect(out).not.toContain("lost the manager's events");
    expect(out).not.toContain('cannot follow');
  });

  it('mutating calls under a 429/503 storm are retried; an insert whose answer is lost is retried with its requestId and made once', async () => {
    expect((await clusterDocker('service rm api')).code).toBe(0);
    const extra = await clusterDocker(
      `service create -d --name extra --mode global -p mode=host,published=18103,target=80 ${labImages.httpd}`,
    );
    expect(extra.code, extra.stderr).toBe(0);
    emu.resetLog();
    const rules = '/forwardingRules';
    emu.inject({ kind: 'status', status: 429, count: 2, method: 'POST', match: rules });
    emu.inject({ kind: 'status', status: 503, count: 1, method: 'POST', match: rules });
    emu.inject({ kind: 'lostResponse', count: 1, method: 'POST', match: rules, answer: 'reset' });
    emu.inject({ kind: 'status', status: 429, count: 1, method: 'DELETE', match: `${rules}/` });
    emu.inject({ kind: 'status', status: 503, count: 1, method: 'DELETE', match: `${rules}/` });
    const r = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('- delete forwarding-rule swarmup-gce1-tcp18102');
    expect(r.stdout).toContain('+ create forwarding-rule swarmup-gce1-tcp18103');
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/already exists/i);

    const log = emu.requests();
    const inserts = log.filter((e) => e.method === 'POST' && e.path.endsWith(rules));
    expect(inserts.map((e) => [e.status, !!e.lostResponse])).toEqual([
      [429, false],
      [429, false],
      [503, false],
      [0, true], // made, then the connection was reset
      [200, false], // the same requestId: the first operation, not a second rule
    ]);
    expect(new Set(inserts.map(requestIdOf)).size).toBe(1);
    const deletes = log.filter(
      (e) => e.method === 'DELETE' && e.path.endsWith(`${rules}/swarmup-gce1-tcp18102`),
    );
    expect(deletes.map((e) => e.status)).toEqual([429, 503, 200]);
    expect(new Set(deletes.map(requestIdOf)).size).toBe(1);
    expect(dump().forwardingRules.filter((x) => x.name === 'swarmup-gce1-tcp18103')).toHaveLength(1);
    expect(ruleNames()).toEqual([
      'other-rule',
      `swarmup-gce1-tcp${PORT}`,
      'swarmup-gce1-tcp18103',
      'swarmup-gce1-tcp19001',
    ]);
    // Every injected fault used up: the snapshot of an emulator that was never given one.
    expect((emu.dump() as { faults: unknown }).faults).toEqual(new Faults().snapshot());
  });

  it('lb rm while the cluster owns rules: rules → pool → health check → firewalls → address (request log); only ours', async () => {
    emu.resetLog();
    const r = await cli(['lb', 'rm', '--cluster', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    const steps = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('- delete '))
      .map((l) => l.split(' ').slice(2, 4).join(' '));
    expect(steps).toEqual([
      `forwarding-rule swarmup-gce1-tcp${PORT}`,
      'forwarding-rule swarmup-gce1-tcp18103',
      'target-pool swarmup-gce1-lb',
      'health-check swarmup-gce1-lb',
      'firewall swarmup-gce1-lb',
      'firewall swarmup-gce1-lb-health',
      'address swarmup-gce1-lb',
      'swarm-service swarmup-lb-health',
    ]);
    expect(mutationOrder()).toEqual([
      'DELETE forwarding-rule',
      'DELETE target-pool',
      'DELETE health-check',
      'DELETE firewall',
      'DELETE address',
    ]);
    const d = dump();
    expect(d.addresses).toEqual([]);
    expect(d.targetPools.map((p) => p.name)).toEqual(['other-pool']);
    expect(d.firewalls.map((f) => f.name).sort()).toEqual(['swarmup-gce1-admin', 'swarmup-gce1-swarm']);
    expect(ruleNames()).toEqual(['other-rule', 'swarmup-gce1-tcp19001']);
    expect(await swarmServices()).toEqual(['extra', 'web']);
  });

  it('a target pool with our name that the cluster does not own stops lb sync with one line; nothing changes', async () => {
    const { pools, done } = sdk();
    const p = { project: emu.project, region: emu.region };
    await done((await pools.insert({ ...p, targetPoolResource: { name: 'swarmup-gce1-lb' } }))[0]);
    emu.resetLog();
    const r = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(expectOneLineError(r)).toBe(
      `target pool swarmup-gce1-lb exists in project ${emu.project} but is not owned by cluster "gce1" (no swarmup ownership in the description): remove or rename it`,
    );
    expect(emu.requests().filter((e) => e.mutating)).toEqual([]);
    expect(dump().addresses).toEqual([]);
    expect(
      dump()
        .targetPools.map((x) => x.name)
        .sort(),
    ).toEqual(['other-pool', 'swarmup-gce1-lb']);
    expect(await swarmServices()).toEqual(['extra', 'web']);
    // Its owner removes it: the next sync builds the load balancer (for cluster down to remove).
    await done((await pools.delete({ ...p, targetPool: 'swarmup-gce1-lb' }))[0]);
    const again = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(again.code, again.stderr).toBe(0);
    expect(dump().addresses).toHaveLength(1);
    expect(ruleNames()).toEqual([
      'other-rule',
      `swarmup-gce1-tcp${PORT}`,
      'swarmup-gce1-tcp18103',
      'swarmup-gce1-tcp19001',
    ]);
  });

  it('cluster down removes everything the cluster owns, and nothing else', async () => {
    const r = await cli(['cluster', 'down', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(ruleNames()).toEqual(['other-rule', 'swarmup-gce1-tcp19001']);
    expect(dump().targetPools.map((p) => p.name)).toEqual(['other-pool']);
    const { rules, pools, done } = sdk();
    const p = { project: emu.project, region: emu.region };
    for (const forwardingRule of ['other-rule', 'swarmup-gce1-tcp19001'])
      await done((await rules.delete({ ...p, forwardingRule }))[0]);
    await done((await pools.delete({ ...p, targetPool: 'other-pool' }))[0]);
    expect(emu.resourceCount()).toBe(0);
  });

  it('a failed instance operation is one clear line naming the machine; cluster down then leaves zero', async () => {
    emu.inject({ kind: 'failOperation', count: 1, match: 'gce2-manager-1' });
    const r = await cli(['cluster', 'up', 'gce2', '--driver', 'google', ...gflags(), '--managers', '1']);
    const line = expectOneLineError(r);
    expect(line).toMatch(
      /creating instance gce2-manager-1 in us-central1-a failed: .*ZONE_RESOURCE_POOL_EXHAUSTED/,
    );
    // The fresh cluster was rolled back (record gone): down finds what is left by labels alone.
    const down = await cli(['cluster', 'down', 'gce2', '--driver', 'google'], {
      GOOGLE_ENDPOINT: emu.endpoint,
      GOOGLE_PROJECT: emu.project,
    });
    expect(down.code, down.stderr).toBe(0);
    expect(emu.resourceCount()).toBe(0);
  });
});
