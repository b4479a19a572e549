import { open, readFile, rm, stat } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import { ownerGone, ownerLine, parseOwner, type Owner } from './owner.js';

async function readOwner(path: string): Promise<Owner | undefined> {
  return parseOwner(await readFile(path, 'utf8').catch(() => ''));
}

/**
 * A lock file with no owner line this long after it was made was left by a process killed between
 * creating it and writing its line (microseconds apart): nobody holds it.
 */
const OWNERLESS_STALE_MS = 5_000;

/** True when the lock file names a process on this host that no longer exists, or names nobody. */
async function isStale(path: string): Promise<boolean> {
  const owner = await readOwner(path);
  if (owner) return ownerGone(owner);
  const age = await stat(path).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  return age > OWNERLESS_STALE_MS;
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

export interface LockOptions {
  /** How long to wait for a live holder; 0 fails at once. */
  waitMs: number;
  /** Written after pid and host, for messages ("cluster up"). */
  what?: string;
  /** The error when the lock is still held after waitMs. */
  busy: (holder: Owner | undefined) => UserError;
  /** Called once when we start waiting for a live holder. */
  onWait?: (holder: Owner | undefined) => void;
}

/**
 * Take an exclusive lock file (`<pid> <host> [what]`); a lock left by a killed process on this host
 * is taken over. Returns the function that releases it.
 */
export async function acquireLock(path: string, o: LockOptions): Promise<() => Promise<void>> {
  const end = Date.now() + o.waitMs;
  let wait = 10;
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(ownerLine(o.what));
      } finally {
        await fh.close();
      }
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await isStale(path)) && (await breakStale(path))) continue;
      if (Date.now() >= end) throw o.busy(await readOwner(path));
      if (!told) {
        told = true;
        o.onWait?.(await readOwner(path));
      }
      await delay(wait);
      wait = Math.min(wait * 2, 200);
    }
  }
}

/**
 * Hold an exclusive lock file while `fn` runs. Two swarmup processes sharing a store take turns;
 * a lock left by a killed process on this host is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const release = await acquireLock(path, {
    waitMs: timeoutMs,
    busy: () =>
      new UserError(`the store is locked by another swarmup process (${path}); try again when it finishes`),
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}
