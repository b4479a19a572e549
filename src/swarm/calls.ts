/**
 * The Engine API calls the swarm steps are made of, each bounded. Reads (`GET /info`, `GET /nodes`,
 * `GET /swarm`) go over node:https with a short deadline: a manager whose raft just lost its leader
 * holds every request for 20 s before it answers, and waiting that out is never worth it — a read that
 * gets no answer is retried (or taken as "no leader" by the quorum check). Writes (init, join, node
 * updates) go through dockerode, whose deadline is long enough for a join that takes ~20 s.
 */
import type Docker from 'dockerode';
import { engineRequest, type EngineEndpoint } from '../engine/api.js';
import { UserError, oneLine } from '../errors.js';
import { delay, retryUntil } from '../util/async.js';
import { engineClient } from './client.js';
import { isNoAnswer, isTransient, wrapEngineError } from './errors.js';
import {
  SWARM_PORT,
  toLocalSwarmState,
  toSwarmNode,
  type LocalSwarmState,
  type RawInfo,
  type RawNode,
  type SwarmNode,
} from './model.js';

export const LISTEN_ADDR = `0.0.0.0:${SWARM_PORT}`;
/** How long one read may take. */
export const READ_TIMEOUT_MS = 5_000;
/** How long a state may take to settle (a join in progress, a new manager taking up its role). */
export const SETTLE_MS = 60_000;

export const where = (ep: EngineEndpoint): string => `${ep.host}:${ep.port}`;

/** One Engine API write through dockerode; any failure becomes an EngineApiError, secrets redacted. */
export async function call<T>(
  ep: EngineEndpoint,
  action: string,
  fn: (d: Docker) => Promise<T>,
  secrets: readonly string[] = [],
): Promise<T> {
  try {
    return await fn(engineClient(ep));
  } catch (err) {
    throw wrapEngineError(err, ep, action, secrets);
  }
}

/** Like `call`, retried while the error is transient (leader election, connection cut). */
export function callRetrying<T>(
  ep: EngineEndpoint,
  action: string,
  fn: (d: Docker) => Promise<T>,
  deadlineMs = 30_000,
): Promise<T> {
  return retryUntil(() => call(ep, action, fn), {
    deadlineMs,
    initialMs: 250,
    maxMs: 2_000,
    retryable: isTransient,
  });
}

/**
 * One bounded `GET` returning the body. Read with node:https rather than dockerode, whose transport
 * prints response bodies under `DEBUG=modem` (the join tokens of `GET /swarm` included).
 */
export async function engineGet(
  ep: EngineEndpoint,
  path: string,
  action: string,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<string> {
  let r;
  try {
    r = await engineRequest(ep, 'GET', path, timeoutMs);
  } catch (err) {
    throw wrapEngineError(err, ep, action);
  }
  if (r.status === 200) return r.body;
  let detail: string;
  try {
    detail = (JSON.parse(r.body) as { message?: string }).message ?? '';
  } catch {
    detail = '';
  }
  detail = detail || r.body.trim() || 'no message';
  throw wrapEngineError(Object.assign(new Error(detail), { statusCode: r.status }), ep, action);
}

function parse<T>(ep: EngineEndpoint, body: string, what: string): T {
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new UserError(`${where(ep)} answered ${what} with something that is not JSON`);
  }
}

