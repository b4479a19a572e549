/**
 * The fault-injection harness: start swarmup and kill it at a chosen point, a TCP endpoint that never
 * answers, checks that a cluster converged to exactly its machines with nothing leaked, a snapshot of
 * a store to prove a refused command changed nothing, and the suite's figures. Scenarios for other
 * kinds of damage (a lost manager, a lost quorum) reuse these pieces: `killAt` takes any argv and any
 * kill point, `expectConverged` any desired node list.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { labDocker, labDockerHost, labImages } from '../lab/lab.js';
import { bin, eventually, swarmup, type Run } from '../e2e/helpers.js';

export const labEnv = () => ({ DOCKER_HOST: labDockerHost });

// ---- figures ---------------------------------------------------------------------------------------

export interface Figures {
  /** Scenarios run (each kill, each bad input, each hung endpoint, each race). */
  cases: number;
  /** Processes killed by a signal mid-run (checked to have died of it, or exited with its code). */
  kills: number;
  /** Re-runs that converged to exactly the desired nodes. */
  converged: number;
  /** Containers, networks, volumes or node entries left behind where none should be. */
  leftovers: number;
}

export const figuresFile = process.env.SWARMUP_FAULT_FIGURES ?? join(tmpdir(), 'swarmup-fault-figures.json');

/** Add one file's figures to the run's total (files run one after another). */
export function addFigures(suite: string, f: Figures): void {
  let all: Record<string, Figures> = {};
  try {
    all = JSON.parse(readFileSync(figuresFile, 'utf8')) as Record<string, Figures>;
  } catch {
    // first file of the run
  }
  all[suite] = f;
  writeFileSync(figuresFile, JSON.stringify(all, null, 2));
  process.stderr.write(`faults/${suite}: ${formatFigures(f)}\n`);
}

export const formatFigures = (f: Figures) =>
  `cases ${f.cases}, kills ${f.kills}, converged ${f.converged}, leftovers ${f.leftovers}`;

export const newFigures = (): Figures => ({ cases: 0, kills: 0, converged: 0, leftovers: 0 });

// ---- processes ---------------------------------------------------------------------------------------

export interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the CLI with a store and environment; stderr is collected, stdout ignored. */
export function start(store: string, argv: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [bin, ...argv], {
    env: { ...process.env, ...labEnv(), ...env, SWARMUP_STORAGE_PATH: store },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  return { child, stderr: () => err, exited };
}

/** Where to kill: when stderr matches `line`, or when `when` holds, then `delayMs` later. */
export interface KillPoint {
  name: string;
  line?: RegExp;
  when?: () => Promise<boolean>;
  delayMs?: number;
}

/** The last lines `cluster up` and `create` print when their work is done. */
const FINISHED = /^Cluster "[^"]+" is up:|Docker is up and running!/m;

/**
 * Run swarmup and send `signal` at `point`. Returns how it ended; `landed` is false when the process
 * had already finished (the point came too late), so callers count only kills that really happened.
 */
export async function killAt(
  store: string,
  argv: string[],
  point: KillPoint,
  signal: 'SIGKILL' | 'SIGTERM' | 'SIGINT',
  env: NodeJS.ProcessEnv = {},
): Promise<{ landed: boolean; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const p = start(store, argv, env);
  let done = false;
  void p.exited.then(() => (done = true));
  const fire = () => setTimeout(() => !done && p.child.kill(signal), point.delayMs ?? 0);
  if (point.line) {
    await new Promise<void>((resolve) => {
      const check = () => {
        if (point.line!.test(p.stderr()) || done) {
          p.child.stderr!.off('data', check);
          resolve();
        }
      };
      p.child.stderr!.on('data', check);
      void p.exited.then(() => resolve());
    });
  } else if (point.when) {
    await eventually(async () => done || (await point.when!()), 120_000, `kill point ${point.name}`);
  }
  const firedBeforeExit = !done;
  fire();
  const end = await p.exited;
  // A signal that reaches the process after it printed its result (while it exits) kills a finished
  // run: the work was done, so that is not an interruption and does not count as one.
  const finished = FINISHED.test(p.stderr());
  const landed =
    firedBeforeExit &&
    !finished &&
    (end.signal === signal || (signal !== 'SIGKILL' && (end.code === 130 || end.code === 143)));
  return { landed, code: end.code, signal: end.signal, stderr: p.stderr() };
}

// ---- what a cluster left on the lab engine -------------------------------------------------------------

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

/** Names of containers, networks and volumes labelled with the cluster. */
export async function labelled(cluster: string) {
  const f = ['--filter', `label=swarmup.cluster=${cluster}`];
  const [c, n] = await Promise.all([
    labDocker(['ps', '-a', '--format', '{{.Names}}', ...f]),
    labDocker(['network', 'ls', '--format', '{{.Name}}', ...f]),
  ]);
  return { containers: lines(c.stdout), networks: lines(n.stdout) };
}

/** Anonymous volumes the cluster's containers mount now (to be checked gone later). */
export async function mountedVolumes(cluster: string): Promise<string[]> {
  const ids = lines((await labDocker(['ps', '-aq', '--filter', `label=swarmup.cluster=${cluster}`])).stdout);
  if (!ids.length) return [];
  const m = await labDocker(['inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', ...ids]);
  return m.stdout.split(/\s+/).filter(Boolean);
}

/** Volumes of `names` that still exist. */
export async function existingVolumes(names: Iterable<string>): Promise<string[]> {
  const left: string[] = [];
  for (const v of names) if ((await labDocker(['volume', 'inspect', v])).code === 0) left.push(v);
  return left;
}

