import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the lock file names a process on this host that no longer exists. */
async function isStale(path: string): Promise<boolean> {
  try {
    const [pid, host] = (await readFile(path, 'utf8')).trim().split(/\s+/);
    return host === hostname() && !alive(Number(pid));
  } catch {
    return false;
  }
}

/**
 * Hold an exclusive lock file while `fn` runs. Two swarmup processes sharing a store take turns;
 * a lock left by a killed process on this host is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let wait = 10;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid} ${hostname()}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(path)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > end) {
        throw new UserError(
          `the store is locked by another swarmup process (${path}); try again when it finishes`,
        );
      }
      await delay(wait);
      wait = Math.min(wait * 2, 200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