/** The daemon's place in a swarm, read once (no retry). */
export async function readSwarmState(
  ep: EngineEndpoint,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<LocalSwarmState> {
  const info = parse<RawInfo>(
    ep,
    await engineGet(ep, '/info', 'reading the swarm state', timeoutMs),
    'GET /info',
  );
  return toLocalSwarmState(info.Swarm, info.Name);
}

/** The daemon's place in a swarm, retried while the daemon is busy (bounded by `deadlineMs`). */
export function swarmState(ep: EngineEndpoint, deadlineMs = 30_000): Promise<LocalSwarmState> {
  return retryUntil(() => readSwarmState(ep), {
    deadlineMs,
    initialMs: 250,
    maxMs: 2_000,
    retryable: isTransient,
  });
}

/** The swarm state once it is no longer `pending` (a join in progress), or `pending` at the deadline. */
export async function settledState(ep: EngineEndpoint, deadlineMs = SETTLE_MS): Promise<LocalSwarmState> {
  const end = Date.now() + deadlineMs;
  let wait = 250;
  for (;;) {
    const st = await swarmState(ep);
    if (st.state !== 'pending' || Date.now() + wait > end) return st;
    await delay(wait);
    wait = Math.min(wait * 2, 2_000);
  }
}

/**
 * A member's state at the start of a run: like `settledState`, but a daemon that twice gives no answer
 * to `GET /info` is taken for what it is, a manager whose raft has no leader (`busy`), instead of being
 * waited for: it would hold each request until its election ends, ~30 s.
 */
export async function memberState(ep: EngineEndpoint): Promise<LocalSwarmState> {
  const end = Date.now() + SETTLE_MS;
  let wait = 250;
  let silent = 0;
  for (;;) {
    let st: LocalSwarmState | undefined;
    try {
      st = await readSwarmState(ep, BUSY_AFTER_MS);
    } catch (err) {
      if (isNoAnswer(err) && ++silent >= 2) return { state: 'active', isManager: true, busy: true };
      if (!isTransient(err) || Date.now() + wait > end) throw err;
    }
    if (st && (st.state !== 'pending' || Date.now() + wait > end)) return st;
    await delay(wait);
    wait = Math.min(wait * 2, 2_000);
  }
}

/** How long one `GET /info` may go unanswered before the daemon counts as busy (see memberState). */
const BUSY_AFTER_MS = 3_000;

export function refuseBrokenState(name: string, st: LocalSwarmState): void {
  if (st.state === 'locked')
    throw new UserError(`${name}: the swarm is locked; unlock it first (docker swarm unlock)`);
  if (st.state === 'error')
    throw new UserError(`${name}: the swarm state is "error"${st.error ? `: ${oneLine(st.error)}` : ''}`);
  if (st.state === 'pending')
    throw new UserError(`${name}: still joining a swarm (state "pending") after ${SETTLE_MS / 1000} s`);
}

/** Poll `check` with backoff until it holds; `what` names the failure at the deadline. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  deadlineMs: number,
): Promise<void> {
  if (!(await pollUntil(check, deadlineMs)))
    throw new UserError(`${what} within ${Math.round(deadlineMs / 1000)} s`);
}

/** `check` until it holds (true) or `deadlineMs` pass (false), 200 ms apart at first, then up to 2 s. */
export async function pollUntil(check: () => Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (let wait = 200; ; wait = Math.min(wait * 2, 2_000)) {
    if (await check()) return true;
    if (Date.now() + wait > end) return false;
    await delay(wait);
  }
}

/** One bounded `GET` of a JSON body (`what` names it in errors: "reading the configs"). */
export async function engineGetJson<T>(
  ep: EngineEndpoint,
  path: string,
  what: string,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<T> {
  return parse<T>(ep, await engineGet(ep, path, what, timeoutMs), `GET ${path}`);
}

/** `GET /nodes` once, bounded. */
export function readNodes(manager: EngineEndpoint, timeoutMs = READ_TIMEOUT_MS): Promise<RawNode[]> {
  return engineGetJson<RawNode[]>(manager, '/nodes', 'listing swarm nodes', timeoutMs);
}

/** `GET /nodes`, retried while the swarm settles (an election, a restarting manager). */
export function rawNodes(manager: EngineEndpoint, deadlineMs = 30_000): Promise<RawNode[]> {
  return retryUntil(() => readNodes(manager), {
    deadlineMs,
    initialMs: 250,
    maxMs: 2_000,
    retryable: isTransient,
  });
}

/** The swarm's nodes, by hostname then ID. */
export async function listNodes(manager: EngineEndpoint): Promise<SwarmNode[]> {
  return (await rawNodes(manager))
    .map(toSwarmNode)
    .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
}
