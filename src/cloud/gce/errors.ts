/**
 * Errors of the Compute API, whichever way they arrive: a GaxiosError from the auth client's fetch
 * (HTTP status, the JSON error body as message or data), a GoogleError from google-gax (gRPC code,
 * `errors[]` dropped), or a network error (`ECONNREFUSED`...). One shape, one retry rule.
 */
import { UserError } from '../../errors.js';

export interface ApiFailure {
  /** HTTP status, when there was a response. */
  status?: number;
  /** `reason` of the first entry of `error.errors` (notFound, alreadyExists, rateLimitExceeded...). */
  reason?: string;
  message: string;
  /** A network error code when there was no response (ECONNREFUSED...). */
  network?: string;
}

/** google-gax's gRPC codes back to the HTTP status they came from. */
const GRPC_TO_HTTP: Record<number, number> = {
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  12: 501,
  13: 500,
  14: 503,
  16: 401,
};

interface ErrorBody {
  error?: { code?: number; message?: string; errors?: Array<{ reason?: string; message?: string }> };
}

function parseBody(v: unknown): ErrorBody | undefined {
  if (v && typeof v === 'object') return v as ErrorBody;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      return JSON.parse(v) as ErrorBody;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const NETWORK =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|UND_ERR_\w+)$/;

export function describeApiError(err: unknown): ApiFailure {
  if (err instanceof ApiError) return err.failure;
  const e = (err ?? {}) as {
    message?: string;
    code?: unknown;
    status?: unknown;
    response?: { status?: number; data?: unknown };
    reason?: string;
    cause?: { code?: string };
  };
  const rawMessage = String(e.message ?? err);
  const body = parseBody(e.response?.data) ?? parseBody(rawMessage);
  let status =
    typeof e.status === 'number'
      ? e.status
      : typeof e.response?.status === 'number'
        ? e.response.status
        : typeof body?.error?.code === 'number'
          ? body.error.code
          : undefined;
  const codeStr = typeof e.code === 'string' ? e.code : (e.cause?.code ?? '');
  if (status === undefined && typeof e.code === 'number') status = GRPC_TO_HTTP[e.code];
  if (status === undefined && /^\d{3}$/.test(codeStr)) status = Number(codeStr);
  const network = status === undefined && NETWORK.test(codeStr) ? codeStr : undefined;
  const message = (body?.error?.message ?? rawMessage).replace(/\s*\n\s*/g, ' ').trim();
  const reason = body?.error?.errors?.[0]?.reason ?? e.reason;
  return { status, reason, message, network };
}

/** Throttling, server errors and "busy" answers that the reference says to retry (after Terraform's). */
export function isRetryable(f: ApiFailure): boolean {
  if (f.network) return f.network !== 'ECONNREFUSED' && f.network !== 'ENOTFOUND';
  switch (f.status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    case 403:
      return (
        /rateLimitExceeded|userRateLimitExceeded/.test(f.reason ?? '') ||
        /quota exceeded.*per minute|rate limit exceeded|CONCURRENT_OPERATIONS_QUOTA_EXCEEDED/i.test(f.message)
      );
    case 409:
      return (
        f.reason === 'operationInProgress' ||
        /operation.{0,20}in progress|operationInProgress/i.test(f.message)
      );
    case 400:
      return f.reason === 'resourceNotReady' || /resourceNotReady|is not ready/i.test(f.message);
    default:
      return false;
  }
}

export const isNotFound = (err: unknown) => describeApiError(err).status === 404;
export const isAlreadyExists = (err: unknown) => {
  const f = describeApiError(err);
  return f.status === 409 && !isRetryable(f);
};

/** A failed call, described in one line (for the user: no stack trace). */
export class ApiError extends UserError {
  constructor(
    readonly what: string,
    readonly failure: ApiFailure,
  ) {
    const detail = failure.network
      ? `cannot reach the Compute API (${failure.network}${/^no answer from /.test(failure.message) ? `: ${failure.message}` : ''})`
      : `${failure.status ? `${failure.status} ` : ''}${failure.message}`;
    super(`${what}: ${detail}`);
    this.name = 'ApiError';
  }
}

/** A GCE operation that finished with `error.errors`. */
export class OperationError extends UserError {
  constructor(
    readonly what: string,
    readonly errors: Array<{ code?: string | null; message?: string | null }>,
  ) {
    const parts = errors.map((e) => `${e.message ?? 'failed'}${e.code ? ` (${e.code})` : ''}`);
    super(`${what} failed: ${parts.join('; ') || 'the operation reported an error'}`);
    this.name = 'OperationError';
  }
}
