/**
 * SIGKILL and SIGTERM at points that cover every phase of a new cluster's `cluster up` (docker driver,
 * lab engine): after a SIGTERM the run has removed what it made; after either, a re-run converges to
 * exactly the desired nodes, and `cluster down` leaves no container, network or volume. Also the
 * second signal, and an interrupted `create`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { labUp, labImages } from '../lab/lab.js';
import { swarmup, tempDir } from '../e2e/helpers.js';
import {
  addFigures,
  dockerUp,
  containersNamed,
  downAndCount,
  expectConverged,
  killAt,
  labEnv,
  labelled,
  memberNames,
  mountedVolumes,
  newFigures,
  start,
  type KillPoint,
} from './harness.js';

const CLUSTER = 'flts';
const figures = newFigures();
let store: string;
const up = dockerUp(CLUSTER, 1, 1);
const desired = memberNames(CLUSTER, 1, 1);

/** Points through every phase: machines (pre-create, create, provisioning steps), swarm, ready. */
const POINTS: KillPoint[] = [
  { name: 'pre-create checks', line: /Running pre-create checks/ },
  { name: 'creating the first container', line: /Creating machine/ },
  { name: 'a container exists', when: async () => (await labelled(CLUSTER)).containers.length >= 1 },
  { name: 'detecting the OS', line: /Detecting operating system/ },
  { name: 'provisioning', line: /Provisioning with/ },
  { name: 'copying certificates', line: /Copying certs/ },
  { name: 'engine configuration', line: /Setting Docker configuration/ },
  { name: 'engine check', line: /Checking connection to Docker/ },
  { name: 'swarm init', line: /Initializing a swarm/ },
  { name: 'worker join', line: /Joining 1 worker/ },
  { name: 'node labels', line: /Labelling/ },
  { name: 'swarm phase start', line: /Z Swarm\.\.\./ },
];

/** A small seeded generator: the offsets after each point vary between runs, and the seed is printed. */
const seed = Number(process.env.SWARMUP_FAULT_SEED ?? Date.now() % 100_000);
let state = seed;
const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

/**
 * Twelve points per signal, every phase once, each with a random offset of 0-150 ms after it. A point
 * can come after the run ended (the last phases take milliseconds); at least ten kills per signal
 * must land, and that is checked.
 */
function plan(offset: number): KillPoint[] {
  return Array.from({ length: POINTS.length }, (_, i) => {
    const p = POINTS[(i + offset) % POINTS.length];
    return { ...p, delayMs: Math.floor(random() * 150) };
  });
}
const landed = { SIGKILL: 0, SIGTERM: 0 };
const missed: string[] = [];

const volumes = new Set<string>();
const noteVolumes = async () => {
  for (const v of await mountedVolumes(CLUSTER)) volumes.add(v);
};

beforeAll(async () => {
  await labUp();
  store = join(await tempDir('swarmup-faults-'), 'store');
  process.stderr.write(`faults/signals: seed ${seed} (SWARMUP_FAULT_SEED=${seed} repeats the offsets)\n`);
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
});

afterAll(async () => {
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
  addFigures('signals', figures);
});

async function scenario(signal: 'SIGKILL' | 'SIGTERM', point: KillPoint): Promise<void> {
  figures.cases++;
  const k = await killAt(store, up, point, signal, labEnv());
  await noteVolumes();
  if (k.landed) {
    figures.kills++;
    landed[signal]++;
  } else missed.push(`${signal} at ${point.name}`);
  if (k.landed && signal === 'SIGTERM') {
    // A new cluster interrupted by SIGTERM removes what this run made: nothing is left to find.
    expect(k.code, k.stderr).toBe(143);
    expect(k.stderr).toMatch(/interrupted by SIGTERM/);
    const left = await labelled(CLUSTER);
    figures.leftovers += left.containers.length + left.networks.length;
    expect(left, `${point.name}: ${k.stderr}`).toEqual({ containers: [], networks: [] });
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
  }
  const again = await swarmup(store, [...up, '--json'], labEnv());
  expect(again.code, `${point.name} (${signal}): ${again.stderr}`).toBe(0);
  await noteVolumes();
  figures.leftovers += await expectConverged(store, CLUSTER, desired);
  figures.converged++;
  const left = await downAndCount(store, CLUSTER, volumes);
  figures.leftovers += left;
  expect(left, `${point.name}: what cluster down left`).toBe(0);
}

