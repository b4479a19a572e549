/**
 * bench/aliyun: Aliyun API calls and wall times of the aliyunecs driver, counted by the Aliyun
 * emulator's request log, from one run on this machine.
 *
 * 1. `lb sync` for 1, 50 and 200 published services on 3 nodes: calls (and mutating calls) for the
 *    first sync, a no-op sync, and a sync after one change (one more service). The swarm is given as a
 *    snapshot (reading it is Docker's API, not Aliyun's); everything after that is the code `lb sync`
 *    runs: read, plan, apply, read again to verify.
 * 2. `swarmup cluster up` with 1 and 8 nodes, emulator latency 5000 ms per status transition, lab VMs
 *    with Docker installed (`node` image): wall times, the ratio, and the calls each made.
 *
 *   bench/aliyun [--latency 5000] [--skip-cluster]      (builds, starts the lab, then runs this)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCluster } from '../drivers/aliyunecs/cluster.js';
import { createInstance, describeInstances, privateIpOf } from '../src/cloud/aliyun/ecs.js';
import { ensureSecurityGroup } from '../src/cloud/aliyun/firewall.js';
import { hasStatus, waitInstance } from '../drivers/aliyunecs/poller.js';
import { resourceTags } from '../src/cloud/aliyun/tags.js';
import type { SwarmSnapshot } from '../src/lb/model.js';
import { cloud } from '../drivers/aliyunecs/cloud.js';
import { backendFor } from '../src/lb/backends.js';
import { syncSnapshot } from '../src/lb/reconcile.js';
import type { LbTarget } from '../src/lb/target.js';
import { Store } from '../src/store/store.js';
import { startAliyunEmulator, type AliyunEmulator } from '../test/emulators/aliyun/index.js';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const latencyMs = Number(arg('--latency') ?? 5000);
const quiet = () => undefined;

interface Counts {
  calls: number;
  mutating: number;
}

function counted(emu: AliyunEmulator, fn: () => Promise<void>): Promise<Counts> {
  emu.resetLog();
  return fn().then(() => {
    const log = emu.requests();
    return { calls: log.length, mutating: log.filter((r) => r.mutating).length };
  });
}

const fmt = (c: Counts) => `${c.calls} (${c.mutating})`;

/** A cluster's worth of instances and its group, as `cluster up` leaves them (no VMs behind them). */
async function fakeCluster(cluster: string, flags: Record<string, string>) {
  const { client: c } = await cloud({ flags, cluster });
  const tags = (role: string) => resourceTags({ user: {}, cluster: { name: cluster, labels: {} }, role });
  const sg = await ensureSecurityGroup(c, {
    name: `swarmup-${cluster}`,
    adminCidrs: ['10.0.0.0/8'],
    tags: tags('firewall'),
    cluster,
    log: quiet,
  });
  const names = ['manager-1', 'worker-1', 'worker-2'].map((n) => `${cluster}-${n}`);
  const ids = await Promise.all(
    names.map((name) =>
      createInstance(c, {
        imageId: 'debian_12_6_x64_20G_alibase_20240823.vhd',
        instanceType: 'ecs.g6.large',
        securityGroupId: sg,
        instanceName: name,
        keyPairName: '',
        bandwidth: 1,
        ioOptimized: 'optimized',
        tags: tags(name.includes('manager') ? 'manager' : 'worker'),
      }),
    ),
  );
  await Promise.all(ids.map((id) => waitInstance(c, id, 'to be created', hasStatus('Stopped'), 60_000)));
  return describeInstances(c, { instanceIds: ids });
}

/** `lb sync --cluster` of a cluster whose swarm is given as a snapshot (no store, no manager). */
function target(cluster: string, flags: Record<string, string>): LbTarget {
  return {
    kind: 'cluster',
    name: cluster,
    driver: 'aliyunecs',
    flags,
    labels: {},
    store: new Store(mkdtempSync(join(tmpdir(), 'bench-store-'))),
    manager: () => Promise.reject(new Error('the bench gives the swarm as a snapshot')),
    machines: async () => [],
  };
}

function snapshot(instances: Awaited<ReturnType<typeof fakeCluster>>, services: number): SwarmSnapshot {
  const nodes = instances.map((i, n) => ({
    id: `node-${n}`,
    hostname: i.InstanceName!,
    role: (n === 0 ? 'manager' : 'worker') as 'manager' | 'worker',
    ready: true,
    active: true,
    address: privateIpOf(i)!,
  }));
  return {
    services: Array.from({ length: services }, (_, s) => ({
      id: `svc-${s}`,
      name: `svc-${s}`,
      ports: [
        { protocol: 'tcp' as const, publishedPort: 20000 + s, targetPort: 80, mode: 'ingress' as const },
      ],
    })),
    nodes,
    tasks: [],
    warnings: [],
  };
}

