/**
 * A batch create's request for tests and benches: a cluster's machines (managers then workers, named
 * as `cluster up` names them), claimed in `store`, with the cluster's journal in that store.
 */
import { batchJournal } from '../src/cluster/batch-journal.js';
import type { BatchRequest, DriverContext, FlagValues } from '../src/driver/contract.js';
import type { Store } from '../src/store/store.js';

export async function batchRequest(
  store: Store,
  cluster: string,
  managers: number,
  workers: number,
  flags: FlagValues,
): Promise<BatchRequest> {
  const storeId = await store.id();
  const ctx = (name: string, role: 'manager' | 'worker'): DriverContext => ({
    machineName: name,
    machineDir: store.machineDir(name),
    log: () => undefined,
    cluster: { name: cluster, role, labels: {} },
    storeId,
  });
  const machines: DriverContext[] = [];
  for (let i = 1; i <= managers; i++) machines.push(ctx(`${cluster}-manager-${i}`, 'manager'));
  for (let i = 1; i <= workers; i++) machines.push(ctx(`${cluster}-worker-${i}`, 'worker'));
  for (const m of machines) await store.reserve(m.machineName);
  return { machines, flags, journal: batchJournal(store, cluster), log: () => undefined };
}
