import { loadClusterRecord, type ClusterRecord } from '../cluster/record.js';
import type { Store } from '../store/store.js';

/** What every load-balancer command passes to a cloud load balancer. */
export interface LbContext {
  store: Store;
  cluster: string;
  record: ClusterRecord;
}

export interface LbCommandOptions {
  cluster: string;
  dryRun?: boolean;
  json?: boolean;
  watch?: boolean;
  /** `--resync <seconds>` of `--watch`. */
  resync?: string;
}

/** A cloud load balancer (GCE target pool + forwarding rules, Aliyun SLB, ...) behind `swarmup lb`. */
export interface CloudLoadBalancer {
  sync(o: LbCommandOptions, ctx: LbContext): Promise<void>;
  status(o: LbCommandOptions, ctx: LbContext): Promise<void>;
  rm(o: LbCommandOptions, ctx: LbContext): Promise<void>;
}

/** The labels a cluster puts on everything it makes: its `--label`s and `swarmup.expires` (from --ttl). */
export function clusterLabels(record: ClusterRecord): Record<string, string> {
  return { ...record.Labels, ...(record.ExpiresAt ? { 'swarmup.expires': record.ExpiresAt } : {}) };
}

/**
 * Cloud load balancers by cluster driver, loaded only when a cluster of that driver is synced.
 * Clusters of other drivers (docker, generic) get the local haproxy load balancer.
 */
const CLOUD: Record<string, () => Promise<CloudLoadBalancer>> = {
  aliyunecs: () => import('./slb/index.js'),
  google: () => import('./gce/index.js'),
};

export async function cloudLoadBalancerFor(
  store: Store,
  cluster: string,
): Promise<{ lb: CloudLoadBalancer; ctx: LbContext } | undefined> {
  const record = await loadClusterRecord(store, cluster);
  const load = record && CLOUD[record.Driver];
  if (!record || !load) return undefined;
  return { lb: await load(), ctx: { store, cluster, record } };
}
