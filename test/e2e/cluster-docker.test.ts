/**
 * A real local cluster with the docker driver: node containers on the lab engine, each running its own
 * dockerd behind TLS, a real swarm, services, the local load balancer, repair, interrupt and teardown.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bin } from './helpers.js';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, eventually, parseEnv, swarmup, tempDir } from './helpers.js';

const CLUSTER = 'e2ec';
const IMAGE = labImages.node;
let store: string;
let work: string;
const env = () => ({ DOCKER_HOST: labDockerHost });

async function clusterDocker(args: string) {
  const e = await swarmup(store, ['cluster', 'env', CLUSTER], env());
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

async function labelled(kind: 'ps -a' | 'network ls' | 'volume ls', cluster = CLUSTER): Promise<string[]> {
  const r = await labDocker([...kind.split(' '), '-q', '--filter', `label=swarmup.cluster=${cluster}`]);
  return r.stdout.split('\n').filter(Boolean);
}

/** Node containers of a cluster (the load balancer container carries the cluster label too). */
async function nodeContainers(cluster = CLUSTER): Promise<string[]> {
  const r = await labDocker([
    'ps',
    '-a',
    '--format',
    '{{.Names}}',
    '--filter',
    `label=swarmup.cluster=${cluster}`,
    '--filter',
    'label=swarmup.machine',
  ]);
  return r.stdout.split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-cluster-');
  store = join(work, 'store');
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
});

afterAll(async () => {
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
  await swarmup(store, ['cluster', 'down', 'e2ek', '--driver', 'docker'], env());
});

