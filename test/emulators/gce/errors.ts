// GCE Compute v1 error bodies, as the real API sends them:
// {"error":{"code":404,"message":"…","errors":[{"message":"…","domain":"global","reason":"notFound"}]}}

export interface ErrorItem {
  message: string;
  domain: string;
  reason: string;
}

/** An HTTP error the emulator answers with; `body()` is the exact JSON the API returns. */
export class GceError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly domain = 'global',
    readonly details?: unknown[],
  ) {
    super(message);
  }

  body(): { error: { code: number; message: string; errors: ErrorItem[]; details?: unknown[] } } {
    const error = {
      code: this.status,
      message: this.message,
      errors: [{ message: this.message, domain: this.domain, reason: this.reason }],
    };
    return { error: this.details ? { ...error, details: this.details } : error };
  }
}

/** `projects/p/zones/z/instances/i` style path used in messages. */
export const notFound = (resource: string) =>
  new GceError(404, `The resource '${resource}' was not found`, 'notFound');

export const alreadyExists = (resource: string) =>
  new GceError(409, `The resource '${resource}' already exists`, 'alreadyExists');

export const invalidField = (field: string, value: unknown, why: string) =>
  new GceError(400, `Invalid value for field '${field}': '${String(value ?? '')}'. ${why}`, 'invalid');

export const requiredField = (field: string) =>
  new GceError(400, `Required field '${field}' not specified`, 'required');

export const badRequest = (message: string, reason = 'badRequest') => new GceError(400, message, reason);

/** `kind` is the API's snake_case type name: target_pool, http_health_check, address. */
export const inUse = (kind: string, resource: string, user: string) =>
  new GceError(
    400,
    `The ${kind} resource '${resource}' is already being used by '${user}'`,
    'resourceInUseByAnotherResource',
  );

export const notReady = (resource: string) =>
  new GceError(400, `The resource '${resource}' is not ready`, 'resourceNotReady');

export const fingerprintMismatch = (what: string) =>
  new GceError(412, `Supplied fingerprint does not match current ${what} fingerprint.`, 'conditionNotMet');

export const parseError = (detail: string) =>
  new GceError(400, `Invalid JSON payload received. ${detail}`, 'parseError');

export const notImplemented = (method: string, path: string) =>
  new GceError(501, `GCE emulator: ${method} ${path} is not emulated`, 'notImplemented');

/** Quota errors carry a google.rpc.ErrorInfo with reason QUOTA_EXCEEDED, as the API does today. */
export function quotaExceeded(metric: string, limit: number, location: string): GceError {
  const where = location === 'global' ? 'globally' : `in region ${location}`;
  const message = `Quota '${metric}' exceeded.  Limit: ${limit.toFixed(1)} ${where}.`;
  return new GceError(403, message, 'quotaExceeded', 'usageLimits', [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'QUOTA_EXCEEDED',
      domain: 'compute.googleapis.com',
      metadata: {
        quota_metric: `compute.googleapis.com/${metric.toLowerCase()}`,
        limit: String(limit),
        quota_location: location,
        container_type: 'PROJECT',
      },
    },
  ]);
}

/** Bodies for injected status faults (429 rate limit, 503 unavailable, 500 internal). */
export function injectedStatus(status: number): GceError {
  switch (status) {
    case 429:
      return new GceError(429, 'Rate Limit Exceeded', 'rateLimitExceeded', 'usageLimits');
    case 503:
      return new GceError(503, 'The service is currently unavailable.', 'backendError');
    default:
      return new GceError(
        status,
        "Internal error. Please try again or contact Google Support. (Code: 'EMULATED-INTERNAL')",
        'backendError',
      );
  }
}

/** An error that ends an operation (DONE with `error.errors`), not an HTTP error. */
export class OperationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

/** A valid request for something the emulator does not model (say so instead of faking it). */
export const unsupported = (what: string) =>
  new GceError(501, `GCE emulator: ${what} is not emulated`, 'notImplemented');
