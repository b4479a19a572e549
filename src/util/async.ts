/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry `fn` with capped exponential backoff until it succeeds or the deadline passes. */
export async function retryUntil<T>(
  fn: () => Promise<T>,
  opts: { deadlineMs: number; initialMs?: number; maxMs?: number; retryable?: (err: unknown) => boolean },
): Promise<T> {
  const end = Date.now() + opts.deadlineMs;
  let wait = opts.initialMs ?? 200;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (opts.retryable && !opts.retryable(err)) throw err;
      if (Date.now() + wait > end) throw err;
      await delay(wait);
      wait = Math.min(wait * 2, opts.maxMs ?? 2000);
    }
  }
}

/** Reject with `message` when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
