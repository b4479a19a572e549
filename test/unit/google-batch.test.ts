/**
 * GCE batch creation (drivers/google/batch.ts) through the real SDK against the GCE emulator without
 * VMs: one bulkInsert per role, the quota checked before anything is made, instances that failed
 * reported per machine (their own insert operations), a lost answer retried with the same requestId
 * made once, a journalled request resent by a re-run made once.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { createMachines } from '../../drivers/google/batch.js';
import { batchRequest } from '../batch-request.js';
import { Store } from '../../src/store/store.js';

let emu: GceEmulator;
let store: Store;
const zone = 'us-central1-a';

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 20,
    quotas: { instances: 40, cpus: 80 },
  });
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  store = new Store(await mkdtemp(join(tmpdir(), 'bat-gce-')));
  await store.init();
});

const request = (cluster: string, managers: number, workers: number) =>
  batchRequest(store, cluster, managers, workers, {
    'google-project': emu.project,
    'google-endpoint': emu.endpoint,
    'google-zone': zone,
    'google-machine-type': 'e2-small',
  });

const creations = (since: number) =>
  emu
    .requests()
    .slice(since)
    .filter((r) => r.mutating && /\/instances(\/bulkInsert)?$/.test(r.path));
const instanceNames = () =>
  (emu.dump() as { instances: Array<{ name: string; labels?: Record<string, string> }> }).instances
    .map((i) => i.name)
    .sort();

describe('google batch create', () => {
  it('makes 3 managers and 12 workers with one bulkInsert per role, labels naming store, cluster and batch', async () => {
    const before = emu.requests().length;
    const req = await request('bat-a', 3, 12);
    const r = await createMachines(req);
    expect(r.outcomes.filter((o) => 'driver' in o)).toHaveLength(15);
    const calls = creations(before);
    expect(calls.map((c) => c.path.split('/').pop())).toEqual(['bulkInsert', 'bulkInsert']);
    const inst = (
      emu.dump() as {
        instances: Array<{
          name: string;
          labels: Record<string, string>;
          metadata: { items: Array<{ key: string; value: string }> };
        }>;
      }
    ).instances.filter((i) => i.name.startsWith('bat-a-'));
    expect(inst).toHaveLength(15);
    const storeId = await store.id();
    for (const i of inst) {
      expect(i.labels['swarmup-store']).toBe(storeId);
      expect(i.labels['swarmup-cluster']).toBe('bat-a');
      expect(i.labels['swarmup-batch']).toMatch(/^[0-9a-f]{10}$/);
      expect(i.labels['swarmup-machine']).toBeUndefined();
      // one bootstrap key for the batch, no machine's own key
      expect(i.metadata.items.find((m) => m.key === 'ssh-keys')!.value.split('\n')).toHaveLength(1);
    }
    await r.done();
    expect(await req.journal.read('gce-us-central1-a-worker')).toBeUndefined();
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    expect(instanceNames().filter((n) => n.startsWith('bat-a-'))).toEqual([]);
  });

  it('refuses before making anything when the CPUS quota is too small, naming it', async () => {
    const before = emu.requests().length;
    const req = await request('bat-q', 1, 40); // 41 × 2 vCPUs > 80
    await expect(createMachines(req)).rejects.toThrow(
      /quota (INSTANCES|CPUS) in region us-central1.*nothing was created/,
    );
    expect(
      emu
        .requests()
        .slice(before)
        .filter((r) => r.mutating),
    ).toEqual([]);
  });

  it('reports the instances a partial capacity failure did not make; the others are made', async () => {
    emu.inject({ kind: 'failOperation', count: 2, match: 'bat-p-worker-' });
    const req = await request('bat-p', 1, 5);
    const r = await createMachines(req);
    const failed = r.outcomes.filter((o) => 'error' in o);
    expect(failed).toHaveLength(2);
    for (const f of failed)
      expect(String((f as { error: Error }).error.message)).toMatch(/ZONE_RESOURCE_POOL_EXHAUSTED/);
    const made = r.outcomes
      .filter((o) => 'driver' in o)
      .map((o) => o.name)
      .sort();
    expect(instanceNames().filter((n) => n.startsWith('bat-p-'))).toEqual(made);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    await r.done();
  });

  it('a lost bulkInsert answer is retried with the same requestId and makes the instances once', async () => {
    emu.inject({ kind: 'lostResponse', count: 1, match: '/bulkInsert', method: 'POST' });
    const before = emu.requests().length;
    const req = await request('bat-l', 0, 4);
    const r = await createMachines(req);
    const sent = creations(before);
    expect(sent).toHaveLength(2);
    expect(sent[0].lostResponse).toBe(true);
    const id = (q?: string) => new URLSearchParams(q).get('requestId');
    expect(id(sent[1].query)).toBe(id(sent[0].query));
    expect(r.outcomes.filter((o) => 'driver' in o)).toHaveLength(4);
    expect(instanceNames().filter((n) => n.startsWith('bat-l-'))).toHaveLength(4);
    for (const o of r.outcomes) if ('driver' in o) await o.driver.remove();
    await r.done();
  });

  it('a re-run after a kill resends the journalled request: the same requestId, nothing made twice', async () => {
    const req = await request('bat-k', 0, 3);
    const first = await createMachines(req); // as if killed right after: done() never runs
    const before = emu.requests().length;
    const again = await createMachines(req);
    const sent = creations(before);
    expect(sent).toHaveLength(1);
    expect(
      emu
        .requests()
        .slice(before)
        .filter((r) => r.mutating && !/firewalls/.test(r.path)),
    ).toHaveLength(1);
    expect(again.outcomes.map((o) => o.name).sort()).toEqual(first.outcomes.map((o) => o.name).sort());
    expect(instanceNames().filter((n) => n.startsWith('bat-k-'))).toHaveLength(3);
    for (const o of again.outcomes) if ('driver' in o) await o.driver.remove();
    await again.done();
  });
});
