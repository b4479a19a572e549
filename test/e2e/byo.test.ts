/**
 * Bring-your-own-hosts clusters, for real: lab VMs whose hostnames are not the machine names (two, then
 * three of them all called "ubuntu") become a swarm with the generic driver, from repeated
 * --generic-ip-address flags and from a cluster file's spec.hosts (one host logged in to as a sudo
 * user). Re-runs change nothing, a host-mode service gets traffic through `lb sync`, hosts are added
 * and removed, bad inventories are refused before any host is touched, and `cluster down` gives every
 * host back: reachable, the Docker Engine of a host that had one running again, with its own image
 * and container.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labDockerHost, labImages, labUp, removeVm, startVm, vmExec } from '../lab/lab.js';
import { containersNamed } from '../faults/harness.js';
import { bash, eventually, expectOnlyLineError, parseEnv, run, swarmup, tempDir } from './helpers.js';

const VMS = { a: 'byo-a', b: 'byo-b', c: 'byo-c', d: 'byo-d' } as const;
const ip: Record<string, string> = {};
const PORT = 18191;
let work: string;
let store: string;
let key: string;
const env = { DOCKER_HOST: labDockerHost };
const timings: Record<string, number> = {};

const up = (...args: string[]) => swarmup(store, ['cluster', 'up', ...args, '--json'], env);
const hostFlags = (...hosts: string[]) => hosts.flatMap((h) => ['--generic-ip-address', h]);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  timings[label] = Math.round(performance.now() - t0);
  return r;
}

async function clusterDocker(cluster: string, args: string) {
  const e = await swarmup(store, ['cluster', 'env', cluster], env);
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

/** `docker node ls` of a cluster: `hostname state`, sorted. */
async function nodeList(cluster: string): Promise<string[]> {
  const r = await clusterDocker(cluster, `node ls --format '{{.Hostname}} {{.Status}}'`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').sort();
}

/** The machine each node of the cluster is, from `cluster status --json`: `machine@hostname`. */
async function machinesOf(cluster: string): Promise<string[]> {
  const s = await swarmup(store, ['cluster', 'status', cluster, '--json'], env);
  expect(s.code, s.stderr).toBe(0);
  return (JSON.parse(s.stdout).nodes as { machine?: string; hostname: string }[]).map(
    (n) => `${n.machine ?? '-'}@${n.hostname}`,
  );
}

/** Nothing of swarmup's is on the VM. */
async function untouched(vm: string) {
  const r = await vmExec(
    vm,
    'test -e /etc/swarmup || test -e /etc/docker/swarmup || test -e /etc/docker/server-key.pem || test -e /usr/local/sbin/swarmup-dockerd-supervise',
  );
  expect(r.code, `${vm} has swarmup files`).not.toBe(0);
}

/** The VM's own Docker Engine answers on its socket, with the image and container it had. */
async function ownDockerRuns(vm: string) {
  await eventually(
    async () => (await vmExec(vm, 'docker info >/dev/null 2>&1')).code === 0,
    30_000,
    `${vm} docker`,
  );
  expect(
    (await vmExec(vm, 'docker image inspect byo/own:1 >/dev/null && docker container inspect own >/dev/null'))
      .code,
  ).toBe(0);
  // Its own configuration: no TLS listener of swarmup's, and not in a swarm.
  expect((await vmExec(vm, "docker info --format '{{.Swarm.LocalNodeState}}'")).stdout.trim()).toBe(
    'inactive',
  );
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-byo-');
  store = join(work, 'store');
  key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const authorizedKey = await readFile(`${key}.pub`, 'utf8');
  await Promise.all(Object.values(VMS).map((n) => removeVm(n)));
  const started = await Promise.all([
    // Its own Docker runs before swarmup comes, with an image and a container of its own.
    startVm(VMS.a, { image: 'node', authorizedKey, hostname: 'ubuntu', dockerd: true }),
    startVm(VMS.b, { image: 'node', authorizedKey, hostname: 'ubuntu' }),
    startVm(VMS.c, { image: 'node', authorizedKey, hostname: 'edge-7' }),
    startVm(VMS.d, { image: 'node', authorizedKey, hostname: 'ubuntu', user: 'deploy' }),
  ]);
  for (const s of started) ip[s.name] = s.ip;
  await eventually(
    async () => (await vmExec(VMS.a, 'docker info >/dev/null 2>&1')).code === 0,
    30_000,
    'docker on byo-a',
  );
  const own = await vmExec(
    VMS.a,
    'tar cf - --files-from /dev/null | docker import - byo/own:1 && docker create --name own byo/own:1 /none',
  );
  expect(own.code, own.stderr).toBe(0);
  // Files of its own in /etc/docker, one where swarmup writes its CA (as on a docker-machine host).
  const files = await vmExec(
    VMS.a,
    // (not key.json: dockerd 20.10 refuses to start with one that is not a key)
    'mkdir -p /etc/docker/certs.d/reg.example && echo own-reg >/etc/docker/certs.d/reg.example/ca.crt && echo own-ca >/etc/docker/ca.pem',
  );
  expect(files.code, files.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  console.log(`byo e2e timings (ms): ${JSON.stringify(timings)}`);
  for (const c of ['byo', 'byof']) {
    await swarmup(store, ['lb', 'rm', '--cluster', c], env);
    await swarmup(store, ['cluster', 'down', c], env);
  }
  await Promise.all(Object.values(VMS).map((n) => removeVm(n)));
});

describe('a bad inventory is refused before any host is touched', () => {
  const base = () => ['byo-bad', '--driver', 'generic', '--generic-ssh-key', key];

  it('fewer hosts than machines', async () => {
    const r = await swarmup(
      store,
      ['cluster', 'up', ...base(), ...hostFlags(ip[VMS.a]), '--managers', '1', '--workers', '2'],
      env,
    );
    expect(expectOnlyLineError(r)).toBe(
      '3 machines (1 manager, 2 workers) but 1 host: give --generic-ip-address once per machine (managers first), or spec.hosts in the cluster file',
    );
  });

  it('a duplicate address', async () => {
    const r = await swarmup(
      store,
      ['cluster', 'up', ...base(), ...hostFlags(ip[VMS.a], ip[VMS.b], ip[VMS.a])],
      env,
    );
    expect(expectOnlyLineError(r)).toBe(
      `host ${ip[VMS.a]} is listed twice (hosts 1 and 3): each machine needs a host of its own`,
    );
  });

  it('an unreachable host', async () => {
    const gone = '172.29.255.253'; // a lab address no VM has
    const r = await swarmup(
      store,
      ['cluster', 'up', ...base(), ...hostFlags(ip[VMS.a], gone, ip[VMS.b])],
      env,
    );
    expect(expectOnlyLineError(r)).toMatch(
      new RegExp(
        `^1 of 3 new hosts cannot be used, nothing was changed on any: ${gone.replace(/\./g, '\\.')} \\(byo-bad-worker-1\\): cannot reach root@${gone.replace(/\./g, '\\.')}:22 over SSH`,
      ),
    );
    expect(r.code).toBe(3);
  });

  it('left nothing: no machine, no cluster, nothing on the hosts', async () => {
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
    expect((await swarmup(store, ['cluster', 'ls', '--json'])).stdout.trim()).toBe('[]');
    for (const vm of Object.values(VMS)) await untouched(vm);
  });
});

describe('cluster up byo --generic-ip-address A B C', () => {
  const args = () => [
    'byo',
    '--driver',
    'generic',
    '--generic-ssh-key',
    key,
    ...hostFlags(ip[VMS.a], ip[VMS.b], ip[VMS.c]),
    '--managers',
    '1',
    '--workers',
    '2',
  ];

  it('makes three Ready nodes of hosts that keep their own hostnames, two of them "ubuntu"', async () => {
    const r = await timed('cluster up, 3 hosts, cold', () => up(...args()));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.created.sort()).toEqual(['byo-manager-1', 'byo-worker-1', 'byo-worker-2']);
    expect(result.nodes.map((n: { machine: string; state: string }) => `${n.machine} ${n.state}`)).toEqual([
      'byo-manager-1 ready',
      'byo-worker-1 ready',
      'byo-worker-2 ready',
    ]);
    expect(await nodeList('byo')).toEqual(['edge-7 Ready', 'ubuntu Ready', 'ubuntu Ready']);
    expect(await machinesOf('byo')).toEqual([
      'byo-manager-1@ubuntu',
      'byo-worker-1@ubuntu',
      'byo-worker-2@edge-7',
    ]);
    // Not renamed.
    for (const [vm, h] of [
      [VMS.a, 'ubuntu'],
      [VMS.b, 'ubuntu'],
      [VMS.c, 'edge-7'],
    ])
      expect((await vmExec(vm, 'hostname')).stdout.trim()).toBe(h);
  });

  it('a re-run changes nothing', async () => {
    const versions = await clusterDocker(
      'byo',
      `node inspect $(docker node ls -q) --format '{{.ID}} {{.Version.Index}}'`,
    );
    const r = await timed('cluster up, 3 hosts, converged re-run', () => up(...args()));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ created: [], repaired: [], removed: [], joined: [] });
    expect(JSON.parse(r.stdout).unchanged).toHaveLength(3);
    expect(r.stderr).toContain('The swarm is up to date');
    const again = await clusterDocker(
      'byo',
      `node inspect $(docker node ls -q) --format '{{.ID}} {{.Version.Index}}'`,
    );
    expect(again.stdout).toBe(versions.stdout);
  });

  it('lb sync sends traffic to a host-mode service, backends named after the machines', async () => {
    const load = await swarmup(store, ['image', 'load', '--cluster', 'byo', labImages.httpd], env);
    expect(load.code, load.stderr).toBe(0);
    const svc = await clusterDocker(
      'byo',
      `service create -d --name web --mode global -p mode=host,published=${PORT},target=80 ${labImages.httpd}`,
    );
    expect(svc.code, svc.stderr).toBe(0);
    await eventually(
      async () => (await clusterDocker('byo', `service ls --format '{{.Replicas}}'`)).stdout.trim() === '3/3',
      60_000,
      'web 3/3',
    );
    const sync = await swarmup(
      store,
      ['lb', 'sync', '--cluster', 'byo', '--lb-image', labImages.haproxy],
      env,
    );
    expect(sync.code, sync.stderr).toBe(0);
    await eventually(
      async () =>
        (await bash(`curl -s --max-time 2 127.0.0.1:${PORT}`)).stdout.includes('swarmup-lab httpd OK'),
      60_000,
      'traffic',
    );
    const status = await swarmup(store, ['lb', 'status', '--cluster', 'byo', '--json'], env);
    expect(status.stdout).toContain('byo-worker-1');
    expect(status.stdout).not.toMatch(/ubuntu-[a-z0-9]{12}/);
  });

  it('cluster down gives the hosts back: reachable, the own Docker of byo-a running with its image and container', async () => {
    expect(await containersNamed('swarmup-lb-byo')).toEqual(['swarmup-lb-byo']);
    const r = await swarmup(store, ['cluster', 'down', 'byo'], env);
    expect(r.code, r.stderr).toBe(0);
    // The load balancer goes with the cluster (the one table in src/lb/backends.ts), no lb rm first.
    expect(await containersNamed('swarmup-lb-byo')).toEqual([]);
    expect(r.stderr).toContain('byo-manager-1: left the swarm');
    expect(r.stderr).toContain(
      'its own Docker Engine runs again with its own configuration, images and containers kept',
    );
    expect(r.stderr).toContain('its own Docker Engine is stopped, as it was before swarmup');
    for (const vm of [VMS.a, VMS.b, VMS.c]) {
      expect(
        (
          await bash(
            `ssh -i ${key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@${ip[vm]} true`,
          )
        ).code,
        vm,
      ).toBe(0);
      await untouched(vm);
    }
    await ownDockerRuns(VMS.a);
    // Its own files in /etc/docker are there as they were; swarmup's certificate and key are gone.
    expect(
      (await vmExec(VMS.a, 'cat /etc/docker/certs.d/reg.example/ca.crt /etc/docker/ca.pem')).stdout,
    ).toBe('own-reg\nown-ca\n');
    expect((await vmExec(VMS.b, 'pidof dockerd')).code).not.toBe(0);
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
  });
});