describe('cluster up --driver docker --managers 3 --workers 2', () => {
  it('forms a swarm: 3 managers (one Leader) and 2 workers, all Ready', async () => {
    const r = await swarmup(
      store,
      [
        'cluster',
        'up',
        CLUSTER,
        '--driver',
        'docker',
        '--docker-image',
        IMAGE,
        '--managers',
        '3',
        '--workers',
        '2',
        '--json',
      ],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.created).toHaveLength(5);
    const ls = await clusterDocker(`node ls --format '{{.Hostname}} {{.ManagerStatus}} {{.Status}}'`);
    expect(ls.code, ls.stderr).toBe(0);
    const lines = ls.stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => / Leader /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => / (Leader|Reachable) /.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /^e2ec-worker-\d+ {2}Ready$/.test(l))).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('Ready'))).toBe(true);
  });

  it('labels every container and reports status', async () => {
    expect(await nodeContainers()).toHaveLength(5);
    const s = await swarmup(store, ['cluster', 'status', CLUSTER, '--json'], env());
    const st = JSON.parse(s.stdout);
    expect(st.nodes.filter((n: { role: string }) => n.role === 'manager')).toHaveLength(3);
    const ls = await swarmup(store, ['cluster', 'ls', '--json'], env());
    expect(JSON.parse(ls.stdout)).toMatchObject([{ name: CLUSTER, managers: 3, workers: 2, ready: '5/5' }]);
  });

  it('deploys a global host-mode httpd and a replicated dnsrr service; lb sync serves the page', async () => {
    const load = await swarmup(store, ['image', 'load', '--cluster', CLUSTER, labImages.httpd], env());
    expect(load.code, load.stderr).toBe(0);
    const web = await clusterDocker(
      `service create -d --name web --mode global -p mode=host,published=18091,target=80 ${labImages.httpd}`,
    );
    expect(web.code, web.stderr).toBe(0);
    const dns = await clusterDocker(
      `service create -d --name dns --replicas 2 --endpoint-mode dnsrr ${labImages.httpd}`,
    );
    expect(dns.code, dns.stderr).toBe(0);
    await eventually(
      async () =>
        (await clusterDocker(`service ls --format '{{.Name}} {{.Replicas}}'`)).stdout
          .split('\n')
          .filter((l) => /^(web 5\/5|dns 2\/2)/.test(l)).length === 2,
      60_000,
    );
    const sync = await swarmup(
      store,
      ['lb', 'sync', '--cluster', CLUSTER, '--lb-image', labImages.haproxy],
      env(),
    );
    expect(sync.code, sync.stderr).toBe(0);
    await eventually(
      async () =>
        (await bash('curl -s --max-time 2 127.0.0.1:18091')).stdout.includes('swarmup-lab httpd OK'),
      60_000,
    );
  });

  it('lb sync --watch follows the swarm: a new service is served within seconds', async () => {
    const watcher = spawn(process.execPath, [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch'], {
      env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    watcher.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(async () => log.includes('Watching cluster'), 30_000);
      const svc = await clusterDocker(
        `service create -d --name web2 --mode global -p mode=host,published=18092,target=80 ${labImages.httpd}`,
      );
      expect(svc.code, svc.stderr).toBe(0);
      await eventually(
        async () =>
          (await bash('curl -s --max-time 2 127.0.0.1:18092')).stdout.includes('swarmup-lab httpd OK'),
        90_000,
      );
    } finally {
      watcher.kill('SIGINT');
      await new Promise((r) => watcher.on('exit', r));
    }
    expect(log).toContain('Stopped watching.');
    expect((await clusterDocker('service rm web2')).code).toBe(0);
  });

  it('scales workers up and down, keeping the managers', async () => {
    const upR = await swarmup(store, ['cluster', 'scale', CLUSTER, '--workers', '3', '--json'], env());
    expect(upR.code, upR.stderr).toBe(0);
    expect(JSON.parse(upR.stdout).created).toEqual(['e2ec-worker-3']);
    const down = await swarmup(store, ['cluster', 'scale', CLUSTER, '--workers', '2', '--json'], env());
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout).removed).toEqual(['e2ec-worker-3']);
    const ls = await clusterDocker(`node ls --format '{{.Hostname}}'`);
    expect(ls.stdout.trim().split('\n').sort()).toEqual([
      'e2ec-manager-1',
      'e2ec-manager-2',
      'e2ec-manager-3',
      'e2ec-worker-1',
      'e2ec-worker-2',
    ]);
    expect(await nodeContainers()).toHaveLength(5);
    const even = await swarmup(store, ['cluster', 'scale', CLUSTER, '--managers', '2'], env());
    expect(even.code).toBe(1);
    expect(even.stderr.trim()).toMatch(/odd number of managers/);
  });

  it('recreates and rejoins a removed worker', async () => {
    const rm = await labDocker(['rm', '-f', '-v', 'swarmup-e2ec-worker-2']);
    expect(rm.code, rm.stderr).toBe(0);
    const r = await swarmup(store, ['cluster', 'up', CLUSTER, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.created).toEqual(['e2ec-worker-2']);
    expect(result.unchanged).toHaveLength(4);
    const ls = await clusterDocker(`node ls --format '{{.Hostname}} {{.Status}}'`);
    expect(ls.stdout).toMatch(/^e2ec-worker-2 Ready$/m);
    expect(await nodeContainers()).toHaveLength(5);
  });

  it('cluster down leaves no container, network or volume with the cluster label', async () => {
    // Anonymous volumes carry no labels: take their names from the node containers' mounts.
    const ids = await labelled('ps -a');
    const mounts = await labDocker(['inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', ...ids]);
    const volumes = mounts.stdout.split(/\s+/).filter(Boolean);
    expect(volumes.length).toBeGreaterThanOrEqual(5);
    const r = await swarmup(store, ['cluster', 'down', CLUSTER], env());
    expect(r.code, r.stderr).toBe(0);
    expect(await labelled('ps -a')).toEqual([]);
    expect(await labelled('network ls')).toEqual([]);
    for (const v of volumes) expect((await labDocker(['volume', 'inspect', v])).code, v).not.toBe(0);
    expect((await swarmup(store, ['cluster', 'ls', '--json'], env())).stdout.trim()).toBe('[]');
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
  });
});

