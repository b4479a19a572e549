/**
 * Batch creation under faults, on both clouds' emulators with lab VMs behind the instances (the whole
 * path: one creation call per role, first login with the batch key, each machine's own key,
 * provisioning, swarm): a partial capacity failure ends with exactly the desired machines and nothing
 * leaked; a SIGKILL right after the batch call was sent, then a re-run, makes nothing twice (the re-run
 * resends the journalled request with the same requestId / ClientToken).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUp } from '../lab/lab.js';
import { swarmup, tempDir } from '../e2e/helpers.js';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { addFigures, expectRefusal, killAt, memberNames, newFigures } from './harness.js';
import { aliyunAccess, googleAccess, type CloudAccess } from './clouds.js';

const figures = newFigures();
let gce: GceEmulator;
let ali: AliyunEmulator;
let work: string;

interface Cloud extends CloudAccess {
  /** Make the next batch short of `n` instances. */
  shortBy: (cluster: string, n: number) => void;
  /** The batch cannot make `<cluster>-worker-2`, nor can its own create afterwards. */
  neverWorker2: (cluster: string) => void;
  sent: RegExp;
  /** The mutating calls since `n` requests, by name (DryRuns left out). */
  mutations: (n: number) => string[];
  /** RunInstances DryRuns since `n` requests (GCE has none). */
  dryRuns: (n: number) => number;
  /** How the quota refusal names the quota, the count asked and what is left. */
  quota: RegExp;
}

const clouds: Record<string, Cloud> = {
  google: {
    ...googleAccess(() => gce),
    shortBy: (cluster, n) => gce.inject({ kind: 'failOperation', count: n, match: `${cluster}-worker-` }),
    // Its instance operation in the bulk, then its own insert.
    neverWorker2: (cluster) => gce.inject({ kind: 'failOperation', count: 2, match: `${cluster}-worker-2` }),
    sent: /Sending one bulkInsert for 2 worker/,
    mutations: (n) =>
      gce
        .requests()
        .slice(n)
        .filter((r) => r.mutating)
        .map((r) => `${r.method} ${r.path}`),
    dryRuns: () => 0,
    // 1 manager + 30 workers of the emulator's 24 INSTANCES.
    quota:
      /quota INSTANCES in region \S+ of project \S+: 31 needed for 31 \S+ instance\(s\), \d+ left \(limit 24, in use \d+\); nothing was created/,
  },
  aliyunecs: {
    ...aliyunAccess(() => ali),
    // The workers' DryRun and call see the same stock.
    shortBy: (cluster, n) => ali.inject({ kind: 'noStock', short: n, count: 2, match: `${cluster}-worker-` }),
    // The workers' DryRun and call (worker-2, the last, is left out), then its CreateInstance.
    neverWorker2: (cluster) =>
      ali.inject({ kind: 'noStock', short: 1, count: 3, match: `${cluster}-worker-` }),
    sent: /Sending one RunInstances for 2 worker/,
    mutations: (n) =>
      ali
        .requests()
        .slice(n)
        .filter((r) => r.mutating && r.params.DryRun !== 'true')
        .map((r) => r.path),
    dryRuns: (n) =>
      ali
        .requests()
        .slice(n)
        .filter((r) => r.path === 'RunInstances' && r.params.DryRun === 'true').length,
    // 1 manager + 30 workers of ecs.g6.large (2 vCPUs each) against 48 vCPUs.
    quota:
      /quota max-postpaid-instance-vcpu-count in \S+: 62 vCPUs needed for 31 ecs\.g6\.large instance\(s\) \(2 each\), \d+ left \(limit 48, in use \d+\); nothing was created/,
  },
};

beforeAll(async () => {
  await labUp();
  work = await tempDir('bat-faults-');
  gce = await startGceEmulator({ backing: { image: 'node' } });
  // 48 vCPUs: 24 ecs.g6.large instances, as the GCE emulator's default INSTANCES quota.
  ali = await startAliyunEmulator({
    backing: { image: 'node' },
    addressPrefix: '127.88.9.',
    quotas: { vcpus: 48 },
  });
});

afterAll(async () => {
  await gce?.stop();
  await ali?.stop();
  addFigures('batch', figures);
});

async function up(store: string, c: Cloud, cluster: string) {
  return swarmup(
    store,
    ['cluster', 'up', cluster, ...c.flags(), '--managers', '1', '--workers', '2', '--json'],
    c.env(),
  );
}

async function down(store: string, c: Cloud, cluster: string) {
  const d = await swarmup(store, ['cluster', 'down', cluster], c.env());
  expect(d.code, d.stderr).toBe(0);
}

/**
 * Exactly the desired machines (1 manager, `workers` workers): one instance each, every node Ready,
 * the batch's journal gone, each machine logged in with its own key and its real host key pinned.
 */
