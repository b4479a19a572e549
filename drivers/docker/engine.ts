import type { EngineAddress } from '../../src/engine/host.js';
import { UserError } from '../../src/errors.js';
import { noAnswerHint } from '../../src/util/deadlines.js';

/**
 * The Docker Engine a machine lives on (src/engine/host.ts): taken from the environment when the
 * machine is made and saved in its state, so that pointing the environment at a machine
 * (`eval $(swarmup env NAME)`) does not lose track of the others.
 */
export type { EngineAddress } from '../../src/engine/host.js';
export { hostEngineClient as engineClient } from '../../src/engine/host.js';

interface ApiError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

export const statusOf = (err: unknown): number | undefined => (err as ApiError)?.statusCode;

/** The engine's own message for an API error, without dockerode's "(HTTP code 500) ..." prefix. */
export function apiMessage(err: unknown): string {
  const e = err as ApiError;
  const msg = e?.json?.message ?? e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** A user error for a failed API call: unreachable engines get one message everywhere. */
export function engineError(a: EngineAddress, what: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  const code = (err as ApiError)?.code;
  const silent = noAnswerHint(err);
  if (silent) return new UserError(`${what}: the Docker Engine at ${a.DockerHost} gave ${silent}`);
  if (code && UNREACHABLE.has(code)) {
    return new UserError(`cannot reach the Docker Engine at ${a.DockerHost} (${code}): is it running?`);
  }
  const msg =
    apiMessage(err) ||
    `the engine at ${a.DockerHost} answered HTTP ${statusOf(err) ?? '(no status)'} with no message: is that a Docker Engine API endpoint?`;
  return new UserError(`${what}: ${msg}`);
}
