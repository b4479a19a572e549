/**
 * bench/cluster-up: wall time and per-phase times of `swarmup cluster up --driver docker` for 1+0, 1+2
 * and 3+5 nodes, and 3+5 with --parallel 1, from one run on this machine; prints the ratios
 * (3+5)/(1+0) and parallel/sequential (3+5 with --parallel 8 over --parallel 1). A first, unmeasured
 * 1+0 run warms the engine's caches so that the baseline is not paid for them. Needs the lab (bash test/lab/lab up) and a build.
 *   node dist/bench/cluster-up.js [--image swarmup-lab/node:bookworm]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const image = process.argv.includes('--image')
  ? process.argv[process.argv.indexOf('--image') + 1]
  : 'swarmup-lab/node:bookworm';
const store = mkdtempSync(join(tmpdir(), 'swarmup-bench-'));
const env = {
  ...process.env,
  SWARMUP_STORAGE_PATH: store,
  DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///run/swarmup-lab/docker.sock',
};

function swarmup(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

interface Run {
  label: string;
  seconds: number;
  phases: Record<string, number>;
}

function measure(label: string, managers: number, workers: number, parallel = 8): Run {
  const name = `bench-${managers}-${workers}-${parallel}`;
  swarmup(['cluster', 'down', name, '--driver', 'docker']);
  const t0 = process.hrtime.bigint();
  const r = swarmup([
    'cluster',
    'up',
    name,
    '--driver',
    'docker',
    '--docker-image',
    image,
    '--managers',
    String(managers),
    '--workers',
    String(workers),
    '--parallel',
    String(parallel),
    '--json',
  ]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${label} failed`);
  }
  const phases = (JSON.parse(r.stdout) as { durations: Record<string, number> }).durations;
  swarmup(['cluster', 'down', name, '--driver', 'docker']);
  return { label, seconds, phases };
}

measure('warm-up', 1, 0);
const runs = [
  measure('1+0', 1, 0),
  measure('1+2', 1, 2),
  measure('3+5', 3, 5),
  measure('3+5 --parallel 1', 3, 5, 1),
];
const fmt = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
console.log('nodes               wall s  machines  swarm  ready');
for (const r of runs) {
  console.log(
    `${r.label.padEnd(20)}${r.seconds.toFixed(1).padStart(6)}  ${fmt(r.phases.machines).padStart(8)}  ${fmt(r.phases.swarm).padStart(5)}  ${fmt(r.phases.ready).padStart(5)}`,
  );
}
const [one, , eight, seq] = runs;
console.log(
  `ratio (3+5)/(1+0):          ${(eight.seconds / one.seconds).toFixed(2)}  (aim: about 2 or less)`,
);
console.log(
  `ratio parallel/sequential:  ${(eight.seconds / seq.seconds).toFixed(2)}  (3+5 at --parallel 8 over --parallel 1)`,
);
console.log(`3+5 Ready in ${eight.seconds.toFixed(1)} s (aim: under 20 s on 2 cores)`);
