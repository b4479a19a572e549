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

/** `HOSTNAME MANAGER-STATUS` of the managers, sorted. */
async function managerLines(): Promise<string[]> {
  const r = await clusterDocker(`node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').sort();
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-cluster-');
  store = join(work, 'store');
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
});

afterAll(async () => {
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
  for (const c of ['e2ek', 'e2et', 'e2eu'])
    await swarmup(store, ['cluster', 'down', c, '--driver', 'docker'], env());
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
        '--engine-label',
        'tier=e2e',
        '--wait',
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
    const text = await swarmup(store, ['cluster', 'status', CLUSTER], env());
    const rows = text.stdout.trim().split('\n');
    expect(rows[0].split(/\s+/)).toEqual([
      'MACHINE',
      'HOSTNAME',
      'ROLE',
      'LEADER',
      'AVAILABILITY',
      'STATE',
      'ENGINE',
      'ADDRESS',
    ]);
    // The machine each node is, then its hostname (the same with the docker driver).
    expect(
      rows.filter((l) => /^(e2ec-manager-\d)\s+\1\s+manager\s+Leader\s+active\s+ready\s/.test(l)),
    ).toHaveLength(1);
    expect(
      rows.filter((l) => /^(e2ec-manager-\d)\s+\1\s+manager\s+Reachable\s+active\s+ready\s/.test(l)),
    ).toHaveLength(2);
    expect(
      rows.filter((l) => /^(e2ec-worker-\d)\s+\1\s+worker\s+-\s+active\s+ready\s+\S+\s+172\./.test(l)),
    ).toHaveLength(2);
    expect(st.nodes.map((n: { machine: string }) => n.machine)).toEqual([
      'e2ec-manager-1',
      'e2ec-manager-2',
      'e2ec-manager-3',
      'e2ec-worker-1',
      'e2ec-worker-2',
    ]);
  });

  it('cluster env --docker-context makes a docker context that reaches the swarm', async () => {
    const e = await swarmup(store, ['cluster', 'env', CLUSTER, '--docker-context'], {
      ...env(),
      DOCKER_CONFIG: work,
    });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toContain(`docker context "swarmup-${CLUSTER}"`);
    const ls = await bash(`docker --context swarmup-${CLUSTER} node ls --format '{{.Hostname}}'`, {
      DOCKER_CONFIG: work,
      DOCKER_HOST: '',
    });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n')).toHaveLength(5);
    // A second run updates the context instead of failing on it.
    expect(
      (
        await swarmup(store, ['cluster', 'env', CLUSTER, '--docker-context'], {
          ...env(),
          DOCKER_CONFIG: work,
        })
      ).code,
    ).toBe(0);
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
    // No periodic re-sync: only the swarm's events (and following its tasks until they run) can do it.
    const watcher = spawn(
      process.execPath,
      [bin, 'lb', 'sync', '--cluster', CLUSTER, '--watch', '--resync', '3600'],
      { env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    watcher.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(async () => log.includes("Following the manager's events."), 30_000);
      // Its tasks take seconds to become healthy (running): no event says when, so the watch must
      // follow them until they run.
      const svc = await clusterDocker(
        `service create -d --name web2 --mode global -p mode=host,published=18092,target=80 ` +
          `--health-cmd 'test -f /tmp/ready' --health-interval 1s --health-retries 30 ${labImages.httpd} ` +
          `sh -c 'sleep 4; touch /tmp/ready; exec httpd -f -p 80 -h /www'`,
      );
      expect(svc.code, svc.stderr).toBe(0);
      await eventually(
        async () =>
          (await bash('curl -s --max-time 2 127.0.0.1:18092')).stdout.includes('swarmup-lab httpd OK'),
        15_000,
      );
    } finally {
      watcher.kill('SIGINT');
      await new Promise((r) => watcher.on('exit', r));
    }
    expect(log).toContain('Stopped watching.');
    expect(log).not.toContain('reconnecting');
    expect((await clusterDocker('service rm web2')).code).toBe(0);
  });

  it('scales workers up and down, keeping the managers', async () => {
    const upR = await swarmup(store, ['cluster', 'scale', CLUSTER, '--workers', '3', '--json'], env());
    expect(upR.code, upR.stderr).toBe(0);
    expect(JSON.parse(upR.stdout).created).toEqual(['e2ec-worker-3']);
    // The new machine gets the engine options the cluster was made with.
    const labels = await clusterDocker(
      `node inspect e2ec-worker-3 --format '{{json .Description.Engine.Labels}}'`,
    );
    expect(JSON.parse(labels.stdout)).toMatchObject({ tier: 'e2e' });
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
    expect(ls.stdout.trim().split('\n').sort()).toEqual([
      'e2ec-manager-1 Ready',
      'e2ec-manager-2 Ready',
      'e2ec-manager-3 Ready',
      'e2ec-worker-1 Ready',
      'e2ec-worker-2 Ready',
    ]);
    expect(await nodeContainers()).toHaveLength(5);
  });

  it('scales managers down to one and back to three', async () => {
    const one = await swarmup(store, ['cluster', 'scale', CLUSTER, '--managers', '1', '--json'], env());
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).removed.sort()).toEqual(['e2ec-manager-2', 'e2ec-manager-3']);
    expect(await managerLines()).toEqual(['e2ec-manager-1 Leader']);
    const three = await swarmup(store, ['cluster', 'scale', CLUSTER, '--managers', '3', '--json'], env());
    expect(three.code, three.stderr).toBe(0);
    expect(JSON.parse(three.stdout).created.sort()).toEqual(['e2ec-manager-2', 'e2ec-manager-3']);
    const managers = await managerLines();
    expect(managers.map((l) => l.split(' ')[0])).toEqual([
      'e2ec-manager-1',
      'e2ec-manager-2',
      'e2ec-manager-3',
    ]);
    expect(managers.map((l) => l.split(' ')[1]).sort()).toEqual(['Leader', 'Reachable', 'Reachable']);
    expect(await nodeContainers()).toHaveLength(5);
  });

  it('recovers a swarm that lost two of its three managers, keeping its services', async () => {
    for (const m of ['swarmup-e2ec-manager-2', 'swarmup-e2ec-manager-3']) {
      const rm = await labDocker(['rm', '-f', '-v', m]);
      expect(rm.code, rm.stderr).toBe(0);
    }
    const r = await swarmup(store, ['cluster', 'up', CLUSTER, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created.sort()).toEqual(['e2ec-manager-2', 'e2ec-manager-3']);
    expect(r.stderr).toContain('docker swarm init --force-new-cluster');
    expect((await managerLines()).map((l) => l.split(' ')[1]).sort()).toEqual([
      'Leader',
      'Reachable',
      'Reachable',
    ]);
    const ls = await clusterDocker(`node ls --format '{{.Hostname}} {{.Status}}'`);
    expect(ls.stdout.trim().split('\n')).toHaveLength(5);
    expect(
      ls.stdout
        .trim()
        .split('\n')
        .every((l) => l.endsWith(' Ready')),
    ).toBe(true);
    // Raft state survived: the services deployed before the loss are still there.
    const svc = await clusterDocker(`service ls --format '{{.Name}}'`);
    expect(svc.stdout.split('\n')).toEqual(expect.arrayContaining(['web', 'dns']));
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
  /** Every volume the cluster's containers have mounted so far: all must be gone after down. */
  const volumes = new Set<string>();
  const noteVolumes = async () => {
    const ids = await labelled('ps -a', 'e2ek');
    if (!ids.length) return;
    const m = await labDocker(['inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', ...ids]);
    for (const v of m.stdout.split(/\s+/).filter(Boolean)) volumes.add(v);
  };

  /**
   * Start swarmup and SIGKILL it at once when its progress prints `line`, or once `when` holds; then
   * check that it really died of the signal (not finished or failed before it came).
   */
  async function killWhen(argv: string[], at: { line?: RegExp; when?: () => Promise<boolean> }) {
    const child = spawn(process.execPath, [bin, ...argv], {
      env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<[number | null, string | null]>((r) =>
      child.on('exit', (c, sig) => r([c, sig])),
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (at.line?.test(stderr)) child.kill('SIGKILL');
    });
    if (at.when) {
      await eventually(at.when, 60_000);
      child.kill('SIGKILL');
    }
    expect(await exited, stderr).toEqual([null, 'SIGKILL']);
    await noteVolumes();
  }

  const nodesOf = async () =>
    JSON.parse((await swarmup(store, ['cluster', 'status', 'e2ek', '--json'], env())).stdout).nodes.map(
      (n: { hostname: string; state: string }) => `${n.hostname}:${n.state}`,
    );

  it('SIGKILL while machines are made, then a re-run converges with nothing duplicated or leaked', async () => {
    // Kill as soon as the first machine container exists: creation is under way.
    await killWhen(args, { when: async () => (await labelled('ps -a', 'e2ek')).length >= 1 });
    // The re-run joins workers: with every debug switch on, no join token may show.
    const r = await swarmup(store, args, { ...env(), SWARMUP_DEBUG: '1', DEBUG: '*' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/SWMTKN/);
    await noteVolumes();
    expect(await nodeContainers('e2ek')).toEqual([
      'swarmup-e2ek-manager-1',
      'swarmup-e2ek-worker-1',
      'swarmup-e2ek-worker-2',
    ]);
    expect(await labelled('network ls', 'e2ek')).toHaveLength(1);
    expect((await swarmup(store, ['ls', '-q'])).stdout.split('\n').filter(Boolean).sort()).toEqual([
      'e2ek-manager-1',
      'e2ek-worker-1',
      'e2ek-worker-2',
    ]);
    expect((await nodesOf()).sort()).toEqual([
      'e2ek-manager-1:ready',
      'e2ek-worker-1:ready',
      'e2ek-worker-2:ready',
    ]);
    expect((await bash(`grep -rl SWMTKN ${store} || true`)).stdout).toBe('');
  });

  it('SIGKILL while a new worker joins the swarm, then a re-run converges', async () => {
    await killWhen(['cluster', 'scale', 'e2ek', '--workers', '3'], { line: /Joining 1 worker/ });
    const r = await swarmup(store, ['cluster', 'up', 'e2ek', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    await noteVolumes();
    expect(await nodeContainers('e2ek')).toHaveLength(4);
    expect((await nodesOf()).sort()).toEqual([
      'e2ek-manager-1:ready',
      'e2ek-worker-1:ready',
      'e2ek-worker-2:ready',
      'e2ek-worker-3:ready',
    ]);
  });

  it('a cluster whose only manager is gone is rebuilt around its workers', async () => {
    const rm = await labDocker(['rm', '-f', '-v', 'swarmup-e2ek-manager-1']);
    expect(rm.code, rm.stderr).toBe(0);
    const r = await swarmup(store, ['cluster', 'up', 'e2ek', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created).toEqual(['e2ek-manager-1']);
    expect(r.stderr).toMatch(/e2ek-worker-1 is a worker of a swarm whose managers are all gone/);
    await noteVolumes();
    expect((await nodesOf()).sort()).toEqual([
      'e2ek-manager-1:ready',
      'e2ek-worker-1:ready',
      'e2ek-worker-2:ready',
      'e2ek-worker-3:ready',
    ]);
  });

  it('cluster down from an empty store finds everything by label and leaks no volume', async () => {
    expect(volumes.size).toBeGreaterThanOrEqual(4);
    const empty = join(work, 'empty-store');
    const down = await swarmup(empty, ['cluster', 'down', 'e2ek', '--driver', 'docker'], env());
    expect(down.code, down.stderr).toBe(0);
    expect(await labelled('ps -a', 'e2ek')).toEqual([]);
    expect(await labelled('network ls', 'e2ek')).toEqual([]);
    for (const v of volumes) expect((await labDocker(['volume', 'inspect', v])).code, v).not.toBe(0);
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
  const expiresOf = async (container: string) =>
    (
      await labDocker(['inspect', '-f', '{{index .Config.Labels "swarmup.expires"}}', container])
    ).stdout.trim();

  it('cluster up -f from "config init" with --ttl; prune --expired finds it from an empty store too', async () => {
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
    const expires = await expiresOf('swarmup-e2et-manager-1');
    expect(Date.parse(expires)).toBeGreaterThan(0);
    await eventually(async () => Date.now() > Date.parse(expires), 5_000);
    // A CI runner with an empty store sees the expiry on the labels; --dry-run removes nothing.
    const dry = await swarmup(
      join(work, 'empty-prune'),
      ['cluster', 'prune', '--expired', '--dry-run'],
      env(),
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('e2et\n');
    expect(await nodeContainers('e2et')).toEqual(['swarmup-e2et-manager-1']);
  });

  it('a re-run with a longer --ttl keeps the cluster from prune; prune removes only what expired', async () => {
    const base = ['cluster', 'up', 'e2eu', '--driver', 'docker', '--docker-image', IMAGE];
    const first = await swarmup(store, [...base, '--ttl', '1s'], env());
    expect(first.code, first.stderr).toBe(0);
    const again = await swarmup(store, [...base, '--ttl', '1h', '--no-wait'], env());
    expect(again.code, again.stderr).toBe(0);
    await eventually(async () => Date.now() > Date.parse(await expiresOf('swarmup-e2eu-manager-1')), 5_000);
    const p = await swarmup(store, ['cluster', 'prune', '--expired'], env());
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe('e2et\n');
    expect(await labelled('ps -a', 'e2et')).toEqual([]);
    expect(await nodeContainers('e2eu')).toEqual(['swarmup-e2eu-manager-1']);
    expect((await swarmup(store, ['cluster', 'prune'], env())).code).toBe(1);
  });

  it('cluster down --all from an empty store removes every cluster it finds by label', async () => {
    const r = await swarmup(
      join(work, 'empty-all'),
      ['cluster', 'down', '--all', '--driver', 'docker', '--json'],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout))).toContain('e2eu');
    expect(await labelled('ps -a', 'e2eu')).toEqual([]);
    expect(await labelled('network ls', 'e2eu')).toEqual([]);
    // The store that made it still has the record: its own down completes and forgets it.
    expect((await swarmup(store, ['cluster', 'down', 'e2eu'], env())).code).toBe(0);
    expect((await swarmup(store, ['cluster', 'ls', '--json'], env())).stdout.trim()).toBe('[]');
  });
});
