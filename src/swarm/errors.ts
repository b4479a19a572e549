import { UserError, oneLine } from '../errors.js';
import type { EngineEndpoint } from '../engine/api.js';

/** Docker join tokens look like `SWMTKN-1-<CA digest>-<secret>`. */
const TOKEN_RE = /SWMTKN-[0-9A-Za-z-]+/g;

/** Remove join tokens (any `SWMTKN-…` string, plus the given secrets verbatim) from a text. */
export function redactTokens(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('<redacted>');
  return out.replace(TOKEN_RE, 'SWMTKN-<redacted>');
}

/**
 * The daemon's own message from a dockerode error: the `message` of the JSON error body when there is
 * one, otherwise the error text without docker-modem's `(HTTP code N) reason - ` prefix.
 */
export function engineMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const json = (err as { json?: unknown }).json;
    if (json && typeof json === 'object' && !Buffer.isBuffer(json)) {
      const m = (json as { message?: unknown }).message;
      if (typeof m === 'string' && m.trim()) return m.trim();
    }
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string') return message.replace(/^\(HTTP code \d+\) .*? - /, '').trim();
  }
  return String(err);
}

/**
 * A failed Engine API call, worded for the user. It keeps only the daemon's message (tokens redacted)
 * and the HTTP status: never the original error, whose fields may echo request or response bodies.
 */
export class EngineApiError extends UserError {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    /** The daemon's message, redacted, on one line. */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'EngineApiError';
  }
}

export function wrapEngineError(
  err: unknown,
  ep: Pick<EngineEndpoint, 'host' | 'port'>,
  action: string,
  secrets: readonly string[] = [],
): EngineApiError {
  if (err instanceof EngineApiError) {
    const message = redactTokens(err.message, secrets);
    return message === err.message ? err : new EngineApiError(message, err.statusCode, err.detail);
  }
  const detail = redactTokens(oneLine(engineMessage(err)), secrets);
  const raw = (err as { statusCode?: unknown } | null)?.statusCode;
  const status = typeof raw === 'number' ? raw : undefined;
  return new EngineApiError(`${action} on ${ep.host}:${ep.port} failed: ${detail}`, status, detail);
}

const detailOf = (err: unknown): string =>
  err instanceof EngineApiError ? err.detail : err instanceof Error ? err.message : String(err);

const TRANSIENT = [
  /code = (Unavailable|DeadlineExceeded)/,
  /deadline exceeded/i,
  /does not have a leader/i,
  /not the leader|lost leadership|leadership changed|proposal dropped/i,
  /Timeout was reached before node joined/i,
  /transport is closing|error reading from server|connection error/i,
  /connection refused|connection reset|i\/o timeout|TLS handshake timeout|socket hang up/i,
  /no answer from \S+ within \d+ ms/,
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/,
];

/**
 * Errors worth retrying while a swarm settles: the raft leader being elected, a manager restarting its
 * gRPC listener, a connection cut. Anything else (bad token, wrong swarm, locked swarm) is final.
 */
export function isTransient(err: unknown): boolean {
  const status = err instanceof EngineApiError ? err.statusCode : undefined;
  if (status === 502 || status === 504) return true;
  const text = detailOf(err);
  return TRANSIENT.some((re) => re.test(text)) || isOutOfSequence(err);
}

/** The swarm has no raft leader right now (an election, or a lost quorum). */
export function isNoLeader(err: unknown): boolean {
  return /does not have a leader/i.test(detailOf(err));
}

/** The call got no answer in time (a manager holding requests while its raft has no leader). */
export function isNoAnswer(err: unknown): boolean {
  return /no answer from \S+ within \d+ ms|code = DeadlineExceeded|deadline exceeded/i.test(detailOf(err));
}

/** A node update lost a race with another update: re-read the version and try again. */
export function isOutOfSequence(err: unknown): boolean {
  return /update out of sequence/i.test(detailOf(err));
}

/** "This node is already part of a swarm": another call raced us, re-read the state. */
export function isAlreadyInSwarm(err: unknown): boolean {
  return /already part of a swarm/i.test(detailOf(err));
}

/** "This node is not part of a swarm" (leave, inspect). */
export function isNotInSwarm(err: unknown): boolean {
  return /not part of a swarm/i.test(detailOf(err));
}

export function isNoSuchNode(err: unknown): boolean {
  return (
    (err instanceof EngineApiError && err.statusCode === 404) || /node .* not found/i.test(detailOf(err))
  );
}

/** A manager entry that raft no longer has (dropped by `swarm init --force-new-cluster`). */
export function isNotInRaft(err: unknown): boolean {
  return /can't find manager in raft memberlist/i.test(detailOf(err));
}
