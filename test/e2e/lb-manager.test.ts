/**
 * `lb sync|status|rm --manager MACHINE` on the local backend, for real: two docker-driver machines
 * made one by one with `swarmup create`, a swarm made by hand with the docker CLI (`swarmup env` +
 * `docker swarm init`/`join`), a host-mode service, and the haproxy container on the lab engine that
 * carries its traffic. Then the one rule for removing load balancers in `cluster down`: whatever the
 * driver (generic too), and by label without a cluster record.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, eventually, expectOneLineError, swarmup, tempDir, type Run } from './helpers.js';
import { handMadeSwarm } from './hand-swarm.js';
import { Store } from '../../src/store/store.js';
import { saveClusterRecord } from '../../src/cluster/record.js';
import { emptyEngineOptions } from '../../src/store/machine-config.js';

const RUN = randomBytes(3).toString('hex');
const M1 = `e2e-lbm-${RUN}-1`;
const M2 = `e2e-lbm-${RUN}-2`;
const NET = `e2e-lbm-${RUN}`;
const LB = `swarmup-lb-${M1}`;
const PORT = 18191;
const ENV = { DOCKER_HOST: labDockerHost, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' };

let store: string;
let work: string;

const sw = (args: string[]): Promise<Run> => swarmup(store, args, ENV);
const lb = (verb: string, ...extra: string[]) =>
  sw(['lb', verb, '--manager', M1, ...(verb === 'sync' ? ['--lb-image', labImages.haproxy] : []), ...extra]);

const labContainers = async (filter: string) =>
  (await labDocker(['ps', '-a', '--format', '{{.Names}}', '--filter', filter])).stdout
    .split('\n')
    .filter(Boolean);

const curl = () => bash(`curl -fsS --max-time 3 http://127.0.0.1:${PORT}/`);

beforeAll(async () => {
  await labUp();
  store = await tempDir('swarmup-lbm-store-');
  work = await tempDir('swarmup-lbm-work-');
  for (const m of [M1, M2]) {
    const r = await sw([
      'create',
      '--driver',
      'docker',
      '--docker-image',
      labImages.node,
      '--docker-network',
      NET,
      m,
    ]);
    if (r.code !== 0) throw new Error(`create ${m}: ${r.stderr}`);
  }
  await handMadeSwarm({ sw, work, manager: M1, workers: [M2], port: PORT });
}, 600_000);

afterAll(async () => {
  await sw(['lb', 'rm', '--manager', M1]).catch(() => undefined);
  await sw(['rm', '-y', '-f', M1, M2]).catch(() => undefined);
  await labDocker(['rm', '-f', LB]).catch(() => undefined);
  await labDocker(['network', 'rm', NET]).catch(() => undefined);
});

describe('lb --manager on a swarm made by hand (docker driver, local load balancer)', () => {
  it('refuses without a swarm named, with both, and for a machine that is no manager: one line each', async () => {
    expect(expectOneLineError(await sw(['lb', 'sync']))).toMatch(/--cluster NAME .* or --manager MACHINE/);
    expect(expectOneLineError(await sw(['lb', 'sync', '--cluster', 'x', '--manager', M1]))).toMatch(
      /--cluster NAME/,
    );
    expect(expectOneLineError(await sw(['lb', 'sync', '--manager', M2]))).toMatch(
      new RegExp(`machine "${M2}" is not a swarm manager`),
    );
    expect(expectOneLineError(await sw(['lb', 'sync', '--manager', 'nope-x']))).toMatch(/does not exist/);
    expect(await labContainers(`name=swarmup-lb-${M2}`)).toEqual([]);
  });

  it('lb sync --manager makes the haproxy container named after the manager; traffic reaches both nodes', async () => {
    const r = await lb('sync');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+ create container ${LB}`);
    expect(r.stdout).toContain(`+ create listener tcp/${PORT} → 2 backends (web, host mode)`);
    expect(r.stderr).toMatch(new RegExp(`Load balancer ${LB} is in sync: 1 listener on 127\\.0\\.0\\.1`));
    const labels = (await labDocker(['inspect', '-f', '{{json .Config.Labels}}', LB])).stdout;
    expect(JSON.parse(labels)).toMatchObject({ 'swarmup.lb': 'local', 'swarmup.cluster': M1 });
    await eventually(async () => (await curl()).stdout.includes('swarmup-lab httpd OK'), 60_000, 'traffic');
    expect((await lb('sync')).stdout).toBe('No changes.\n');
  });

  it('lb status --manager shows both nodes as backends and that it is in sync', async () => {
    const r = await lb('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      manager: string;
      inSync: boolean;
      listeners: Array<{ listener: string; backends: Array<{ node: string }>; listening: boolean }>;
    };
    expect(s.manager).toBe(M1);
    expect(s.inSync).toBe(true);
    expect(s.listeners).toHaveLength(1);
    expect(s.listeners[0].listener).toBe(`tcp/${PORT}`);
    expect(s.listeners[0].listening).toBe(true);
    expect(s.listeners[0].backends).toHaveLength(2);
    expect((await lb('status')).stdout).toContain('In sync with the swarm.');
  });

  it('lb rm --manager removes the container; a second rm has nothing to do', async () => {
    const r = await lb('rm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Removed load balancer container ${LB}.`);
    expect(await labContainers(`name=${LB}`)).toEqual([]);
    expect((await lb('rm')).stderr).toContain('nothing to remove');
  });

  it('machines removed without lb rm: "cluster down <manager>" of nothing sweeps the container by label', async () => {
    expect((await lb('sync')).code).toBe(0);
    expect(await labContainers(`name=${LB}`)).toEqual([LB]);
    const rm = await sw(['rm', '-y', M1, M2]);
    expect(rm.code, rm.stderr).toBe(0);
    const down = await sw(['cluster', 'down', M1]);
    expect(down.code, down.stderr).toBe(0);
    expect(await labContainers(`label=swarmup.cluster=${M1}`)).toEqual([]);
    expect(await labContainers(`name=e2e-lbm-${RUN}`)).toEqual([]);
  });
});

describe('cluster down removes the load balancer of every driver (src/lb/backends.ts)', () => {
  /** A container like the one `lb sync` makes for `cluster` (not started: removal is what is tested). */
  const lbContainer = async (cluster: string) => {
    const r = await labDocker([
      'create',
      '--name',
      `swarmup-lb-${cluster}`,
      '--label',
      'swarmup.lb=local',
      '--label',
      `swarmup.cluster=${cluster}`,
      labImages.haproxy,
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
  };

  it('a generic cluster: no swarmup-lb-<name> container is left', async () => {
    const name = `e2e-lbg-${RUN}`;
    const s = new Store(store);
    await s.init();
    await saveClusterRecord(s, {
      ConfigVersion: 1,
      Name: name,
      Driver: 'generic',
      DriverOptions: {},
      Managers: 1,
      Workers: 0,
      Parallel: 1,
      Engine: emptyEngineOptions(),
      Labels: {},
      CreatedAt: new Date().toISOString(),
    });
    await lbContainer(name);
    const r = await sw(['cluster', 'down', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await labContainers(`name=swarmup-lb-${name}`)).toEqual([]);
  });

  it('without a record: the container is swept by its labels', async () => {
    const name = `e2e-lbn-${RUN}`;
    await lbContainer(name);
    const r = await sw(['cluster', 'down', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await labContainers(`name=swarmup-lb-${name}`)).toEqual([]);
  });

  it('a container of that name without our labels is never removed', async () => {
    const name = `e2e-lbx-${RUN}`;
    await labDocker(['create', '--name', `swarmup-lb-${name}`, labImages.haproxy]);
    try {
      await sw(['cluster', 'down', name]);
      expect(await labContainers(`name=swarmup-lb-${name}`)).toEqual([`swarmup-lb-${name}`]);
    } finally {
      await labDocker(['rm', '-f', `swarmup-lb-${name}`]);
    }
  });
});
