/**
 * SIGKILL and SIGTERM at random points of a `cluster up` that repairs a damaged cluster (docker
 * driver, lab engine, 3 managers + 1 worker): one manager lost (its container removed: the leader or
 * another), and the raft quorum lost (two of three managers removed). After each kill a re-run must
 * converge to exactly the desired node list: `docker node ls` on a manager lists by node ID exactly
 * the node each machine's daemon is, all Ready, three managers and one leader, with no stale entry of
 * the machines that were lost, whatever its hostname.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { labDocker, labUp } from '../lab/lab.js';
import { swarmup, tempDir } from '../e2e/helpers.js';
import {
  addFigures,
  dockerUp,
  downAndCount,
  expectConverged,
  expectNodeIdsAreMachines,
  killAt,
  labEnv,
  memberNames,
  mountedVolumes,
  newFigures,
  type KillPoint,
} from './harness.js';

const CLUSTER = 'fltr';
const MANAGERS = 3;
const figures = newFigures();
let store: string;
const up = dockerUp(CLUSTER, MANAGERS, 1);
const desired = memberNames(CLUSTER, MANAGERS, 1);
const managers = desired.slice(0, MANAGERS);
/** Kills that must land mid-run, per kind of damage (about half SIGKILL, half SIGTERM). */
const KILLS = 10;
/**
 * Tries per kind of damage at most: a point can come after the run is over (on 2026-12-07 a full run
 * had 5 of 14 tries end before their kill, all at the last two points with offsets of 67–184 ms).
 */
const MAX_TRIES = 18;

/** A kill point, with the most its random offset may be (default 200 ms). */
type Point = KillPoint & { maxDelayMs?: number };
/** The last points of a run come within a few hundred ms of its end: their offsets stay small. */
const LATE_MS = 40;

/** Points through a repairing run: the lost machines made again, the swarm repaired, readiness. */
const REMADE: Point[] = [
  { name: 'a lost machine found', line: /making it again/ },
  { name: 'creating a lost machine', line: /Creating machine/ },
  { name: 'provisioning', line: /Provisioning with/ },
  { name: 'copying certificates', line: /Copying certs/ },
  { name: 'engine configuration', line: /Setting Docker configuration/ },
  { name: 'engine check', line: /Checking connection to Docker/ },
  { name: 'swarm phase start', line: /Z Swarm\.\.\./ },
  { name: 'a manager joins', line: /Joining \S+ as a manager/ },
  { name: 'stale entries removed', line: /Removing the stale node/, maxDelayMs: LATE_MS },
  { name: 'nodes ready', line: /Z Nodes Ready\.\.\./, maxDelayMs: LATE_MS },
];
const QUORUM: Point[] = [
  { name: 'raft restart', line: /Restarting raft on/ },
  { name: 'the second manager joins', line: /Joining \S+ as a manager[\s\S]*Joining \S+ as a manager/ },
];

/** A small seeded generator: the offsets vary between runs, and the seed is printed. */
const seed = Number(process.env.SWARMUP_FAULT_SEED ?? Date.now() % 100_000);
let state = seed;
const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

const volumes = new Set<string>();
const noteVolumes = async () => {
  for (const v of await mountedVolumes(CLUSTER)) volumes.add(v);
};

async function leader(): Promise<string> {
  for (const m of managers) {
    const f = '{{.Hostname}} {{.ManagerStatus}}';
    const l = await labDocker(['exec', `swarmup-${m}`, 'docker', 'node', 'ls', '--format', f]);
    const row = l.stdout.split('\n').find((x) => x.endsWith(' Leader'));
    if (l.code === 0 && row) return row.split(' ')[0];
  }
  throw new Error('no manager knows a leader');
}

async function removeMachines(names: string[]): Promise<void> {
  for (const m of names) {
    const r = await labDocker(['rm', '-f', '-v', `swarmup-${m}`]);
    expect(r.code, r.stderr).toBe(0);
  }
}

interface Damage {
  name: string;
  /** Which machines to remove on try `i`. */
  lose(i: number): Promise<string[]>;
  points: Point[];
  /** The signals sent, alternately. */
  signals: Array<'SIGKILL' | 'SIGTERM'>;
}

