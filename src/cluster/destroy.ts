import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverPlugin, FlagValues } from '../driver/contract.js';
import { drivers, findDriver } from '../driver/registry.js';
import { oneLine } from '../errors.js';
import type { Store } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { debug } from '../util/log.js';
import { releaseHost } from '../provision/release.js';
import { clusterMachines } from './access.js';
import { loadClusterRecord, removeClusterRecord } from './record.js';

/**
 * A driver's flag values from `base`, then their environment variables, then (unless `defaults` is
 * false) their defaults. Label-based sweeps use this when no command line names the flags.
 */
export function flagsFromEnv(plugin: DriverPlugin, base: FlagValues = {}, defaults = true): FlagValues {
  const out: FlagValues = { ...base };
  for (const f of plugin.flags) {
    if (out[f.name] !== undefined) continue;
    const v = f.env ? process.env[f.env] : undefined;
    if (v !== undefined) out[f.name] = f.type === 'number' ? Number(v) : f.type === 'list' ? v.split(',') : v;
    else if (defaults && f.default !== undefined) out[f.name] = f.default;
  }
  return out;
}

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
  opts: { log: (m: string) => void; driver?: string; parallel?: number },
): Promise<DestroyResult> {
  const result: DestroyResult = { machines: [], swept: [], errors: [] };
  const record = await loadClusterRecord(store, name);
  const machines = await clusterMachines(store, name);
  await mapBounded(machines, opts.parallel ?? 8, async (m) => {
    try {
      opts.log(`Removing machine ${m.cfg.Name}...`);
      // A host that exists without swarmup is given back, not destroyed.
      if (findDriver(m.cfg.DriverName).inventory) opts.log(`${m.cfg.Name}: ${await releaseHost(m)}`);
      await m.driver.remove();
      await store.remove(m.cfg.Name);
      result.machines.push(m.cfg.Name);
    } catch (err) {
      result.errors.push(`${m.cfg.Name}: ${oneLine(err)}`);
    }
  });
  // Claims left by an interrupted create of this cluster's machines.
  const claimRe = new RegExp(`^${name}-(manager|worker)-\\d+$`);
  for (const entry of await readdir(join(store.root, 'machines')).catch(() => [] as string[])) {
    if (claimRe.test(entry) && !(await store.exists(entry))) await store.release(entry);
  }
  const driverName = record?.Driver ?? opts.driver;
  if (!driverName || driverName === 'docker') {
    try {
      result.swept.push(...(await removeLocalLoadBalancer(name, opts.log)));
    } catch (err) {
      if (driverName) result.errors.push(`load balancer: ${oneLine(err)}`);
      else debug(`local load balancer: ${oneLine(err)}`);
    }
  }
  const plugins = driverName ? [findDriver(driverName)] : drivers;
  for (const plugin of plugins) {
    const mod = await plugin.load();
    if (!mod.destroyCluster) continue;
    try {
      const flags = flagsFromEnv(plugin, plugin.name === record?.Driver ? record.DriverOptions : {});
      result.swept.push(...(await mod.destroyCluster(name, flags, opts.log)));
    } catch (err) {
      // Without a record we try every driver; one that cannot be reached here owns nothing of ours.
      if (driverName) result.errors.push(`${plugin.name}: ${oneLine(err)}`);
      else debug(`${plugin.name}: ${oneLine(err)}`);
    }
  }
  if (result.errors.length === 0) await removeClusterRecord(store, name);
  return result;
}

/** The local load balancer container of `lb sync` (on the local engine), if there is one. */
async function removeLocalLoadBalancer(name: string, log: (m: string) => void): Promise<string[]> {
  const { default: Docker } = await import('dockerode');
  const { removeLocal } = await import('../lb/local/backend.js');
  const { lbContainerName } = await import('../lb/local/container.js');
  if (!(await removeLocal(new Docker(), name))) return [];
  log(`Removed load balancer ${lbContainerName(name)}`);
  return [`container ${lbContainerName(name)}`];
}
