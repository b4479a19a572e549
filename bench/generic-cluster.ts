/**
 * bench/generic-cluster: `swarmup cluster up --driver generic` on lab VMs (Debian + docker.io, hostnames
 * all "ubuntu"), from one run on this machine: a 1-host cluster (the baseline), a 3-host cluster cold
 * (1 manager + 2 workers), and the same command again on the converged cluster. Prints the seconds and
 * the ratios 3 hosts / 1 host and converged re-run / cold. Needs the lab (bash test/lab/lab up) and a build.
 *   node dist/bench/generic-cluster.js
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const lab = fileURLToPath(new URL('../../test/lab/lab', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'swarmup-bench-generic-'));
const env = {
  ...process.env,
  SWARMUP_STORAGE_PATH: join(work, 'store'),
  DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///run/swarmup-lab/docker.sock',
};
const key = join(work, 'id_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const pub = readFileSync(`${key}.pub`, 'utf8');
const VMS = ['bench-gen-1', 'bench-gen-2', 'bench-gen-3', 'bench-gen-4'];

function swarmup(args: string[]): void {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`swarmup ${args.slice(0, 3).join(' ')} failed`);
  }
}

function vm(name: string): string {
  execFileSync(lab, ['vm', 'rm', name], { stdio: 'ignore' });
  return execFileSync(
    lab,
    ['vm', 'start', name, '--image', 'node', '--hostname', 'ubuntu', '--authorized-key', '-'],
    {
      input: pub,
      encoding: 'utf8',
    },
  ).trim();
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const up = (name: string, ips: string[], managers: number, workers: number) =>
  swarmup([
    'cluster',
    'up',
    name,
    '--driver',
    'generic',
    '--generic-ssh-key',
    key,
    ...ips.flatMap((ip) => ['--generic-ip-address', ip]),
    '--managers',
    String(managers),
    '--workers',
    String(workers),
    '--json',
  ]);

try {
  const ips = VMS.map(vm);
  const one = timed(() => up('bench-gen-one', [ips[0]], 1, 0));
  const cold = timed(() => up('bench-gen', ips.slice(1), 1, 2));
  const again = timed(() => up('bench-gen', ips.slice(1), 1, 2));
  swarmup(['cluster', 'down', 'bench-gen-one']);
  swarmup(['cluster', 'down', 'bench-gen']);
  console.log('cluster up --driver generic          seconds');
  console.log(`1 host (baseline)                    ${one.toFixed(1).padStart(7)}`);
  console.log(`3 hosts, cold                        ${cold.toFixed(1).padStart(7)}`);
  console.log(`3 hosts, converged re-run            ${again.toFixed(1).padStart(7)}`);
  console.log(
    `ratio 3 hosts / 1 host:              ${(cold / one).toFixed(2)}  (hosts are provisioned in parallel)`,
  );
  console.log(`ratio re-run / cold:                 ${(again / cold).toFixed(2)}  (a re-run only checks)`);
} finally {
  for (const n of VMS) execFileSync(lab, ['vm', 'rm', n], { stdio: 'ignore' });
}
