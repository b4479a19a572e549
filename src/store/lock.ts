import { open, readFile, rm, stat } from 'node:fs/promises';
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

/** A breaker older than this belongs to a process that died in the moment it held it. */
const BREAKER_STALE_MS = 10_000;

/**
 * Remove a stale lock, once: under a short-lived breaker lock, check again that the lock is still the
 * stale one. Without this, two processes that both found the same dead lock could each remove it, the
 * second one removing the fresh lock the first had just taken. Returns false when another process
 * holds the breaker (it is breaking the lock right now).
 */
async function breakStale(path: string): Promise<boolean> {
  const breaker = `${path}.break`;
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > BREAKER_STALE_MS) await rm(breaker, { force: true });
    return false;
  }
  try {
    if (await isStale(path)) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
  return true;
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
      if ((await isStale(path)) && (await breakStale(path))) continue;
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
