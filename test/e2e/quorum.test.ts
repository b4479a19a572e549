/**
 * Quorum repair that works the first time, tried again and again on a real local cluster (docker
 * driver: node containers on the lab engine, each with its own dockerd): two of three managers lost,
 * one manager lost (the leader or not), and a SIGKILL in the middle of a quorum repair followed by a
 * re-run. Every try must converge at once to exactly the desired node list: every machine Ready, no
 * leftover entry, the services kept. The figures (tries, converged, leftovers, seconds) are printed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import { dockerUp } from '../faults/harness.js';
import { bash, bin, parseEnv, swarmup, tempDir } from './helpers.js';

const CLUSTER = 'e2eq';
const TRIES = 5;
const MACHINES = [
  `${CLUSTER}-manager-1`,
  `${CLUSTER}-manager-2`,
  `${CLUSTER}-manager-3`,
  `${CLUSTER}-worker-1`,
];
let store: string;
let work: string;
const env = () => ({ DOCKER_HOST: labDockerHost });
const figures: Record<string, { tries: number; converged: number; leftovers: number; seconds: number[] }> =
  {};

async function clusterDocker(args: string) {
  const e = await swarmup(store, ['cluster', 'env', CLUSTER], env());
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

/** `docker node ls` as `hostname state manager-status`, sorted. */
async function nodeList(): Promise<string[]> {
  const r = await clusterDocker(`node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').sort();
}

/** Exactly the machines, each Ready, three managers with one leader; returns how many entries are extra. */
async function expectExactlyTheMachines(): Promise<number> {
  const lines = await nodeList();
  const extra = lines.length - MACHINES.length;
  expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(MACHINES.map((m) => `${m} Ready`));
  expect(lines.filter((l) => / Leader$/.test(l))).toHaveLength(1);
  expect(lines.filter((l) => / (Leader|Reachable)$/.test(l))).toHaveLength(3);
  const st = JSON.parse((await swarmup(store, ['cluster', 'status', CLUSTER, '--json'], env())).stdout);
  expect(st.nodes.map((n: { machine?: string }) => n.machine)).toEqual(MACHINES);
  const svc = await clusterDocker(`service ls --format '{{.Name}}'`);
  expect(svc.stdout.trim()).toBe('keep');
  return extra;
}

async function removeContainers(machines: string[]) {
  for (const m of machines) {
    const r = await labDocker(['rm', '-f', '-v', `swarmup-${m}`]);
    expect(r.code, r.stderr).toBe(0);
  }
}

async function leaderMachine(): Promise<string> {
  const l = (await nodeList()).find((x) => x.endsWith(' Leader'));
  return l!.split(' ')[0];
}

async function up(): Promise<{ code: number; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const r = await swarmup(store, ['cluster', 'up', CLUSTER], env());
  return { code: r.code, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** Start `cluster up`, SIGKILL it as soon as its progress shows `line`; check the kill landed. */
async function upKilledAt(line: RegExp): Promise<string> {
  const child = spawn(process.execPath, [bin, 'cluster', 'up', CLUSTER], {
    env: { ...process.env, ...env(), SWARMUP_STORAGE_PATH: store },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (line.test(stderr)) child.kill('SIGKILL');
  });
  expect(await exited, stderr).toEqual([null, 'SIGKILL']);
  return stderr;
}

function record(kind: string, seconds: number, leftovers: number) {
  const f = (figures[kind] ??= { tries: 0, converged: 0, leftovers: 0, seconds: [] });
  f.tries++;
  f.converged++;
  f.leftovers += leftovers;
  f.seconds.push(Math.round(seconds * 10) / 10);
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-quorum-');
  store = join(work, 'store');
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
  const r = await swarmup(store, dockerUp(CLUSTER, 3, 1), env());
  expect(r.code, r.stderr).toBe(0);
  const load = await swarmup(store, ['image', 'load', '--cluster', CLUSTER, labImages.httpd], env());
  expect(load.code, load.stderr).toBe(0);
  const svc = await clusterDocker(`service create -d --name keep --replicas 2 ${labImages.httpd}`);
  expect(svc.code, svc.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  console.log(`quorum repair figures: ${JSON.stringify(figures)}`);
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], env());
});

describe(`quorum repair, ${TRIES} times each`, () => {
  it('two of three managers lost: the immediate cluster up restores the swarm', async () => {
    for (let i = 0; i < TRIES; i++) {
      const lost = i % 2 ? [MACHINES[0], MACHINES[2]] : [MACHINES[1], MACHINES[2]];
      await removeContainers(lost);
      const r = await up();
      expect(r.code, `try ${i + 1}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toContain('docker swarm init --force-new-cluster');
      record('two of three managers lost', r.seconds, await expectExactlyTheMachines());
    }
  });

  it('one manager lost, the leader or another: cluster up rejoins it without a raft restart', async () => {
    for (let i = 0; i < TRIES; i++) {
      const leader = await leaderMachine();
      const lost = i % 2 ? MACHINES.slice(0, 3).find((m) => m !== leader)! : leader;
      await removeContainers([lost]);
      const r = await up();
      expect(r.code, `try ${i + 1} (${lost}): ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain('force-new-cluster');
      record('one manager lost', r.seconds, await expectExactlyTheMachines());
    }
  });

  it('SIGKILL in the middle of a quorum repair, then a re-run converges to exactly the machines', async () => {
    // Kill points through the repair: right after the raft restart starts, while the first and the
    // second lost manager join, and while the leftovers of the lost managers are removed.
    const points = [
      /Restarting raft on/,
      /Joining \S+ as a manager/,
      /Joining \S+ as a manager[\s\S]*Joining \S+ as a manager/,
      /Removing the stale node/,
      /Restarting raft on/,
    ];
    for (let i = 0; i < TRIES; i++) {
      await removeContainers([MACHINES[1], MACHINES[2]]);
      await upKilledAt(points[i % points.length]);
      const r = await up();
      expect(r.code, `try ${i + 1} (killed at ${points[i % points.length]}): ${r.stderr}`).toBe(0);
      record('SIGKILL during a quorum repair, then a re-run', r.seconds, await expectExactlyTheMachines());
    }
  });
});