const DAMAGE: Damage[] = [
  {
    name: 'one manager lost',
    // Every third try the leader (raft elects another first), otherwise a follower.
    lose: async (i) => {
      const l = await leader();
      return [i % 3 === 2 ? l : pick(managers.filter((m) => m !== l))];
    },
    points: REMADE,
    signals: ['SIGKILL', 'SIGTERM'],
  },
  {
    name: 'quorum lost',
    // Two of three managers, the leader among them or not.
    lose: async () => {
      const keep = pick(managers);
      return managers.filter((m) => m !== keep);
    },
    points: [...REMADE, ...QUORUM],
    signals: ['SIGKILL', 'SIGTERM'],
  },
];
/**
 * Both damages run. About one quorum-lost repair in forty, the raft restarted on the survivor never
 * names a leader (its raft membership does not name it; seen when the survivor had joined seconds
 * before the other managers were lost): the repair then rebuilds the swarm on it, and the re-run must
 * converge all the same. Those rebuilds are counted and printed.
 */
const RUN = DAMAGE;
const landed: Record<string, { SIGKILL: number; SIGTERM: number }> = {};
const missed: string[] = [];
/**
 * Repairs whose restarted raft named no leader until its Docker Engine was restarted (about one
 * quorum-lost repair in forty before swarmup did that; see docs/reliability.md).
 */
let engineRestarts = 0;
const ENGINE_RESTART = /with no leader: restarting its Docker Engine/;
/** Repairs that had to rebuild the swarm (see above). */
let rebuilds = 0;
const REBUILD = /Rebuilding the swarm \(the raft restarted on/;

beforeAll(async () => {
  await labUp();
  store = join(await tempDir('swarmup-faults-repair-'), 'store');
  process.stderr.write(`faults/repair-signals: seed ${seed} (SWARMUP_FAULT_SEED=${seed} repeats it)\n`);
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
  const r = await swarmup(store, up, labEnv());
  expect(r.code, r.stderr).toBe(0);
  await noteVolumes();
});

afterAll(async () => {
  const left = await downAndCount(store, CLUSTER, volumes);
  figures.leftovers += left;
  addFigures('repair-signals', figures);
  process.stderr.write(
    `faults/repair-signals: engine restarts after a raft restart: ${engineRestarts}; swarms rebuilt: ${rebuilds}\n`,
  );
  expect(left, 'what cluster down left').toBe(0);
});

/** Damage the converged cluster, kill its repairing `cluster up`, re-run; true when the kill landed. */
async function scenario(d: Damage, i: number): Promise<boolean> {
  const signal = d.signals[i % d.signals.length];
  const { maxDelayMs = 200, ...picked } = pick(d.points);
  const point = { ...picked, delayMs: Math.floor(random() * maxDelayMs) };
  const lost = await d.lose(i);
  figures.cases++;
  await removeMachines(lost);
  const k = await killAt(store, up, point, signal, labEnv());
  const what = `${d.name} (${lost.join(', ')}), ${signal} at "${point.name}" +${point.delayMs} ms`;
  if (k.landed) {
    figures.kills++;
    (landed[d.name] ??= { SIGKILL: 0, SIGTERM: 0 })[signal]++;
    // A repair interrupted by SIGTERM stops after the steps under way and says to run it again.
    if (signal === 'SIGTERM') expect(k.stderr, what).toMatch(/interrupted by SIGTERM[^\n]*cluster up" again/);
  } else missed.push(what);
  const again = await swarmup(store, up, labEnv());
  const restarts = [k.stderr, again.stderr].filter((out) => ENGINE_RESTART.test(out)).length;
  engineRestarts += restarts;
  const rebuilt = [k.stderr, again.stderr].filter((out) => REBUILD.test(out)).length;
  rebuilds += rebuilt;
  expect(again.code, `${what}: ${again.stderr}`).toBe(0);
  await noteVolumes();
  figures.leftovers += await expectConverged(store, CLUSTER, desired);
  figures.leftovers += await expectNodeIdsAreMachines(desired, MANAGERS);
  figures.converged++;
  process.stderr.write(
    `faults/repair-signals: ${what}: ${k.landed ? 'landed' : 'run already over'}, converged` +
      `${restarts ? `, after ${restarts} engine restart(s)` : ''}${rebuilt ? ', the swarm rebuilt' : ''}\n`,
  );
  return k.landed;
}

for (const d of RUN) {
  describe(`${d.name}: kills at random points of the repairing cluster up, then a re-run`, () => {
    it(`at least ${KILLS} kills land mid-run, and every re-run converges to exactly the machines`, async () => {
      let kills = 0;
      for (let i = 0; kills < KILLS && i < MAX_TRIES; i++) if (await scenario(d, i)) kills++;
      expect(kills, `landed: ${JSON.stringify(landed[d.name])}; over: ${missed.join('; ')}`).toBe(KILLS);
      for (const s of d.signals)
        expect(landed[d.name][s]).toBeGreaterThanOrEqual(KILLS / d.signals.length - 2);
    });
  });
}
