import type { ClusterScope } from '../driver/contract.js';
import { flagsFromEnv } from '../driver/flags.js';
import { drivers, findDriver } from '../driver/registry.js';
import { oneLine } from '../errors.js';
import type { Store } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { debug } from '../util/log.js';
import { clusterMachines } from './access.js';
import { giveBackHost } from './inventory.js';
import { lockCluster } from './cluster-lock.js';
import { loadClusterRecord, removeClusterRecord } from './record.js';
import { validateName } from '../store/names.js';

export interface DestroyResult {
  machines: string[];
  swept: string[];
  errors: string[];
}

/**
 * Remove everything a cluster owns: its machines in the store, then whatever each driver still finds
 * by labels or tags (so this also works from an empty store, and after an interrupted `cluster up`).
 */
export async function destroyCluster(
  store: Store,
  name: string,
  opts: { log: (m: string) => void; driver?: string; parallel?: number; waitLockMs?: number },
): Promise<DestroyResult> {
  validateName('cluster', name);
  const release = await lockCluster(store, name, {
    what: 'cluster down',
    waitMs: opts.waitLockMs,
    log: opts.log,
  });
  try {
    return await destroyLocked(store, name, opts);
  } finally {
    await release();
  }
}

async function destroyLocked(
  store: Store,
  name: string,
  opts: { log: (m: string) => void; driver?: string; parallel?: number },
): Promise<DestroyResult> {
  const result: DestroyResult = { machines: [], swept: [], errors: [] };
  const record = await loadClusterRecord(store, name);
  // The in-cluster load-balancer controller goes first: it would re-create what goes next.
  result.swept.push(
    ...(await (
      await import('../lb/controller/teardown.js')
    ).removeClusterController(store, name, record?.Driver ?? opts.driver, opts.log)),
  );
  const machines = await clusterMachines(store, name);
  // Where the cluster's machines are (the docker driver's engine), read before they go: the sweeps
  // below look there, not at whatever the environment names now (src/engine/host.ts).
  const scope: ClusterScope = { storeRoot: store.root, recorded: machines.map((m) => m.cfg.Driver) };
  await mapBounded(machines, opts.parallel ?? 8, async (m) => {
    try {
      opts.log(`Removing machine ${m.cfg.Name}...`);
      // A host that exists without swarmup is given back, not destroyed.
      await giveBackHost(m, opts.log);
      await m.driver.remove();
      await store.remove(m.cfg.Name);
      result.machines.push(m.cfg.Name);
    } catch (err) {
      result.errors.push(`${m.cfg.Name}: ${oneLine(err)}`);
    }
  });
  // Claims left by an interrupted create of this cluster's machines (the name is checked above).
  const claimRe = new RegExp(`^${name}-(manager|worker)-\\d+$`);
  for (const entry of await store.interrupted()) if (claimRe.test(entry)) await store.release(entry);
  const driverName = record?.Driver ?? opts.driver;
  // Whatever load balancer the driver uses (src/lb/backends.ts); without a record, every kind found.
  const { removeClusterLoadBalancers } = await import('../lb/backends.js');
  result.swept.push(
    ...(await removeClusterLoadBalancers(store, name, driverName, scope.recorded, opts.log, (d, err) => {
      if (driverName) result.errors.push(`load balancer: ${oneLine(err)}`);
      else debug(`${d} load balancer: ${oneLine(err)}`);
    })),
  );
  const plugins = driverName ? [findDriver(driverName)] : drivers;
  for (const plugin of plugins) {
    const mod = await plugin.load();
    if (!mod.destroyCluster) continue;
    try {
      const flags = flagsFromEnv(plugin, plugin.name === record?.Driver ? record.DriverOptions : {});
      result.swept.push(...(await mod.destroyCluster(name, flags, opts.log, scope)));
    } catch (err) {
      // Without a record we try every driver; one that cannot be reached here owns nothing of ours.
      if (driverName) result.errors.push(`${plugin.name}: ${oneLine(err)}`);
      else debug(`${plugin.name}: ${oneLine(err)}`);
    }
  }
  if (result.errors.length === 0) await removeClusterRecord(store, name);
  return result;
}
