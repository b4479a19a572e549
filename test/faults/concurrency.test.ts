/**
 * Runs that race: two `cluster up` of one new cluster at once (one wins, the other is refused with the
 * lock message or waits with --wait-lock; the winner's cluster intact), a second store on the same
 * engine making a cluster of the same name (it must not take the first one's machines with it when it
 * fails), and a lock left by a killed process (taken over).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labUp } from '../lab/lab.js';
import { swarmup, tempDir } from '../e2e/helpers.js';
import {
  addFigures,
  dockerUp,
  downAndCount,
  expectConverged,
  labEnv,
  labelled,
  memberNames,
  mountedVolumes,
  newFigures,
  start,
} from './harness.js';

const CLUSTER = 'fltc';
const figures = newFigures();
let work: string;
let store: string;
const up = (extra: string[] = []) => dockerUp(CLUSTER, 1, 1, extra);
const desired = memberNames(CLUSTER, 1, 1);
const volumes = new Set<string>();
const noteVolumes = async () => {
  for (const v of await mountedVolumes(CLUSTER)) volumes.add(v);
};

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-faults-');
  store = join(work, 'store');
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
});

afterAll(async () => {
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
  addFigures('concurrency', figures);
});

async function race(extra: string[]) {
  const a = start(store, up(extra));
  const b = start(store, up(extra));
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  await noteVolumes();
  return [
    { code: ea.code, stderr: a.stderr() },
    { code: eb.code, stderr: b.stderr() },
  ];
}

describe('two cluster up of one new cluster at once', () => {
  for (const round of [1, 2, 3]) {
    it(`round ${round}: one wins, the other is refused with the lock message; the winner's cluster is intact`, async () => {
      figures.cases++;
      const runs = await race([]);
      const won = runs.filter((r) => r.code === 0);
      expect(won.length, runs.map((r) => r.stderr).join('\n----\n')).toBeGreaterThanOrEqual(1);
      for (const r of runs.filter((x) => x.code !== 0)) {
        expect(r.stderr.trim().split('\n').at(-1)).toMatch(
          /^cluster "fltc" is being changed by pid \d+ on \S+ \(cluster up\): wait for it to finish, or pass --wait-lock$/,
        );
      }
      figures.leftovers += await expectConverged(store, CLUSTER, desired);
      figures.converged++;
      const left = await downAndCount(store, CLUSTER, volumes);
      figures.leftovers += left;
      expect(left).toBe(0);
    });
  }

  it('with --wait-lock the second waits, then finds the cluster made and leaves it alone', async () => {
    figures.cases++;
    const runs = await race(['--wait-lock', '5m', '--json']);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const waited = runs.filter((r) => /is being changed by pid \d+ .*; waiting/.test(r.stderr));
    // Both may also have run one after the other without meeting; when they met, one waited.
    expect(waited.length).toBeLessThanOrEqual(1);
    figures.leftovers += await expectConverged(store, CLUSTER, desired);
    figures.converged++;
  });

  it('a lock left by a killed process on this host is taken over', async () => {
    figures.cases++;
    // pid 2^22 - 1 is above Linux's default pid_max: no such process.
    await writeFile(
      join(store, 'clusters', `${CLUSTER}.lock`),
      `4194303 ${(await import('node:os')).hostname()} cluster up\n`,
    );
    const r = await swarmup(store, up(['--json']), labEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).unchanged).toHaveLength(2);
  });

  it('a lock held on another host is refused, naming the holder and the file to delete if it is gone', async () => {
    figures.cases++;
    const lock = join(store, 'clusters', `${CLUSTER}.lock`);
    await writeFile(lock, `12345 ci-runner-7 cluster down\n`);
    const r = await swarmup(store, ['cluster', 'down', CLUSTER], labEnv());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `cluster "${CLUSTER}" is being changed by pid 12345 on ci-runner-7 (cluster down): wait for it to finish, or pass --wait-lock (if that process is gone, delete ${lock})`,
    );
    await rm(lock);
    const left = await downAndCount(store, CLUSTER, volumes);
    figures.leftovers += left;
    expect(left).toBe(0);
  });
});

describe('a second store on the same engine', () => {
  it("making a cluster of the same name fails without touching the first store's cluster", async () => {
    figures.cases++;
    const first = await swarmup(store, up(), labEnv());
    expect(first.code, first.stderr).toBe(0);
    await noteVolumes();
    const other = join(work, 'other-store');
    await mkdir(other, { recursive: true });
    const second = await swarmup(other, up(), labEnv());
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/a container named swarmup-fltc-manager-1 already exists/);
    expect(second.stderr).toMatch(/Nothing was left behind/);
    // The first store's cluster is whole: its containers, network and swarm.
    figures.leftovers += await expectConverged(store, CLUSTER, desired);
    figures.converged++;
    expect((await labelled(CLUSTER)).containers).toHaveLength(2);
    const left = await downAndCount(store, CLUSTER, volumes);
    figures.leftovers += left;
    expect(left).toBe(0);
  });
});
