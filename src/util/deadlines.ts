import { UserError } from '../errors.js';

/**
 * Every network call has a deadline. These are the defaults, in one place:
 * - an API answer (the response headers of a Docker Engine API request on the local engine, TCP/TLS
 *   or unix socket): 60 s, or `SWARMUP_API_TIMEOUT` seconds. Streams after the answer (a pull's
 *   progress, an exec's output) are bounded by their own operation's deadline.
 * - SSH: 15 s to connect and finish the handshake, keepalives every 10 s (three missed: gone).
 * - the machines' own engines: 60 s of silence (src/swarm/client.ts); cloud APIs: their clients'
 *   request timeouts (15 s for Alibaba Cloud, the google driver's per-request timing).
 */
export function apiAnswerMs(env = process.env.SWARMUP_API_TIMEOUT): number {
  if (env === undefined || env === '') return 60_000;
  const s = Number(env);
  if (!Number.isFinite(s) || s <= 0) {
    throw new UserError(`invalid SWARMUP_API_TIMEOUT "${env}": give seconds > 0`);
  }
  return Math.round(s * 1000);
}

/**
 * dockerode closes a request that got no answer in time without saying why ("socket hang up"):
 * say it, naming the endpoint.
 */
export function noAnswerHint(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if ((e?.code === 'ECONNRESET' || !e?.code) && /socket hang up/i.test(e?.message ?? '')) {
    return `no answer within ${apiAnswerMs() / 1000} s, or the connection was closed (SWARMUP_API_TIMEOUT sets the deadline)`;
  }
  return undefined;
}
