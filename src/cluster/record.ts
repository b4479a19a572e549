import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlagValues } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { EngineOptions } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import { isValidName, validateName } from '../store/names.js';
import { readTextIfExists } from '../store/paths.js';
import type { RebuildStore } from '../swarm/steps/context.js';
import type { HostSpec } from './hosts.js';

/** What `cluster up` was asked for, kept in `clusters/<name>.json` (no credentials, relative paths). */
export interface ClusterRecord {
  ConfigVersion: 1;
  Name: string;
  Driver: string;
  /** Driver flags that are not credentials. */
  DriverOptions: FlagValues;
  Managers: number;
  Workers: number;
  Parallel: number;
  Engine: EngineOptions;
  Labels: Record<string, string>;
  CreatedAt: string;
  ExpiresAt?: string;
  /**
   * Machine name → the swarm node IDs it had, newest first (recorded at each join): how swarmup tells
   * a machine's node, and its leftovers, without trusting hostnames.
   */
  Nodes?: Record<string, RecordedNodes>;
  /** The machine that led the swarm when `cluster up` last finished. */
  Leader?: string;
  /**
   * The machine raft was restarted on (`--force-new-cluster`) by a run that has not finished since:
   * a re-run asks it before restarting raft again (a second restart of a restarted raft leaves a swarm
   * whose node list names no leader).
   */
  RaftRestartedOn?: string;
  /** The hosts of a cluster of existing hosts (`spec.hosts`), as last given. */
  Hosts?: HostSpec[];
}

export interface RecordedNodes {
  /** Node IDs, newest first. */
  IDs: string[];
  /** When the machine that had the newest ID was created: another value means it was made again. */
  MachineCreatedAt?: string;
}

/** How many node IDs are kept per machine. */
const NODE_HISTORY = 4;

/** The node IDs recorded for a machine, newest first. */
export const recordedIds = (rec: ClusterRecord | undefined, machine: string): string[] =>
  rec?.Nodes?.[machine]?.IDs ?? [];

/**
 * Was the machine made again since its node ID was recorded? Then that node is gone for sure (a new
 * machine has no swarm state), whether or not the run that made it finished.
 */
export const remadeSinceRecorded = (
  rec: ClusterRecord | undefined,
  machine: string,
  createdAt: string,
): boolean => {
  const had = rec?.Nodes?.[machine]?.MachineCreatedAt;
  return had !== undefined && had !== createdAt;
};

/**
 * Record each machine's current node ID first in `Nodes` (with the machine's creation time); true when
 * that changed anything.
 */
export function recordNodeIds(
  rec: ClusterRecord,
  ids: Record<string, string>,
  createdAt: Record<string, string>,
): boolean {
  const nodes = { ...(rec.Nodes ?? {}) };
  let changed = false;
  for (const [machine, id] of Object.entries(ids)) {
    const had = nodes[machine];
    if (had?.IDs[0] === id && had.MachineCreatedAt === createdAt[machine]) continue;
    const rest = (had?.IDs ?? []).filter((x) => x !== id);
    nodes[machine] = { IDs: [id, ...rest].slice(0, NODE_HISTORY), MachineCreatedAt: createdAt[machine] };
    changed = true;
  }
  rec.Nodes = nodes;
  return changed;
}

export { validateClusterName } from '../store/names.js';

const dir = (store: Store) => join(store.root, 'clusters');
/** The record's path; the name is checked first, so no name reaches outside `clusters/`. */
const file = (store: Store, name: string) => join(dir(store), `${validateName('cluster', name)}.json`);

export async function loadClusterRecord(store: Store, name: string): Promise<ClusterRecord | undefined> {
  const text = await readTextIfExists(
    file(store, name),
    `fix or delete it, or run "swarmup cluster down ${name}"`,
  );
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file(store, name)} is corrupt: ${(err as Error).message}`);
  }
  const r = raw as Partial<ClusterRecord> | null;
  const count = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.Name !== name ||
    typeof r.Driver !== 'string' ||
    !count(r.Managers) ||
    !count(r.Workers)
  ) {
    throw new UserError(
      `${file(store, name)} is corrupt: it must hold Name "${name}", Driver and the node counts; ` +
        `fix or delete it, or run "swarmup cluster down ${name}"`,
    );
  }
  return r as ClusterRecord;
}

export async function requireClusterRecord(store: Store, name: string): Promise<ClusterRecord> {
  const r = await loadClusterRecord(store, name);
  if (!r) throw new UserError(`Cluster "${name}" does not exist`);
  return r;
}

export async function saveClusterRecord(store: Store, rec: ClusterRecord): Promise<void> {
  await mkdir(dir(store), { recursive: true, mode: 0o700 });
  await store.locked(() =>
    writeFileAtomic(file(store, rec.Name), JSON.stringify(rec, null, 2) + '\n', 0o600),
  );
}

/** Where batch creates of the cluster keep their journal (src/cluster/batch.ts): beside the record. */
export const clusterBatchDir = (store: Store, name: string) =>
  join(dir(store), `${validateName('cluster', name)}.batch`);

/** What a swarm rebuild carries over (src/swarm/steps/rebuild.ts), kept beside the record until done. */
const rebuildFile = (store: Store, name: string) =>
  join(dir(store), `${validateName('cluster', name)}.swarm-rebuild`);

/** The store side of a swarm rebuild for cluster `name`: its contents, 0600, written atomically. */
export function rebuildStoreOf(store: Store, name: string): RebuildStore {
  const path = rebuildFile(store, name);
  return {
    async load() {
      const text = await readTextIfExists(path, `delete it to drop the rebuild of cluster ${name}`);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as Awaited<ReturnType<RebuildStore['load']>>;
      } catch (err) {
        throw new UserError(`${path} is corrupt: ${(err as Error).message}`);
      }
    },
    async save(c) {
      await mkdir(dir(store), { recursive: true, mode: 0o700 });
      await store.locked(() => writeFileAtomic(path, JSON.stringify(c) + '\n', 0o600));
    },
    clear: () => rm(path, { force: true }),
  };
}

export async function removeClusterRecord(store: Store, name: string): Promise<void> {
  await rm(file(store, name), { force: true });
  await rm(rebuildFile(store, name), { force: true });
  await rm(clusterBatchDir(store, name), { recursive: true, force: true });
}

export async function listClusterRecords(store: Store): Promise<ClusterRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir(store));
  } catch {
    return [];
  }
  const out: ClusterRecord[] = [];
  for (const n of names.filter((f) => f.endsWith('.json') && isValidName('cluster', f.slice(0, -5))).sort()) {
    const r = await loadClusterRecord(store, n.slice(0, -5));
    if (r) out.push(r);
  }
  return out;
}

/** Machine names of a cluster, managers first: `<cluster>-manager-1`, `<cluster>-worker-1`, … */
export function memberNames(cluster: string, managers: number, workers: number) {
  return [
    ...Array.from({ length: managers }, (_, i) => ({
      name: `${cluster}-manager-${i + 1}`,
      role: 'manager' as const,
    })),
    ...Array.from({ length: workers }, (_, i) => ({
      name: `${cluster}-worker-${i + 1}`,
      role: 'worker' as const,
    })),
  ];
}
