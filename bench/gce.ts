/**
 * bench/gce: the google driver and the GCE load balancer against the GCE emulator, from one run:
 *   1. `cluster up` of 1 and of 8 nodes when every instance takes 20 s to boot (createLatencyMs
 *      20000, lab VMs with Docker preinstalled), and their ratio: parallel creates should make it ~1;
 *   2. Compute API calls (reads and mutations, from the emulator's request log) of `lb sync` with 1,
 *      50 and 200 services publishing host-mode ports on a 1-node cluster: the first sync, a no-op
 *      sync, and a sync after one change (one more service).
 *   0. batch creation of 1, 10 and 50 nodes, cloud phase API-only (bench/batch-cloud.ts): wall time,
 *      ratio 50/1, creation calls;
 * Needs root, the lab (bash test/lab/lab up) and a build.
 *   node dist/bench/gce.js [--latency MS] [--batch-latency MS] [--batch-only]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labUp } from '../test/lab/lab.js';
import { startGceEmulator, type GceEmulator } from '../test/emulators/gce/index.js';
import { Store } from '../src/store/store.js';
import { loadMachine, engineEndpoint } from '../src/machine/machine.js';
import { newEngineClient } from '../src/swarm/client.js';
import { mapBounded } from '../src/util/async.js';
import { gceBatchBench } from './batch-cloud.js';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const arg = (name: string, def: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : def;
const latencyMs = arg('--latency', 20_000);
const store = mkdtempSync(join(tmpdir(), 'swarmup-bench-gce-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI without blocking this process: the emulator serves it from here. */
function swarmup(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, SWARMUP_STORAGE_PATH: store, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function must(run: Promise<Run>, what: string): Promise<Run> {
  const r = await run;
  if (r.code !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${what} failed (exit ${r.code})`);
  }
  return r;
}

const gflags = (emu: GceEmulator) => ['--google-endpoint', emu.endpoint, '--google-project', emu.project];

async function up(
  emu: GceEmulator,
  name: string,
  workers: number,
): Promise<{ seconds: number; machines: number }> {
  const t0 = process.hrtime.bigint();
  const r = await must(
    swarmup([
      'cluster',
      'up',
      name,
      '--driver',
      'google',
      ...gflags(emu),
      '--managers',
      '1',
      '--workers',
      String(workers),
      '--json',
    ]),
    `cluster up ${name}`,
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const durations = (JSON.parse(r.stdout) as { durations: Record<string, number> }).durations;
  return { seconds, machines: (durations.machines ?? 0) / 1000 };
}

async function down(emu: GceEmulator, name: string): Promise<void> {
  await must(
    swarmup(['cluster', 'down', name], { GOOGLE_ENDPOINT: emu.endpoint, GOOGLE_PROJECT: emu.project }),
    `cluster down ${name}`,
  );
}

interface Calls {
  reads: number;
  mutations: number;
  waits: number;
}

function calls(emu: GceEmulator): Calls {
  const log = emu.requests();
  return {
    reads: log.filter((e) => !e.mutating && !e.path.endsWith('/wait')).length,
    waits: log.filter((e) => e.path.endsWith('/wait')).length,
    mutations: log.filter((e) => e.mutating).length,
  };
}

async function sync(emu: GceEmulator, cluster: string): Promise<Calls & { seconds: number }> {
  emu.resetLog();
  const t0 = process.hrtime.bigint();
  await must(
    swarmup(['lb', 'sync', '--cluster', cluster], { SWARMUP_LB_HEALTH_IMAGE: 'swarmup-lab/httpd:latest' }),
    'lb sync',
  );
  return { ...calls(emu), seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Services with a host-mode port each (no replicas: the port is published, no task runs). */
async function createServices(cluster: string, from: number, count: number): Promise<void> {
  const st = new Store(store);
  const m = await loadMachine(st, `${cluster}-manager-1`);
  const docker = newEngineClient(await engineEndpoint(m), 60_000);
  await mapBounded(
    Array.from({ length: count }, (_, i) => from + i),
    8,
    (i) =>
      docker.createService({
        Name: `svc${i}`,
        TaskTemplate: { ContainerSpec: { Image: 'swarmup-lab/httpd:latest' } },
        Mode: { Replicated: { Replicas: 0 } },
        // Every other port: one forwarding rule per service, the worst case for the rule layout.
        EndpointSpec: {
          Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 20000 + 2 * i, PublishMode: 'host' }],
        },
      }),
  );
}

async function main(): Promise<void> {
  // 0. Batch creation, cloud phase API-only: 1, 10, 50 nodes.
  await gceBatchBench(arg('--batch-latency', 5_000));
  if (process.argv.includes('--batch-only')) return;
  await labUp();
  const fmt = (n: number) => n.toFixed(1).padStart(6);

  // 1. Parallel creates under a slow cloud.
  const slow = await startGceEmulator({ backing: { image: 'node' }, createLatencyMs: latencyMs });
  let one;
  let eight;
  try {
    one = await up(slow, 'bench1', 0);
    await down(slow, 'bench1');
    eight = await up(slow, 'bench8', 7);
    await down(slow, 'bench8');
  } finally {
    await slow.stop();
  }
  console.log(`cluster up with ${latencyMs / 1000} s instance boot latency (backing: node image)`);
  console.log('nodes   wall s  machines s');
  console.log(`1      ${fmt(one.seconds)}  ${fmt(one.machines)}`);
  console.log(`8      ${fmt(eight.seconds)}  ${fmt(eight.machines)}`);
  console.log(`ratio 8/1: ${(eight.seconds / one.seconds).toFixed(2)}  (sequential creates would be ~8)`);
  console.log('');

  // 2. API calls of lb sync by number of services.
  const emu = await startGceEmulator({
    backing: { image: 'node' },
    quotas: { forwardingRules: 1000, addresses: 8, instances: 24 },
    healthCheckScale: 0.1,
  });
  const rows: string[] = [];
  try {
    await up(emu, 'lbb', 0);
    await must(
      swarmup(['image', 'load', '--cluster', 'lbb', 'swarmup-lab/httpd:latest'], {
        DOCKER_HOST: 'unix:///run/swarmup-lab/docker.sock',
      }),
      'image load',
    );
    let have = 0;
    for (const n of [1, 50, 200]) {
      await createServices('lbb', have, n - have);
      have = n;
      const first = await sync(emu, 'lbb');
      const noop = await sync(emu, 'lbb');
      await createServices('lbb', have, 1);
      const change = await sync(emu, 'lbb');
      await removeService('lbb', have);
      await sync(emu, 'lbb');
      const row = (label: string, c: Calls & { seconds: number }) =>
        `${String(n).padStart(8)}  ${label.padEnd(18)}${String(c.reads).padStart(6)}${String(c.waits).padStart(7)}${String(c.mutations).padStart(10)}${fmt(c.seconds)}`;
      rows.push(row('first sync', first), row('no-op', noop), row('one more service', change));
    }
    await down(emu, 'lbb');
  } finally {
    await emu.stop();
  }
  console.log('lb sync: Compute API calls (request log of the emulator; waits = operations/wait reads)');
  console.log('services  sync              reads  waits  mutations     s');
  for (const r of rows) console.log(r);
}

async function removeService(cluster: string, i: number): Promise<void> {
  const m = await loadMachine(new Store(store), `${cluster}-manager-1`);
  await newEngineClient(await engineEndpoint(m), 60_000)
    .getService(`svc${i}`)
    .remove();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
