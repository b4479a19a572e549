/**
 * The docker driver end to end, for real: machines are containers on the lab engine that run their own
 * dockerd, provisioned with mutual TLS over `docker exec` (no SSH), and the docker-machine verbs work.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import {
  bash,
  expectOneLineError,
  expectOnlyLineError,
  parseEnv,
  swarmup,
  tempDir,
  type Run,
} from './helpers.js';
import { settingsFromFlags } from '../../drivers/docker/spec.js';

const RUN = randomBytes(3).toString('hex');
const M = `e2e-dd-${RUN}`;
const CLUSTER = `e2e-dd-${RUN}`;
const NETWORK = `swarmup-${CLUSTER}`;
const IMAGE = labImages.node;
const ENV = { DOCKER_HOST: labDockerHost, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' };

let store: string;
let work: string;

const sw = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  swarmup(store, args, { ...ENV, ...env });
const create = (name: string, ...flags: string[]) =>
  sw(['create', '--driver', 'docker', '--docker-image', IMAGE, ...flags, name]);

async function labJson<T>(args: string[]): Promise<T> {
  const r = await labDocker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface ContainerInfo {
  Id: string;
  Config: { Hostname: string; Labels: Record<string, string> };
  HostConfig: { Privileged: boolean; CapAdd: string[] | null; Init: boolean };
  Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
  NetworkSettings: {
    Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks: Record<string, { IPAddress: string }>;
  };
}
const inspectContainer = async (name: string) =>
  (await labJson<ContainerInfo[]>(['inspect', `swarmup-${name}`]))[0];
const labQuiet = async (args: string[]) => (await labDocker(args)).stdout.trim();

async function machineEnv(name: string): Promise<Record<string, string>> {
  const r = await sw(['env', name]);
  expect(r.code, r.stderr).toBe(0);
  return parseEnv(r.stdout);
}

/** The docker CLI pointed at a machine by `swarmup env`. */
async function dockerOn(name: string, args: string): Promise<Run> {
  return bash(`docker ${args}`, { ...(await machineEnv(name)), DOCKER_CONFIG: work });
}

function inSubnet(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
}

async function cleanup(): Promise<void> {
  const ids = await labQuiet(['ps', '-aq', '--filter', `name=swarmup-e2e-dd-${RUN}`]);
  if (ids) await labDocker(['rm', '-f', '-v', ...ids.split('\n')]);
  const nets = await labQuiet(['network', 'ls', '-q', '--filter', `name=swarmup-e2e-dd-${RUN}`]);
  if (nets) await labDocker(['network', 'rm', ...nets.split('\n')]);
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-e2e-dd-');
  store = join(work, 'store');
});

afterAll(async () => {
  await cleanup();
});

