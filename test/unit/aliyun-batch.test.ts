/**
 * ECS batch creation (drivers/aliyunecs/batch.ts) through pop-core against the Aliyun emulator
 * without VMs: one RunInstances per role after a DryRun, HostNames naming the instances, quota and
 * stock refused before anything is made, a short stock reported per machine, a lost answer retried
 * with the same ClientToken made once, a journalled call resent by a re-run made once.
 */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { createMachines } from '../../drivers/aliyunecs/batch.js';
import { batchRequest } from '../batch-request.js';
import { clusterBatchDir } from '../../src/cluster/record.js';
import { Store } from '../../src/store/store.js';

let emu: AliyunEmulator;
let store: Store;

beforeAll(async () => {
  emu = await startAliyunEmulator({ backing: false, latencyMs: 40, quotas: { vcpus: 60 } });
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  store = new Store(await mkdtemp(join(tmpdir(), 'bat-ecs-')));
  await store.init();
});

const request = (cluster: string, managers: number, workers: number) =>
  batchRequest(store, cluster, managers, workers, {
    'aliyunecs-api-endpoint': emu.endpoint,
    'aliyunecs-region': emu.regionId,
    'aliyunecs-access-key-id': emu.accessKeyId,
    'aliyunecs-access-key-secret': emu.accessKeySecret,
  });

const since = (n: number) => emu.requests().slice(n);
const runs = (n: number) => since(n).filter((r) => r.path === 'RunInstances' && r.params.DryRun !== 'true');
type Inst = {
  HostName: string;
  InstanceName: string;
  Tags: { Tag: Array<{ TagKey: string; TagValue: string }> };
};
async function instances(prefix: string): Promise<Inst[]> {
  const all = (emu.dump() as { instances: Inst[] }).instances;
  return all.filter((i) => i.HostName.startsWith(prefix));
}

describe('aliyunecs batch create', () => {
  it('makes 3 managers and 12 workers with one RunInstances per role, each instance named by its HostName', async () => {
    const n = emu.requests().length;
    const req = await request('bat-a', 3, 12);
    const r = await createMachines(req);
    expect(r.outcomes.filter((o) => 'driver' in o)).toHaveLength(15);
    expect(runs(n)).toHaveLength(2);
    // One bootstrap key pair for the run, used by both calls.
    expect(since(n).filter((x) => x.path === 'ImportKeyPair')).toHaveLength(1);
    expect(new Set(runs(n).map((x) => x.params.KeyPairName)).size).toBe(1);
    const made = await instances('bat-a-');
    expect(made.map((i) => i.HostName).sort()).toEqual(r.outcomes.map((o) => o.name).sort());
    const storeId = await store.id();
    for (const i of made) {
      const t = Object.fromEntries(i.Tags.Tag.map((x) => [x.TagKey, x.TagValue]));
      expect(t['swarmup-store']).toBe(storeId);
      expect(t['swarmup-cluster']).toBe('bat-a');
      expect(t['swarmup-batch']).toMatch(/^[0-9a-f]{10}$/);
      expect(t['swarmup-machine']).toBeUndefined();
    }
    await r.done();
    expect(since(n).filter((x) => x.path === 'DeleteKeyPairs')).toHaveLength(1);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    expect(await instances('bat-a-')).toEqual([]);
  });

  it('refuses before making anything, the security group included, when the vCPU quota is too small', async () => {
    const n = emu.requests().length;
    const req = await request('bat-q', 1, 40);
    // 60 vCPUs, none in use: 41 ecs.g6.large (2 vCPUs each) need 82.
    await expect(createMachines(req)).rejects.toThrow(
      'quota max-postpaid-instance-vcpu-count in cn-hangzhou: 82 vCPUs needed for 41 ecs.g6.large instance(s) (2 each), 60 left (limit 60, in use 0); nothing was created',
    );
    expect(since(n).filter((x) => x.mutating)).toEqual([]);
    expect(since(n).map((x) => x.path)).toEqual(
      expect.arrayContaining(['DescribeAccountAttributes', 'DescribeInstanceTypes']),
    );
  });

  it('counts the vCPUs in use: what is left is what the quota refuses by', async () => {
    const first = await createMachines(await request('bat-u', 0, 10)); // 20 of the 60 vCPUs
    const n = emu.requests().length;
    await expect(createMachines(await request('bat-v', 0, 21))).rejects.toThrow(
      /42 vCPUs needed for 21 .*, 40 left \(limit 60, in use 20\)/,
    );
    expect(since(n).filter((x) => x.mutating)).toEqual([]);
    for (const o of first.outcomes) if ('driver' in o) await o.driver.remove();
    await first.done();
  });

  it('reports the machines a short stock left out; the others are made', async () => {
    emu.inject({ kind: 'noStock', short: 2, count: 2 }); // the DryRun and the call see the same stock
    const req = await request('bat-p', 0, 6);
    const r = await createMachines(req);
    expect(r.outcomes.filter((o) => 'error' in o)).toHaveLength(2);
    const made = r.outcomes
      .filter((o) => 'driver' in o)
      .map((o) => o.name)
      .sort();
    expect((await instances('bat-p-')).map((i) => i.HostName).sort()).toEqual(made);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    await r.done();
  });

  it('a lost RunInstances answer is retried with the same ClientToken and makes the instances once', async () => {
    // The DryRun takes the first RunInstances fault (it answers DryRunOperation all the same).
    emu.inject({ kind: 'responseLost', action: 'RunInstances', count: 2 });
    const n = emu.requests().length;
    const req = await request('bat-l', 0, 4);
    const r = await createMachines(req);
    const sent = runs(n);
    expect(sent).toHaveLength(2);
    expect(new Set(sent.map((x) => x.params.ClientToken)).size).toBe(1);
    expect((await instances('bat-l-')).length).toBe(4);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    await r.done();
  });

  it('a re-run after a kill resends the journalled call: the same ClientToken, nothing made twice', async () => {
    const req = await request('bat-k', 0, 3);
    await createMachines(req); // as if killed right after: done() never runs
    const n = emu.requests().length;
    const again = await createMachines(req);
    const sent = runs(n);
    expect(sent).toHaveLength(1);
    expect((await instances('bat-k-')).length).toBe(3);
    for (const o of again.outcomes) if ('driver' in o) await o.driver.remove();
    await again.done();
  });
  it('sends --aliyunecs-ssh-password with the call and the DryRun, and never journals it', async () => {
    const n = emu.requests().length;
    const req = await request('bat-pw', 0, 2);
    const pw = 'Batch-Pw-1234';
    req.flags['aliyunecs-ssh-password'] = pw;
    const r = await createMachines(req); // as if killed: the journal stays for the look below
    const calls = since(n).filter((x) => x.path === 'RunInstances');
    expect(calls.length).toBe(2);
    for (const x of calls) expect(x.params.Password).toBe(pw);
    const dir = clusterBatchDir(store, 'bat-pw');
    const files = await readdir(dir);
    expect(files.some((f) => f.endsWith('.json'))).toBe(true);
    for (const f of files) expect(await readFile(join(dir, f), 'utf8')).not.toContain(pw);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    await r.done();
  });
});