async function expectExactly(store: string, c: Cloud, cluster: string, workers = 2): Promise<void> {
  const want = memberNames(cluster, 1, workers);
  expect(
    c
      .instances()
      .filter((n) => n.startsWith(`${cluster}-`))
      .sort(),
  ).toEqual(want);
  const st = await swarmup(store, ['cluster', 'status', cluster, '--json'], c.env());
  expect(st.code, st.stderr).toBe(0);
  const nodes = (JSON.parse(st.stdout) as { nodes: Array<{ hostname: string; state: string }> }).nodes;
  expect(nodes.map((n) => `${n.hostname}:${n.state}`).sort()).toEqual(want.map((n) => `${n}:ready`));
  // The batch is over: its journal and bootstrap key are gone from the store.
  const clusters = await readdir(join(store, 'clusters'));
  expect(clusters.filter((f) => f.endsWith('.batch'))).toEqual([]);
  // Each machine accepts its own key; no machine holds another machine's key.
  const keys = await Promise.all(
    want.map((m) => readFile(join(store, 'machines', m, 'id_ed25519.pub'), 'utf8')),
  );
  for (const [i, m] of want.entries()) {
    const ak = await swarmup(store, ['ssh', m, '--', 'cat', '.ssh/authorized_keys'], c.env());
    expect(ak.code, ak.stderr).toBe(0);
    const material = (k: string) => k.trim().split(/\s+/)[1];
    expect(ak.stdout).toContain(material(keys[i]));
    for (const [j, other] of keys.entries()) if (j !== i) expect(ak.stdout).not.toContain(material(other));
    // Its own pinned host key: the one its sshd really has; its own engine certificates.
    const hostKey = await swarmup(
      store,
      ['ssh', m, '--', 'cat', '/etc/ssh/ssh_host_ed25519_key.pub'],
      c.env(),
    );
    expect(hostKey.code, hostKey.stderr).toBe(0);
    const pinned = await readFile(join(store, 'machines', m, 'known_hosts'), 'utf8');
    expect(pinned).toContain(material(hostKey.stdout));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem', 'server.pem'])
      expect((await stat(join(store, 'machines', m, f))).size).toBeGreaterThan(0);
  }
}

describe.each(Object.keys(clouds))('batch creation under faults (%s)', (cloudName) => {
  const c = clouds[cloudName];

  it('a partial capacity failure: the missing machine is made on its own; exactly the desired machines; down leaves zero', async () => {
    const store = join(work, `${c.name}-partial`);
    const cluster = `bp${c.name.slice(0, 1)}`;
    figures.cases++;
    c.shortBy(cluster, 1);
    const n = c.requests();
    const r = await up(store, c, cluster);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not made by the batch .*creating it on its own/);
    expect(c.batchCalls(n)).toHaveLength(2); // managers, workers
    await expectExactly(store, c, cluster);
    figures.converged++;
    await down(store, c, cluster);
    expect(c.resources()).toBe(0);
  });

  it('a machine neither the batch nor its own create can make: one line, the new cluster rolled back, nothing left', async () => {
    const store = join(work, `${c.name}-never`);
    const cluster = `bn${c.name.slice(0, 1)}`;
    figures.cases++;
    c.neverWorker2(cluster);
    const r = await up(store, c, cluster);
    expectRefusal(r, /Nothing was left behind/);
    expect(r.stderr).toMatch(/not made by the batch .*creating it on its own/);
    expect(c.instances().filter((x) => x.startsWith(`${cluster}-`))).toEqual([]);
    expect(c.resources()).toBe(0);
    const ls = await swarmup(store, ['ls', '-q'], c.env());
    expect(ls.stdout.split('\n').filter((x) => x.startsWith(`${cluster}-`))).toEqual([]);
    // No cluster record, no batch journal or key left in the store.
    expect((await swarmup(store, ['cluster', 'ls', '--json'])).stdout.trim()).toBe('[]');
    const kept = await readdir(join(store, 'clusters')).catch(() => [] as string[]);
    expect(kept.filter((f) => f.endsWith('.batch') || f.endsWith('.json'))).toEqual([]);
  });

  it('SIGKILL right after the batch call was sent, then a re-run: the same token resent, nothing made twice', async () => {
    const store = join(work, `${c.name}-kill`);
    const cluster = `bk${c.name.slice(0, 1)}`;
    figures.cases++;
    const n = c.requests();
    const argv = ['cluster', 'up', cluster, ...c.flags(), '--managers', '1', '--workers', '2'];
    const k = await killAt(
      store,
      argv,
      { name: 'batch sent', line: c.sent, delayMs: 400 },
      'SIGKILL',
      c.env(),
    );
    expect(k.landed, k.stderr).toBe(true);
    figures.kills++;
    const r = await up(store, c, cluster);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resending the worker batch of an interrupted run/);
    const calls = c.batchCalls(n);
    const tokens = new Set(calls.map((x) => x.token));
    // Every creation call of this cluster, across both runs, used at most one token per role.
    expect(tokens.size).toBeLessThanOrEqual(2);
    await expectExactly(store, c, cluster);
    figures.converged++;
  });

  it('cluster scale makes the added workers with one creation call; down leaves zero', async () => {
    const store = join(work, `${c.name}-kill`);
    const cluster = `bk${c.name.slice(0, 1)}`;
    figures.cases++;
    const n = c.requests();
    const r = await swarmup(store, ['cluster', 'scale', cluster, '--workers', '4'], c.env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(c.sent);
    expect(c.batchCalls(n)).toHaveLength(1);
    await expectExactly(store, c, cluster, 4);
    figures.converged++;
    await down(store, c, cluster);
    expect(c.resources()).toBe(0);
  });

  it('a quota too small for the machines: one line naming the quota, the count and what is left; not one mutating call', async () => {
    const store = join(work, `${c.name}-quota`);
    const cluster = `bq${c.name.slice(0, 1)}`;
    figures.cases++;
    const n = c.requests();
    const r = await swarmup(
      store,
      ['cluster', 'up', cluster, ...c.flags(), '--managers', '1', '--workers', '30'],
      c.env(),
    );
    expectRefusal(r, c.quota);
    expect(c.batchCalls(n)).toEqual([]);
    // Not one mutating call: no security group, firewall, key pair or instance, not even a DryRun.
    expect(c.mutations(n)).toEqual([]);
    expect(c.dryRuns(n)).toBe(0);
    expect(c.instances().filter((x) => x.startsWith(`${cluster}-`))).toEqual([]);
    expect(c.resources()).toBe(0);
  });
});