describe('interrupted cluster up', () => {
  it('SIGKILL in the middle, then a re-run converges with nothing duplicated or leaked', async () => {
    const args = [
      'cluster',
      'up',
      'e2ek',
      '--driver',
      'docker',
      '--docker-image',
      IMAGE,
      '--managers',
      '1',
      '--workers',
      '2',
    ];
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Kill as soon as the first machine container exists: creation is under way.
    await eventually(async () => (await labelled('ps -a', 'e2ek')).length >= 1, 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const r = await swarmup(store, args, env());
    expect(r.code, r.stderr).toBe(0);
    expect((await labelled('ps -a', 'e2ek')).length).toBe(3);
    const names = (
      await labDocker(['ps', '-a', '--format', '{{.Names}}', '--filter', 'label=swarmup.cluster=e2ek'])
    ).stdout
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(names).toEqual(['swarmup-e2ek-manager-1', 'swarmup-e2ek-worker-1', 'swarmup-e2ek-worker-2']);
    const st = JSON.parse((await swarmup(store, ['cluster', 'status', 'e2ek', '--json'], env())).stdout);
    expect(
      st.nodes.map((n: { hostname: string; state: string }) => `${n.hostname}:${n.state}`).sort(),
    ).toEqual(['e2ek-manager-1:ready', 'e2ek-worker-1:ready', 'e2ek-worker-2:ready']);
    // Fresh-runner teardown: an empty store still finds everything by label.
    const empty = join(work, 'empty-store');
    const down = await swarmup(empty, ['cluster', 'down', 'e2ek', '--driver', 'docker'], env());
    expect(down.code, down.stderr).toBe(0);
    expect(await labelled('ps -a', 'e2ek')).toEqual([]);
    expect(await labelled('network ls', 'e2ek')).toEqual([]);
    await swarmup(store, ['cluster', 'down', 'e2ek', '--driver', 'docker'], env());
  });
});

describe('a failed fresh cluster up', () => {
  // The httpd image has a shell but no Docker and no os-release: machines are made, provisioning fails.
  const broken = (name: string, extra: string[] = []) =>
    swarmup(
      store,
      [
        'cluster',
        'up',
        name,
        '--driver',
        'docker',
        '--docker-image',
        labImages.httpd,
        '--managers',
        '1',
        '--workers',
        '1',
        ...extra,
      ],
      env(),
    );

  it('rolls back, says which node failed and why, and leaves nothing', async () => {
    const r = await broken('e2ef');
    expect(r.code).not.toBe(0);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(
      /^Machines \(2\) failed: e2ef-(manager|worker)-1: cannot install Docker on Linux automatically/,
    );
    expect(last).toContain('Nothing was left behind.');
    expect(last).not.toContain('swarmup provision');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(await labelled('ps -a', 'e2ef')).toEqual([]);
    expect(await labelled('network ls', 'e2ef')).toEqual([]);
    expect((await swarmup(store, ['cluster', 'ls', '--json'], env())).stdout.trim()).toBe('[]');
  });

  it('keeps everything with --retain, and cluster down removes it', async () => {
    const r = await broken('e2er', ['--retain']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Run "swarmup cluster up" again to converge, or "swarmup cluster down e2er"/);
    expect(await nodeContainers('e2er')).toEqual(['swarmup-e2er-manager-1', 'swarmup-e2er-worker-1']);
    expect((await swarmup(store, ['cluster', 'down', 'e2er'], env())).code).toBe(0);
    expect(await labelled('ps -a', 'e2er')).toEqual([]);
    expect(await labelled('network ls', 'e2er')).toEqual([]);
  });
});

describe('expiry and cluster files', () => {
  it('cluster up -f from "config init", --ttl, and prune --expired removes the expired cluster', async () => {
    const file = join(work, 'cluster.yaml');
    expect((await swarmup(store, ['config', 'init', file])).code).toBe(0);
    const yaml = (await import('node:fs/promises')).readFile(file, 'utf8');
    const edited = (await yaml)
      .replace('name: ci', 'name: e2et')
      .replace('managers: 3', 'managers: 1')
      .replace('workers: 2', 'workers: 0')
      .replace('docker-image: docker:dind', `docker-image: ${IMAGE}`);
    const r = await swarmup(store, ['cluster', 'up', '-f', '-', '--ttl', '1s', '--json'], env(), edited);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created).toEqual(['e2et-manager-1']);
    const expires = (
      await labDocker([
        'inspect',
        '-f',
        '{{index .Config.Labels "swarmup.expires"}}',
        'swarmup-e2et-manager-1',
      ])
    ).stdout.trim();
    expect(Date.parse(expires)).toBeGreaterThan(0);
    await eventually(async () => Date.now() > Date.parse(expires), 5_000);
    const p = await swarmup(store, ['cluster', 'prune', '--expired'], env());
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe('e2et\n');
    expect(await labelled('ps -a', 'e2et')).toEqual([]);
    expect((await swarmup(store, ['cluster', 'prune'], env())).code).toBe(1);
  });
});
