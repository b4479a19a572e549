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
import { labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, bin, expectOneLineError, parseEnv, swarmup, tempDir } from './helpers.js';

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

/** Retry `fn` until it returns true or `ms` pass (bounded convergence wait, not a sleep). */
async function eventually(what: string, fn: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  let wait = 200;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 2_000);
  }
}

interface Dump {
  forwardingRules: Array<{ name: string; portRange: string; IPAddress: string }>;
  httpHealthChecks: Array<{ name: string; port: number; requestPath: string }>;
  targetPools: Array<{ name: string; instances?: string[] }>;
}
const dump = () => emu.dump() as Dump;
const ruleNames = () =>
  dump()
    .forwardingRules.map((r) => r.name)
    .sort();

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

  it('lb sync serves a host-mode global service through the forwarding rule; unowned rules are left alone', async () => {
    const { rules, pools, done } = sdk();
    const region = emu.region;
    const [poolOp] = await pools.insert({
      project: emu.project,
      region,
      targetPoolResource: { name: 'other-pool' },
    });
    await done(poolOp);
    const [ruleOp] = await rules.insert({
      project: emu.project,
      region,
      forwardingRuleResource: {
        name: 'other-rule',
        IPProtocol: 'TCP',
        portRange: '19000-19000',
        target: `projects/${emu.project}/regions/${region}/targetPools/other-pool`,
      },
    });
    await done(ruleOp);
    expect(ruleNames()).toEqual(['other-rule']);

    const load = await cli(['image', 'load', '--cluster', CLUSTER, labImages.httpd], {
      DOCKER_HOST: labDockerHost,
    });
    expect(load.code, load.stderr).toBe(0);
    const web = await clusterDocker(
      `service create -d --name web --mode global -p mode=host,published=${PORT},target=80 ${labImages.httpd}`,
    );
    expect(web.code, web.stderr).toBe(0);
    await eventually('web 3/3', async () =>
      (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`)).stdout.includes('web 3/3'),
    );

    const sync = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toContain(`+ create forwarding-rule swarmup-gce1-tcp${PORT}`);
    const st = await lbStatus();
    expect(st.address).toMatch(/^127\.77\.0\.\d+$/);
    expect(ruleNames()).toEqual(['other-rule', `swarmup-gce1-tcp${PORT}`]);
    expect(dump().forwardingRules.find((r) => r.name === `swarmup-gce1-tcp${PORT}`)?.IPAddress).toBe(
      st.address,
    );
    await eventually('the page through the load balancer', async () =>
      (await page(st.address!)).stdout.includes('swarmup-lab httpd OK'),
    );
  });

  it('the health check tells the truth about each node: its health service answers, or it does not', async () => {
    const hc = dump().httpHealthChecks.find((h) => h.name === 'swarmup-gce1-lb')!;
    expect(hc).toMatchObject({ port: 10256, requestPath: '/' });
    await eventually('3 healthy backends', async () => (await lbStatus()).healthyBackends === 3);
    // Freeze worker-2's health server: that node stops answering, so GCE must call it unhealthy.
    const ps = await machineDocker(
      'gce1-worker-2',
      `ps -q --filter label=com.docker.swarm.service.name=swarmup-lb-health`,
    );
    const id = ps.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]+$/);
    expect((await machineDocker('gce1-worker-2', `pause ${id}`)).code).toBe(0);
    await eventually('worker-2 unhealthy', async () => {
      const s = await lbStatus();
      return (
        s.healthyBackends === 2 &&
        !!s.targetPool?.members.some((m) => m.instance.endsWith('/gce1-worker-2') && m.health === 'UNHEALTHY')
      );
    });
    expect((await machineDocker('gce1-worker-2', `unpause ${id}`)).code).toBe(0);
    await eventually('3 healthy again', async () => (await lbStatus()).healthyBackends === 3);
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

  it('lb sync --watch follows the swarm: a new service gets its rule within seconds; Ctrl-C stops it', async () => {
    const child = spawn(process.execPath, [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch'], {
      env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await eventually('watching', async () => out.includes('Watching cluster'), 30_000);
      const api = await clusterDocker(
        `service create -d --name api --mode global -p mode=host,published=18102,target=80 ${labImages.httpd}`,
      );
      expect(api.code, api.stderr).toBe(0);
      await eventually('rule for 18102', async () => ruleNames().includes('swarmup-gce1-tcp18102'), 60_000);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped watching.');
    expect((await clusterDocker('service rm api')).code).toBe(0);
  });

  it('a 429 storm is retried; a removed service loses its rule', async () => {
    expect((await clusterDocker('service rm web')).code).toBe(0);
    emu.resetLog();
    emu.inject({ kind: 'status', status: 429, count: 5 });
    const r = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(emu.requests().filter((e) => e.status === 429)).toHaveLength(5);
    expect(r.stdout).toContain(`- delete forwarding-rule swarmup-gce1-tcp${PORT}`);
    expect(r.stdout).toContain('- delete forwarding-rule swarmup-gce1-tcp18102');
    expect(ruleNames()).toEqual(['other-rule']);
  });

  it('lb rm removes the load balancer and its health service, and only those', async () => {
    const r = await cli(['lb', 'rm', '--cluster', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    const kinds = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('- delete '))
      .map((l) => l.split(' ')[2]);
    expect(kinds).toEqual(['target-pool', 'health-check', 'firewall', 'address', 'swarm-service']);
    const d = emu.dump() as Dump & { addresses: unknown[]; firewalls: Array<{ name: string }> };
    expect(d.addresses).toEqual([]);
    expect(d.targetPools.map((p) => p.name)).toEqual(['other-pool']);
    expect(d.firewalls.map((f) => f.name).sort()).toEqual(['swarmup-gce1-admin', 'swarmup-gce1-swarm']);
    expect(ruleNames()).toEqual(['other-rule']);
    const svc = await clusterDocker(`service ls --format '{{.Name}}'`);
    expect(svc.stdout.trim()).toBe('');
    // Back again, so that cluster down has a load balancer to remove.
    const again = await cli(['lb', 'sync', '--cluster', CLUSTER]);
    expect(again.code, again.stderr).toBe(0);
    expect((emu.dump() as { addresses: unknown[] }).addresses).toHaveLength(1);
  });

  it('cluster down removes everything the cluster owns, and nothing else', async () => {
    const r = await cli(['cluster', 'down', CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(ruleNames()).toEqual(['other-rule']);
    const { rules, pools, done } = sdk();
    await done(
      (await rules.delete({ project: emu.project, region: emu.region, forwardingRule: 'other-rule' }))[0],
    );
    await done(
      (await pools.delete({ project: emu.project, region: emu.region, targetPool: 'other-pool' }))[0],
    );
    await eventually('zero resources', async () => emu.resourceCount() === 0, 30_000);
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
