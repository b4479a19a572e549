/**
 * What a batch create keeps in the store so that a re-run sends the same request (the same
 * idempotency token) instead of a second one: the journal, and the rules the drivers share for
 * grouping machines into calls and for when a journalled call is resent.
 */
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchJournal, DriverContext } from '../driver/contract.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { Store } from '../store/store.js';
import { clusterBatchDir } from './record.js';

/** The journal of a cluster's batch creates: `clusters/<name>.batch/` (0700), JSON records and keys. */
export function batchJournal(store: Store, cluster: string): BatchJournal {
  const dir = clusterBatchDir(store, cluster);
  const file = (key: string) => {
    if (!/^[a-z0-9][a-z0-9._-]{0,100}$/.test(key)) throw new Error(`bad journal key ${key}`);
    return join(dir, key);
  };
  return {
    async read<T>(key: string) {
      const text = await readFile(file(`${key}.json`), 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as T;
      } catch {
        return undefined; // a torn or hand-edited record is as good as none: the batch starts anew
      }
    },
    async write(key, value) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(file(`${key}.json`), JSON.stringify(value, null, 2) + '\n', 0o600);
    },
    async remove(key) {
      await rm(file(`${key}.json`), { force: true });
      await rmdir(dir).catch(() => undefined); // gone with its last record
    },
    path: (name) => {
      file(name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return join(dir, name);
    },
  };
}

/**
 * How long a journalled call is resent with its token rather than its leftovers removed: under the
 * 60 minutes GCE keeps a requestId at least; ECS uses the same window.
 */
export const RESEND_WINDOW_MS = 50 * 60_000;

/** A journalled call is resent when it was for exactly these machines and is recent enough. */
export function resendable(prev: { names: string[]; at: number } | undefined, names: string[]): boolean {
  if (!prev) return false;
  const same =
    prev.names.length === names.length && [...prev.names].sort().join() === [...names].sort().join();
  return same && Date.now() - prev.at < RESEND_WINDOW_MS;
}

/** The machines of a batch by cluster role (managers, workers): one creation call per role. */
export function byRole(machines: DriverContext[]): Map<string, DriverContext[]> {
  const out = new Map<string, DriverContext[]>();
  for (const m of machines) {
    const role = m.cluster?.role ?? 'worker';
    out.set(role, [...(out.get(role) ?? []), m]);
  }
  return out;
}

/** One creation call of a batch: its machines, its journalled record, and whether a re-run resends it. */
export interface CallGroup<R> {
  /** The call's journal key. */
  key: string;
  role: string;
  machines: DriverContext[];
  rec: R;
  /** Resent from the journal (same token), not a new call. */
  replay: boolean;
}