describe('cluster up -f with spec.hosts (a sudo user on one host)', () => {
  const file = () => join(work, 'byof.yaml');
  const yaml = (hosts: string[]) => `apiVersion: swarmup.io/v1alpha1
kind: Cluster
metadata:
  name: byof
spec:
  driver: generic
  hosts:
${hosts.join('\n')}
  driverOptions:
    generic-ssh-key: ${key}
`;
  const C = () => `    - { address: ${ip[VMS.c]}, role: manager }`;
  const A = () => `    - address: ${ip[VMS.a]}\n      labels: { zone: a }`;
  const D = () => `    - { address: ${ip[VMS.d]}, user: deploy, internalAddress: ${ip[VMS.d]} }`;
  const B = () => `    - address: ${ip[VMS.b]}`;
  const upFile = async (hosts: string[]) => {
    await writeFile(file(), yaml(hosts));
    return up('-f', file());
  };

  it('config init --driver generic writes a sample with hosts, valid against the schema', async () => {
    const sample = await swarmup(store, ['config', 'init', '--driver', 'generic']);
    expect(sample.code, sample.stderr).toBe(0);
    expect(sample.stdout).toContain('  hosts:\n    - address: 203.0.113.10');
    const schema = JSON.parse((await swarmup(store, ['config', 'schema'])).stdout);
    expect(Object.keys(schema.properties.spec.properties.hosts.items.properties)).toEqual([
      'address',
      'role',
      'user',
      'port',
      'key',
      'internalAddress',
      'labels',
    ]);
  });

  it('makes the swarm the file says: roles, labels, a host reached as a sudo user', async () => {
    const r = await upFile([C(), A(), D()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created.sort()).toEqual(['byof-manager-1', 'byof-worker-1', 'byof-worker-2']);
    expect(await machinesOf('byof')).toEqual([
      'byof-manager-1@edge-7',
      'byof-worker-1@ubuntu',
      'byof-worker-2@ubuntu',
    ]);
    const labels = await clusterDocker(
      'byof',
      `node inspect --format '{{json .Spec.Labels}}' $(docker node ls -q --filter node.label=zone=a)`,
    );
    expect(JSON.parse(labels.stdout)).toMatchObject({
      zone: 'a',
      'swarmup.machine': 'byof-worker-1',
      'swarmup.role': 'worker',
    });
    expect((await vmExec(VMS.d, 'stat -c %U:%a /etc/docker/server-key.pem')).stdout.trim()).toBe('root:600');
  });

  it('a longer list adds the host; the others are left alone', async () => {
    const r = await upFile([C(), A(), D(), B()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ created: ['byof-worker-3'], removed: [] });
    expect(JSON.parse(r.stdout).unchanged).toHaveLength(3);
    expect(await nodeList('byof')).toEqual(['edge-7 Ready', 'ubuntu Ready', 'ubuntu Ready', 'ubuntu Ready']);
  });

  it('a host taken off the list is drained, leaves the swarm and is given back', async () => {
    const r = await upFile([C(), D(), B()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ created: [], removed: ['byof-worker-1'] });
    expect(await machinesOf('byof')).toEqual([
      'byof-manager-1@edge-7',
      'byof-worker-2@ubuntu',
      'byof-worker-3@ubuntu',
    ]);
    await untouched(VMS.a);
    await ownDockerRuns(VMS.a);
  });

  it('cluster scale drops the last worker host, and adds a host given to it', async () => {
    const fewer = await swarmup(store, ['cluster', 'scale', 'byof', '--workers', '1', '--json'], env);
    expect(fewer.code, fewer.stderr).toBe(0);
    expect(JSON.parse(fewer.stdout).removed).toEqual(['byof-worker-3']);
    await untouched(VMS.b);
    const more = await swarmup(
      store,
      ['cluster', 'scale', 'byof', '--generic-ip-address', ip[VMS.a], '--json'],
      env,
    );
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout).created).toEqual(['byof-worker-1']);
    expect(await machinesOf('byof')).toEqual([
      'byof-manager-1@edge-7',
      'byof-worker-1@ubuntu',
      'byof-worker-2@ubuntu',
    ]);
  });

  it('cluster down gives every host back', async () => {
    const r = await swarmup(store, ['cluster', 'down', 'byof'], env);
    expect(r.code, r.stderr).toBe(0);
    for (const vm of [VMS.a, VMS.c, VMS.d]) await untouched(vm);
    await ownDockerRuns(VMS.a);
  });
});
