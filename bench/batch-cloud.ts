/**
 * The cloud phase of batch creation, API-only (emulators without VMs: 50 lab VMs are too much for a
 * 2-core machine; the whole path on lab VMs is measured by the `cluster up` sections of bench/gce and
 * bench/aliyun): 1, 10 and 50 machines of one new cluster in one run, from the batch call to every
 * instance running. Prints the wall time, the ratio to 1 machine, and the creation calls made.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchRequest, FlagValues } from '../src/driver/contract.js';
import { batchRequest } from '../test/batch-request.js';
import { Store } from '../src/store/store.js';
import { startGceEmulator } from '../test/emulators/gce/index.js';
import { startAliyunEmulator } from '../test/emulators/aliyun/index.js';
import { createMachines as gceBatch } from '../drivers/google/batch.js';
import { createMachines as ecsBatch } from '../drivers/aliyunecs/batch.js';
import { aliyunClient } from '../src/cloud/aliyun/client.js';
import { waitInstance, started } from '../drivers/aliyunecs/poller.js';
import { describeInstances } from '../src/cloud/aliyun/ecs.js';

/** A first run of 1 warms the SDK up (its first load and connection) and is not shown. */
const SIZES = [1, 1, 10, 50];

async function request(cluster: string, n: number, flags: FlagValues): Promise<BatchRequest> {
  const store = new Store(await mkdtemp(join(tmpdir(), 'bat-bench-')));
  await store.init();
  return batchRequest(store, cluster, 1, n - 1, flags);
}

interface Row {
  n: number;
  seconds: number;
  creation: number;
  mutating: number;
}

function print(title: string, all: Row[], creationWhat: string): void {
  const rows = all.slice(1);
  const base = rows[0].seconds;
  console.log(title);
  console.log(`nodes  cloud phase s  ratio  creation calls (${creationWhat})  all mutating calls`);
  for (const r of rows)
    console.log(
      `${String(r.n).padStart(5)}  ${r.seconds.toFixed(2).padStart(13)}  ${(r.seconds / base).toFixed(2).padStart(5)}  ${String(r.creation).padStart(14)}  ${String(r.mutating).padStart(18)}`,
    );
  const last = rows[rows.length - 1];
  console.log(
    `ratio ${last.n}/1: ${(last.seconds / base).toFixed(2)} (goal ≤ 1.3); creation calls at ${last.n}: ${last.creation} in one zone (goal ≤ 3)`,
  );
  console.log('');
}

/** GCE: bulkInsert per role; the bulk operation is DONE when every instance is RUNNING. */
export async function gceBatchBench(createLatencyMs: number): Promise<void> {
  const rows: Row[] = [];
  for (const n of SIZES) {
    const emu = await startGceEmulator({
      backing: false,
      createLatencyMs,
      quotas: { instances: 200, cpus: 400 },
    });
    try {
      const req = await request(`bg${n}`, n, {
        'google-project': emu.project,
        'google-endpoint': emu.endpoint,
        'google-machine-type': 'e2-small',
      });
      const t0 = Date.now();
      const r = await gceBatch(req);
      const seconds = (Date.now() - t0) / 1000;
      if (r.outcomes.some((o) => 'error' in o)) throw new Error('a GCE batch instance failed');
      const log = emu.requests().filter((e) => e.mutating);
      rows.push({
        n,
        seconds,
        mutating: log.length,
        creation: log.filter((e) => /\/instances(\/bulkInsert)?$/.test(e.path)).length,
      });
      await r.done();
    } finally {
      await emu.stop();
    }
  }
  print(
    `GCE batch create, cloud phase API-only (instances without VMs, ${createLatencyMs / 1000} s to RUNNING)`,
    rows,
    'bulkInsert/insert',
  );
}

/** ECS: a DryRun, ImportKeyPair and RunInstances per role, then every instance Running (one poller). */
export async function ecsBatchBench(latencyMs: number): Promise<void> {
  const rows: Row[] = [];
  for (const n of SIZES) {
    const emu = await startAliyunEmulator({ backing: false, latencyMs, quotas: { vcpus: 400 } });
    try {
      const flags = {
        'aliyunecs-api-endpoint': emu.endpoint,
        'aliyunecs-region': emu.regionId,
        'aliyunecs-access-key-id': emu.accessKeyId,
        'aliyunecs-access-key-secret': emu.accessKeySecret,
      };
      const req = await request(`ba${n}`, n, flags);
      const t0 = Date.now();
      const r = await ecsBatch(req);
      const c = await aliyunClient(
        { regionId: emu.regionId, endpoint: emu.endpoint },
        { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret },
      );
      const ids = (await describeInstances(c, { tag: { key: 'swarmup-cluster', value: `ba${n}` } })).map(
        (i) => i.InstanceId,
      );
      await Promise.all(ids.map((id) => waitInstance(c, id, 'to start', started(id), 300_000)));
      const seconds = (Date.now() - t0) / 1000;
      if (r.outcomes.some((o) => 'error' in o)) throw new Error('an ECS batch instance failed');
      const log = emu.requests().filter((e) => e.mutating && e.params.DryRun !== 'true');
      rows.push({
        n,
        seconds,
        mutating: log.length,
        creation: log.filter((e) =>
          /^(RunInstances|CreateInstance|ImportKeyPair|AllocatePublicIpAddress|StartInstance)$/.test(e.path),
        ).length,
      });
      await r.done();
    } finally {
      await emu.stop();
    }
  }
  print(
    `ECS batch create, cloud phase API-only (instances without VMs, ${latencyMs / 1000} s per status change)`,
    rows,
    'RunInstances/ImportKeyPair',
  );
}