describe('SIGKILL at points through a new cluster up, then a re-run', () => {
  for (const [i, p] of plan(0).entries()) {
    it(`SIGKILL #${i + 1} at "${p.name}" (+${p.delayMs} ms)`, () => scenario('SIGKILL', p));
  }
});

describe('SIGTERM at points through a new cluster up: rolled back, then a re-run', () => {
  for (const [i, p] of plan(6).entries()) {
    it(`SIGTERM #${i + 1} at "${p.name}" (+${p.delayMs} ms)`, () => scenario('SIGTERM', p));
  }
  it('at least ten kills of each signal landed mid-run', () => {
    if (missed.length) process.stderr.write(`faults/signals: run already over at ${missed.join(', ')}\n`);
    expect(landed.SIGKILL).toBeGreaterThanOrEqual(10);
    expect(landed.SIGTERM).toBeGreaterThanOrEqual(10);
  });
});

describe('a second signal and interrupted creates', () => {
  it('a second SIGTERM exits at once; a re-run converges', async () => {
    figures.cases++;
    const p = start(store, up, labEnv());
    await new Promise<void>((r) => {
      const on = () => /Provisioning with/.test(p.stderr()) && r();
      p.child.stderr!.on('data', on);
    });
    p.child.kill('SIGTERM');
    await new Promise<void>((r) => {
      const on = () => /stopping after the steps under way/.test(p.stderr()) && r();
      p.child.stderr!.on('data', on);
      on();
    });
    p.child.kill('SIGTERM');
    const end = await p.exited;
    expect(end.code, p.stderr()).toBe(143);
    expect(p.stderr()).toMatch(/SIGTERM again: exiting now/);
    figures.kills++;
    await noteVolumes();
    const again = await swarmup(store, up, labEnv());
    expect(again.code, again.stderr).toBe(0);
    figures.leftovers += await expectConverged(store, CLUSTER, desired);
    figures.converged++;
    const left = await downAndCount(store, CLUSTER, volumes);
    figures.leftovers += left;
    expect(left).toBe(0);
  });

  const create = ['create', '--driver', 'docker', '--docker-image', labImages.node, 'flts-single'];

  it('create interrupted by SIGTERM removes its container and its claim', async () => {
    figures.cases++;
    const k = await killAt(
      store,
      create,
      { name: 'provisioning', line: /Provisioning with/ },
      'SIGTERM',
      labEnv(),
    );
    expect(k.landed, k.stderr).toBe(true);
    figures.kills++;
    expect(k.code).toBe(143);
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
    const mine = await containersNamed('swarmup-flts-single');
    figures.leftovers += mine.length;
    expect(mine).toEqual([]);
  });

  it('create killed by SIGKILL: ls shows the interrupted create, rm removes it, a new create takes the name', async () => {
    figures.cases++;
    const k = await killAt(
      store,
      create,
      { name: 'creating', line: /Creating machine/, delayMs: 50 },
      'SIGKILL',
      labEnv(),
    );
    expect(k.landed, k.stderr).toBe(true);
    figures.kills++;
    const ls = await swarmup(store, ['ls', '--json'], labEnv());
    const row = (JSON.parse(ls.stdout) as Array<{ Name: string; State: string; Error: string }>).find(
      (r) => r.Name === 'flts-single',
    );
    expect(row).toMatchObject({ State: 'Error' });
    expect(row!.Error).toMatch(/interrupted create/);
    const rm = await swarmup(store, ['rm', '-y', 'flts-single'], labEnv());
    expect(rm.code, rm.stderr).toBe(0);
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
    // A container the killed create had made carries this store's labels: the next create replaces it.
    const made = await swarmup(store, create, labEnv());
    expect(made.code, made.stderr).toBe(0);
    const gone = await swarmup(store, ['rm', '-y', 'flts-single'], labEnv());
    expect(gone.code, gone.stderr).toBe(0);
    const mine = await containersNamed('swarmup-flts-single');
    figures.leftovers += mine.length;
    expect(mine).toEqual([]);
  });
});