export const memberNames = (cluster: string, managers: number, workers: number) => [
  ...Array.from({ length: managers }, (_, i) => `${cluster}-manager-${i + 1}`),
  ...Array.from({ length: workers }, (_, i) => `${cluster}-worker-${i + 1}`),
];

/**
 * The cluster is exactly `desired`: one container per machine and nothing else labelled with it, one
 * network, the store's machines, and the swarm's node list equal to the machines, every node Ready
 * (no stale entry hidden). Returns how many things were off (leftovers), after asserting.
 */
export async function expectConverged(store: string, cluster: string, desired: string[]): Promise<number> {
  const want = [...desired].sort();
  const got = await labelled(cluster);
  const machines = got.containers.filter((c) => !c.startsWith('swarmup-lb-'));
  const status = await swarmup(store, ['cluster', 'status', cluster, '--json'], labEnv());
  expect(status.code, status.stderr).toBe(0);
  const nodes = (JSON.parse(status.stdout) as { nodes: Array<{ hostname: string; state: string }> }).nodes
    .map((n) => `${n.hostname}:${n.state}`)
    .sort();
  const ls = lines((await swarmup(store, ['ls', '-q'])).stdout).filter((n) => n.startsWith(`${cluster}-`));
  const off =
    Math.abs(machines.length - want.length) +
    Math.max(0, got.networks.length - 1) +
    Math.abs(nodes.length - want.length);
  expect(machines).toEqual(want.map((n) => `swarmup-${n}`));
  expect(got.networks).toHaveLength(1);
  expect(ls).toEqual(want);
  expect(nodes).toEqual(want.map((n) => `${n}:ready`));
  return off;
}

/**
 * The swarm's node list, by node ID, is exactly the machines: `docker node ls` on a manager lists the
 * node ID each machine's own daemon reports and nothing else (whatever hostname a stale entry has),
 * every node Ready, `managers` of them managers with one leader. Returns how many entries were off.
 */
export async function expectNodeIdsAreMachines(desired: string[], managers: number): Promise<number> {
  const own: string[] = [];
  for (const m of desired) {
    const r = await labDocker(['exec', `swarmup-${m}`, 'docker', 'info', '--format', '{{.Swarm.NodeID}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim(), `${m} is in no swarm`).not.toBe('');
    own.push(r.stdout.trim());
  }
  const ls = await labDocker([
    'exec',
    `swarmup-${desired[0]}`,
    'docker',
    'node',
    'ls',
    '--format',
    '{{.ID}} {{.Status}} {{.ManagerStatus}}',
  ]);
  expect(ls.code, ls.stderr).toBe(0);
  const rows = lines(ls.stdout).map((l) => l.trim().split(/\s+/));
  const listed = rows.map((r) => r[0]);
  const off =
    listed.filter((id) => !own.includes(id)).length + own.filter((id) => !listed.includes(id)).length;
  expect(listed.sort(), ls.stdout).toEqual([...own].sort());
  expect(
    rows.filter((r) => r[1] !== 'Ready'),
    ls.stdout,
  ).toEqual([]);
  expect(
    rows.filter((r) => r[2] === 'Leader' || r[2] === 'Reachable'),
    ls.stdout,
  ).toHaveLength(managers);
  expect(
    rows.filter((r) => r[2] === 'Leader'),
    ls.stdout,
  ).toHaveLength(1);
  return off;
}

/** Remove the cluster and count what `cluster down` left (containers, networks, volumes). */
export async function downAndCount(
  store: string,
  cluster: string,
  volumes: Iterable<string>,
): Promise<number> {
  const d = await swarmup(store, ['cluster', 'down', cluster, '--driver', 'docker'], labEnv());
  expect(d.code, d.stderr).toBe(0);
  const left = await labelled(cluster);
  const vols = await existingVolumes(volumes);
  return left.containers.length + left.networks.length + vols.length;
}

// ---- endpoints that never answer ----------------------------------------------------------------------

/** A TCP listener that accepts connections and never says a word (nor closes them). */
export async function silentListener(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

// ---- refusals ------------------------------------------------------------------------------------------

/** Every file under `dir` with its content hash (symbolic links by target): a store's fingerprint. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(d);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const p = join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      const st = await lstat(p);
      if (st.isSymbolicLink()) out[r] = `link:${await readlink(p)}`;
      else if (st.isDirectory()) {
        out[`${r}/`] = 'dir';
        await walk(p, r);
      } else
        out[r] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}

/** A refusal as the standards want it: non-zero exit, no stack trace, one line saying why. */
export function expectRefusal(r: Run, why: RegExp): void {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/Unhandled|TypeError|RangeError|SyntaxError: |ReferenceError/);
  const errLines = r.stderr.trim().split('\n');
  expect(errLines.at(-1)).toMatch(why);
}

/** Containers on the lab engine whose name is exactly `name` (0 or 1). */
export async function containersNamed(name: string): Promise<string[]> {
  const r = await labDocker(['ps', '-a', '--format', '{{.Names}}', '--filter', `name=^${name}$`]);
  return lines(r.stdout);
}

/** `cluster up` of a docker-driver cluster on the lab's node image. */
export const dockerUp = (cluster: string, managers: number, workers: number, extra: string[] = []) => [
  'cluster',
  'up',
  cluster,
  '--driver',
  'docker',
  '--docker-image',
  labImages.node,
  '--managers',
  String(managers),
  '--workers',
  String(workers),
  ...extra,
];
