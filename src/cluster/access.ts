import { UserError } from '../errors.js';
import type { EngineEndpoint } from '../engine/api.js';
import { engineEndpoint, loadMachine, type Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { requireClusterRecord } from './record.js';

/** The cluster's machines found in the store (by their Cluster field), managers first. */
export async function clusterMachines(store: Store, cluster: string): Promise<Machine[]> {
  const names = await store.list();
  const loaded = await mapBounded(names, 16, async (n) => {
    try {
      return await loadMachine(store, n);
    } catch {
      return undefined;
    }
  });
  return loaded
    .filter((m): m is Machine => m?.cfg.Cluster?.Name === cluster)
    .sort((a, b) =>
      a.cfg.Cluster!.Role === b.cfg.Cluster!.Role
        ? a.cfg.Name.localeCompare(b.cfg.Name, undefined, { numeric: true })
        : a.cfg.Cluster!.Role === 'manager'
          ? -1
          : 1,
    );
}

/** A manager that answers over TLS right now: the first that does, in name order. */
export async function reachableManager(
  store: Store,
  cluster: string,
): Promise<{ machine: Machine; endpoint: EngineEndpoint }> {
  await requireClusterRecord(store, cluster);
  const managers = (await clusterMachines(store, cluster)).filter((m) => m.cfg.Cluster?.Role === 'manager');
  if (managers.length === 0)
    throw new UserError(`Cluster "${cluster}" has no manager machines in this store`);
  const { engineRequest } = await import('../engine/api.js');
  const errors: string[] = [];
  for (const m of managers) {
    try {
      if ((await m.driver.getState()) !== 'Running') throw new Error('not running');
      const ep = await engineEndpoint(m);
      const r = await engineRequest(ep, 'GET', '/_ping', 5_000);
      if (r.status === 200) return { machine: m, endpoint: ep };
      throw new Error(`engine answered ${r.status}`);
    } catch (err) {
      errors.push(`${m.cfg.Name}: ${(err as Error).message}`);
    }
  }
  throw new UserError(`no manager of cluster "${cluster}" answers (${errors.join('; ')})`);
}