async function lbSyncCounts(): Promise<void> {
  const emu = await startAliyunEmulator({ backing: false, latencyMs: 20 });
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = emu.accessKeyId;
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = emu.accessKeySecret;
  const flags = { 'aliyunecs-api-endpoint': emu.endpoint, 'aliyunecs-region': emu.regionId };
  const rows: string[][] = [['services', 'first sync', 'no-op sync', 'after one change']];
  try {
    for (const n of [1, 50, 200]) {
      const cluster = `bench-lb-${n}`;
      const instances = await fakeCluster(cluster, flags);
      const lb = await backendFor(target(cluster, flags));
      const sync = (services: number) =>
        counted(emu, async () => {
          await syncSnapshot(lb, snapshot(instances, services), { log: quiet });
        });
      const first = await sync(n);
      const noop = await sync(n);
      const change = await sync(n + 1);
      if (noop.mutating !== 0) throw new Error(`a no-op sync made ${noop.mutating} mutating calls`);
      rows.push([String(n), fmt(first), fmt(noop), fmt(change)]);
      await lb.remove({ log: quiet, clusterGoes: true });
      await destroyCluster(
        cluster,
        {
          ...flags,
          'aliyunecs-access-key-id': emu.accessKeyId,
          'aliyunecs-access-key-secret': emu.accessKeySecret,
        },
        quiet,
      );
    }
  } finally {
    await emu.stop();
  }
  console.log('lb sync: Aliyun API calls (mutating in parentheses), 3 nodes');
  for (const r of rows)
    console.log(`  ${r[0].padEnd(10)}${r[1].padStart(12)}${r[2].padStart(14)}${r[3].padStart(20)}`);
}

function swarmup(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

interface UpRun {
  nodes: number;
  seconds: number;
  phases: Record<string, number>;
  byAction: Map<string, number>;
  calls: number;
}

async function clusterUp(emu: AliyunEmulator, workers: number): Promise<UpRun> {
  const store = mkdtempSync(join(tmpdir(), 'swarmup-bench-aliyun-'));
  const env = {
    SWARMUP_STORAGE_PATH: store,
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  };
  const name = `bench-up-${workers + 1}`;
  emu.resetLog();
  const t0 = process.hrtime.bigint();
  const r = await swarmup(
    [
      'cluster',
      'up',
      name,
      '--driver',
      'aliyunecs',
      '--aliyunecs-api-endpoint',
      emu.endpoint,
      '--managers',
      '1',
      '--workers',
      String(workers),
      '--json',
    ],
    env,
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const log = emu.requests();
  if (r.code !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`cluster up with ${workers + 1} nodes failed`);
  }
  const byAction = new Map<string, number>();
  for (const e of log) byAction.set(e.path, (byAction.get(e.path) ?? 0) + 1);
  const down = await swarmup(['cluster', 'down', name], env);
  if (down.code !== 0) process.stderr.write(down.stderr);
  const phases = (JSON.parse(r.stdout) as { durations: Record<string, number> }).durations;
  return { nodes: workers + 1, seconds, phases, byAction, calls: log.length };
}

async function clusterUpRatio(): Promise<void> {
  const emu = await startAliyunEmulator({ backing: { image: 'node' }, latencyMs });
  let one: UpRun;
  let eight: UpRun;
  try {
    one = await clusterUp(emu, 0);
    eight = await clusterUp(emu, 7);
  } finally {
    await emu.stop();
  }
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  console.log(
    `\ncluster up with emulator latency ${latencyMs} ms per status transition (lab VMs, Docker preinstalled)`,
  );
  console.log('  nodes   wall s  machines  swarm  ready   API calls  DescribeInstances');
  for (const r of [one, eight]) {
    console.log(
      `  ${String(r.nodes).padEnd(6)}${r.seconds.toFixed(1).padStart(7)}${s(r.phases.machines).padStart(10)}${s(r.phases.swarm).padStart(7)}${s(r.phases.ready).padStart(7)}${String(r.calls).padStart(12)}${String(r.byAction.get('DescribeInstances') ?? 0).padStart(19)}`,
    );
  }
  console.log(
    `  ratio 8/1: ${(eight.seconds / one.seconds).toFixed(2)} (wall), ${(eight.calls / one.calls).toFixed(2)} (API calls)`,
  );
  const actions = [...new Set([...one.byAction.keys(), ...eight.byAction.keys()])].sort();
  console.log('  calls by action (1 node / 8 nodes):');
  for (const a of actions)
    console.log(
      `    ${a.padEnd(34)}${String(one.byAction.get(a) ?? 0).padStart(4)} /${String(eight.byAction.get(a) ?? 0).padStart(4)}`,
    );
}

async function main(): Promise<void> {
  await lbSyncCounts();
  if (!process.argv.includes('--skip-cluster')) await clusterUpRatio();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/aliyun: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