describe('docker driver: one machine through its life', () => {
  let port = '';
  let volume = '';

  it('creates a container that runs its own TLS engine', async () => {
    const t0 = Date.now();
    const r = await create(M, '--docker-cluster', CLUSTER, '--docker-role', 'manager');
    console.log(
      `swarmup create --driver docker: ${Date.now() - t0} ms (fresh store: includes making the CA)`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Docker is up and running!');
    expect(r.stderr).not.toContain('Installing Docker');
  });

  it('labels the container, names it after the machine and falls back from --privileged here', async () => {
    const c = await inspectContainer(M);
    expect(c.Config.Hostname).toBe(M);
    expect(c.Config.Labels).toMatchObject({
      'swarmup.machine': M,
      'swarmup.cluster': CLUSTER,
      'swarmup.role': 'manager',
      'swarmup.managed': 'true',
    });
    // This kernel refuses --privileged (CAP_SYS_RESOURCE is not in the bounding set).
    expect(c.HostConfig.Privileged).toBe(false);
    expect(c.HostConfig.CapAdd).toEqual(['ALL']);
    expect(c.HostConfig.Init).toBe(true);
    const state = (
      await sw(['inspect', '-f', '{{.Driver.Privileged}} {{.Driver.ContainerId}}', M])
    ).stdout.trim();
    expect(state).toBe(`false ${c.Id}`);
    const vol = c.Mounts.find((m) => m.Destination === '/var/lib/docker');
    expect(vol?.Type).toBe('volume');
    volume = vol!.Name!;
    const binding = c.NetworkSettings.Ports['2376/tcp']![0];
    expect(binding.HostIp).toBe('127.0.0.1');
    port = binding.HostPort;
  });

  it('runs containers over TLS with the client certificate from `swarmup env`', async () => {
    const env = await machineEnv(M);
    expect(env.DOCKER_HOST).toBe(`tcp://127.0.0.1:${port}`);
    const load = await bash(
      `docker save ${labImages.httpd} | DOCKER_HOST=${env.DOCKER_HOST} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${env.DOCKER_CERT_PATH} docker load`,
      { DOCKER_HOST: labDockerHost, DOCKER_CONFIG: work },
    );
    expect(load.code, load.stderr).toBe(0);
    const r = await dockerOn(M, `run --rm ${labImages.httpd} echo ok`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
    const plain = await bash(`curl -sk --max-time 5 https://127.0.0.1:${port}/_ping`);
    expect(plain.stdout).not.toBe('OK');
    expect((await dockerOn(M, `info --format '{{json .Labels}}'`)).stdout).toContain('provider=docker');
  });

  it('answers ls, inspect and ip; keeps finding the machine when DOCKER_HOST points at it', async () => {
    const ls = await sw(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(
      new RegExp(`^${M}\\s+-\\s+docker\\s+Running\\s+tcp://127\\.0\\.0\\.1:${port}\\s+v20\\.10`, 'm'),
    );
    const env = await machineEnv(M);
    const active = await swarmup(store, ['ls', '--format', '{{.Name}} {{.Active}} {{.State}}'], env);
    expect(active.stdout).toBe(`${M} * Running\n`);
    expect((await sw(['ip', M])).stdout).toBe('127.0.0.1\n');
    const internal = (await sw(['inspect', '-f', '{{.Driver.InternalIPAddress}}', M])).stdout.trim();
    const c = await inspectContainer(M);
    expect(internal).toBe(c.NetworkSettings.Networks[NETWORK].IPAddress);
    const [net] = await labJson<
      Array<{ IPAM: { Config: Array<{ Subnet: string }> }; Labels: Record<string, string> }>
    >(['network', 'inspect', NETWORK]);
    expect(inSubnet(internal, net.IPAM.Config[0].Subnet)).toBe(true);
    expect(net.Labels).toMatchObject({ 'swarmup.managed': 'true', 'swarmup.cluster': CLUSTER });
  });

  it('runs `ssh NAME -- CMD` through docker exec, and refuses an interactive shell clearly', async () => {
    const r = await sw(['ssh', M, '--', 'uname', '-n']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${M}\n`);
    expect((await sw(['ssh', M, '--', 'exit 5'])).code).toBe(5);
    expect(expectOneLineError(await sw(['ssh', M]))).toBe(
      `the docker driver has no SSH login; run a command with: swarmup ssh ${M} CMD ARGS...`,
    );
  });

  it('provisions a second time without changing anything or restarting dockerd', async () => {
    const pid = await labQuiet(['exec', `swarmup-${M}`, 'pidof', 'dockerd']);
    expect(pid).toMatch(/^\d+$/);
    const r = await sw(['provision', M]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Already up to date; nothing changed.');
    expect(await labQuiet(['exec', `swarmup-${M}`, 'pidof', 'dockerd'])).toBe(pid);
  });

  it('stops, starts (dockerd comes back, maybe on a new port) and restarts', async () => {
    const stop = await sw(['stop', M]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await sw(['status', M])).stdout).toBe('Stopped\n');
    expect((await sw(['ls', '--format', '{{.State}}'])).stdout).toBe('Stopped\n');
    // What scripts match on, as with docker-machine: the message and exit code 1.
    for (const verb of ['url', 'env', 'version']) {
      const r = await sw([verb, M]);
      expect(r.code, verb).toBe(1);
      expect(expectOnlyLineError(r), verb).toBe('Host is not running');
    }
    const start = await sw(['start', M]);
    expect(start.code, start.stderr).toBe(0);
    expect((await sw(['status', M])).stdout).toBe('Running\n');
    const published = (await inspectContainer(M)).NetworkSettings.Ports['2376/tcp']![0].HostPort;
    expect((await machineEnv(M)).DOCKER_HOST).toBe(`tcp://127.0.0.1:${published}`);
    const r = await dockerOn(M, `run --rm ${labImages.httpd} echo again`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('again');
    const restart = await sw(['restart', M]);
    expect(restart.code, restart.stderr).toBe(0);
    expect((await dockerOn(M, 'version --format {{.Server.Version}}')).code).toBe(0);
  });

  it('kills', async () => {
    const r = await sw(['kill', M]);
    expect(r.code, r.stderr).toBe(0);
    expect((await sw(['status', M])).stdout).toBe('Stopped\n');
  });

  it('rm -y removes the container, its volume and the network it was the last member of', async () => {
    const r = await sw(['rm', '-y', M]);
    expect(r.code, r.stderr).toBe(0);
    expect(await labQuiet(['ps', '-aq', '--filter', `label=swarmup.machine=${M}`])).toBe('');
    expect((await labDocker(['volume', 'inspect', volume])).code).not.toBe(0);
    expect(await labQuiet(['network', 'ls', '-q', '--filter', `label=swarmup.cluster=${CLUSTER}`])).toBe('');
    expect((await sw(['ls', '-q'])).stdout).toBe('');
  });
});

describe('docker driver: bad input leaves nothing behind', () => {
  const machines = async () => (await readdir(join(store, 'machines')).catch(() => [] as string[])).sort();

  it('an image that does not exist', async () => {
    const name = `${M}-bad`;
    const r = await sw(['create', '--driver', 'docker', '--docker-image', 'does-not-exist:latest', name]);
    expect(r.code).toBe(3);
    expect(expectOneLineError(r)).toMatch(/image "does-not-exist:latest"/);
    expect(await labQuiet(['ps', '-aq', '--filter', `name=swarmup-${name}`])).toBe('');
    expect(await machines()).toEqual([]);
  });

  it('invalid flags', async () => {
    expect(expectOneLineError(await create(`${M}-x`, '--docker-role', 'boss'))).toBe(
      'invalid --docker-role "boss": use manager or worker',
    );
    expect(expectOneLineError(await create(`${M}-x`, '--docker-privileged', 'sometimes'))).toMatch(
      /^invalid --docker-privileged/,
    );
    expect(await machines()).toEqual([]);
  });

  it('defaults the network to swarmup, or swarmup-<cluster> in a cluster', () => {
    expect(settingsFromFlags({}).network).toBe('swarmup');
    expect(settingsFromFlags({ 'docker-cluster': 'ci' }).network).toBe('swarmup-ci');
    expect(settingsFromFlags({}, { name: 'web', role: 'worker', labels: {} })).toMatchObject({
      network: 'swarmup-web',
      cluster: 'web',
      role: 'worker',
      image: 'docker:dind',
      privileged: 'auto',
    });
  });
});

describe('docker driver: concurrent creates', () => {
  const names = [1, 2, 3, 4].map((i) => `${M}-p${i}`);
  const cluster = `${CLUSTER}-p`;

  it('four swarmup processes sharing a store all succeed, on one network', async () => {
    const t0 = Date.now();
    const results = await Promise.all(
      names.map(async (n) => {
        const r = await create(n, '--docker-cluster', cluster);
        return { ...r, ms: Date.now() - t0 };
      }),
    );
    console.log(
      `4 concurrent creates: ${Date.now() - t0} ms (each: ${results.map((r) => r.ms).join(', ')} ms)`,
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const nets = await labQuiet([
      'network',
      'ls',
      '--format',
      '{{.Name}}',
      '--filter',
      `label=swarmup.cluster=${cluster}`,
    ]);
    expect(nets).toBe(`swarmup-${cluster}`);
    const ls = await sw(['ls', '--format', '{{.Name}} {{.State}}']);
    expect(ls.stdout).toBe(names.map((n) => `${n} Running\n`).join(''));
  });

  it('members reach each other on their internal addresses (what swarm advertises)', async () => {
    const peer = (await sw(['inspect', '-f', '{{.Driver.InternalIPAddress}}', names[1]])).stdout.trim();
    const r = await labDocker(['exec', `swarmup-${names[0]}`, 'bash', '-c', `exec 3<>/dev/tcp/${peer}/2376`]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('keeps the network while a stopped member still needs it', async () => {
    const [first, ...others] = names;
    const last = others.pop()!;
    expect((await sw(['stop', last])).code).toBe(0);
    const r = await sw(['rm', '-y', first, ...others]);
    expect(r.code, r.stderr).toBe(0);
    expect(await labQuiet(['network', 'ls', '-q', '--filter', `label=swarmup.cluster=${cluster}`])).not.toBe(
      '',
    );
    const start = await sw(['start', last]);
    expect(start.code, start.stderr).toBe(0);
    expect((await dockerOn(last, 'version --format {{.Server.Version}}')).code).toBe(0);
  });

  it('rm of the last member removes the network', async () => {
    const r = await sw(['rm', '-y', names[3]]);
    expect(r.code, r.stderr).toBe(0);
    expect(await labQuiet(['ps', '-aq', '--filter', `label=swarmup.cluster=${cluster}`])).toBe('');
    expect(await labQuiet(['network', 'ls', '-q', '--filter', `label=swarmup.cluster=${cluster}`])).toBe('');
  });
});
