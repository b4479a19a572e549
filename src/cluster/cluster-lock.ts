import { join } from 'node:path';
import { UserError } from '../errors.js';
import { acquireLock } from '../store/lock.js';
import { validateName } from '../store/names.js';
import { describeOwner } from '../store/owner.js';
import { ensureDir } from '../store/paths.js';
import type { Store } from '../store/store.js';
import { hostname } from 'node:os';

export interface ClusterLockOptions {
  /** What holds it, for the other side's message: "cluster up", "cluster down". */
  what: string;
  /** Wait this long for another process to finish (--wait-lock); 0 fails at once. */
  waitMs?: number;
  log?: (msg: string) => void;
}

/**
 * One lock per cluster, `clusters/<name>.lock`, held by `cluster up/scale/down` for the whole
 * operation: two runs on one store never change one cluster at once. Same design as the machine
 * claims: the holder's pid and host in the file, a lock of a process that has exited is taken over.
 * Returns the function that releases it.
 */
export async function lockCluster(
  store: Store,
  name: string,
  o: ClusterLockOptions,
): Promise<() => Promise<void>> {
  validateName('cluster', name);
  const dir = join(store.root, 'clusters');
  await ensureDir(dir);
  const path = join(dir, `${name}.lock`);
  const waitMs = o.waitMs ?? 0;
  return acquireLock(path, {
    waitMs,
    what: o.what,
    onWait: (h) =>
      o.log?.(`cluster "${name}" is being changed by ${h ? describeOwner(h) : 'another process'}; waiting`),
    busy: (h) => {
      const who = h ? describeOwner(h) : 'another swarmup process';
      const gone = h && h.host !== hostname() ? ` (if that process is gone, delete ${path})` : '';
      return new UserError(
        waitMs > 0
          ? `cluster "${name}" is still being changed by ${who} after ${Math.round(waitMs / 1000)} s${gone}`
          : `cluster "${name}" is being changed by ${who}: wait for it to finish, or pass --wait-lock${gone}`,
      );
    },
  });
}
