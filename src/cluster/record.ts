import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlagValues } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { EngineOptions } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import { isValidName, validateName } from '../store/names.js';
import { readTextIfExists } from '../store/paths.js';

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

export async function removeClusterRecord(store: Store, name: string): Promise<void> {
  await rm(file(store, name), { force: true });
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
