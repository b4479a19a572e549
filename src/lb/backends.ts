/**
 * The one table from driver to load balancer. Nothing else names a driver: `lb sync`, `lb status`,
 * `lb rm` and `cluster down` all come through here, and a new driver is one line.
 */
import { hasCloud, type CloudAccess } from '../cloud/access.js';
import { drivers, findDriver } from '../driver/registry.js';
import { UserError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { LbBackend, Log, Provider } from './backend.js';
import type { LocalOptions } from './local/backend.js';
import { loadClusterRecord } from '../cluster/record.js';
import { clusterTarget, teardownTarget, type LbTarget } from './target.js';

/**
 * local: an haproxy container on this host, for machines it reaches at their swarm addresses;
 * gce: a GCE network load balancer; slb: an Aliyun SLB.
 */
export const LB_OF_DRIVER: Readonly<Record<string, Provider>> = {
  docker: 'local',
  generic: 'local',
  virtualbox: 'local',
  google: 'gce',
  aliyunecs: 'slb',
};

export function providerFor(driver: string): Provider {
  const p = LB_OF_DRIVER[driver];
  if (!p) throw new UserError(`the ${driver} driver has no load balancer`);
  return p;
}

/** The driver's cloud client for the target (its cluster's flags, or the manager machine's state). */
async function cloudOf(t: LbTarget): Promise<CloudAccess> {
  const mod = await findDriver(t.driver).load();
  if (!hasCloud(mod)) throw new Error(`the ${t.driver} driver gives no cloud access`);
  return mod.cloud({
    flags: t.flags,
    machine: t.machine,
    cluster: t.kind === 'cluster' ? t.name : undefined,
  });
}

export interface BackendOptions {
  /** Local: the haproxy image and bind address. */
  local?: LocalOptions;
}

/** The load balancer of a target. Loads only the backend (and the SDK) it needs. */
export async function backendFor(t: LbTarget, o: BackendOptions = {}): Promise<LbBackend> {
  switch (providerFor(t.driver)) {
    case 'local': {
      const { LocalLb } = await import('./local/index.js');
      return new LocalLb(t.name, o.local) as LbBackend;
    }
    case 'gce': {
      const a = await cloudOf(t);
      if (a.provider !== 'gce') throw new Error(`the ${t.driver} driver gave ${a.provider} access`);
      const { GceLb } = await import('./gce/index.js');
      return new GceLb(t, a) as LbBackend;
    }
    case 'slb': {
      const a = await cloudOf(t);
      if (a.provider !== 'aliyun') throw new Error(`the ${t.driver} driver gave ${a.provider} access`);
      const { SlbLb } = await import('./slb/index.js');
      return new SlbLb(t, a) as LbBackend;
    }
  }
}

/**
 * `cluster down`: remove the load balancer of `cluster` for its driver (from its record), or, without
 * a record or driver, every kind of load balancer the environment reaches (found by labels, tags or
 * ownership). Returns what went; `onError` gets each driver's failure.
 */
export async function removeClusterLoadBalancers(
  store: Store,
  cluster: string,
  driver: string | undefined,
  log: Log,
  onError: (driver: string, err: unknown) => void,
): Promise<string[]> {
  const gone: string[] = [];
  const seen = new Set<Provider>();
  for (const d of driver ? [driver] : drivers.map((p) => p.name)) {
    const provider = LB_OF_DRIVER[d];
    if (!provider || seen.has(provider)) continue;
    seen.add(provider);
    try {
      const b = await backendFor(await teardownTarget(store, cluster, d));
      gone.push(...(await b.remove({ log, swarm: false, clusterGoes: true })));
    } catch (err) {
      onError(d, err);
    }
  }
  return gone;
}

/** `lb rm --cluster NAME`: the cluster's load balancer; without a record, the local one of that name. */
export async function removalTarget(store: Store, cluster: string): Promise<LbTarget> {
  if (await loadClusterRecord(store, cluster)) return clusterTarget(store, cluster);
  return teardownTarget(store, cluster, 'docker');
}
