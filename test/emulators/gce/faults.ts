// Injected faults: HTTP status storms, lost responses, failed operations, slow zones, silence.
import { OperationError } from './errors.js';

export type GceFault =
  | {
      kind: 'status';
      status: 429 | 503 | 500;
      count: number;
      match?: string /* substring of path */;
      method?: string /* GET, POST, ... (any, if absent) */;
    }
  | {
      /** The request is served (a mutation is accepted), then its answer is lost: a 503 or a reset connection. */
      kind: 'lostResponse';
      count: number;
      match?: string;
      method?: string;
      answer?: 503 | 'reset' /* default 503 */;
    }
  | {
      kind: 'failOperation';
      count: number;
      match?: string /* operationType or target substring */;
      /** Optional: the operation error code/message (default: by operation type). */
      code?: string;
      message?: string;
    }
  | { kind: 'slowZone'; zone: string; latencyMs: number }
  | {
      /**
       * The endpoint falls silent at the first request that matches: that request is served (unless
       * `serve` is false) and gets no answer, nor does any request after it (their connections are
       * accepted and held) until the faults are cleared, which closes the held connections.
       */
      kind: 'silence';
      match?: string;
      method?: string;
      /** Carry the matching request out before falling silent (default true: an accepted call). */
      serve?: boolean;
    };

type StatusFault = Extract<GceFault, { kind: 'status' }>;
type LostFault = Extract<GceFault, { kind: 'lostResponse' }>;
type FailFault = Extract<GceFault, { kind: 'failOperation' }>;
type SilenceFault = Extract<GceFault, { kind: 'silence' }>;

/** A fault that is not well formed (the admin API answers 400 with this message). */
export class FaultError extends Error {}

const FAULT_KINDS = ['status', 'lostResponse', 'failOperation', 'slowZone', 'silence'];

/** Check a fault from outside (the admin API): its shape and values, one clear message if wrong. */
export function checkFault(v: unknown): GceFault {
  const f = (v ?? {}) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || !FAULT_KINDS.includes(f.kind as string))
    throw new FaultError(`a fault needs "kind": one of ${FAULT_KINDS.join(', ')}`);
  const str = (k: string) => {
    if (f[k] !== undefined && typeof f[k] !== 'string') throw new FaultError(`"${k}" must be a string`);
  };
  str('match');
  str('method');
  str('code');
  str('message');
  if (f.kind === 'slowZone') {
    if (typeof f.zone !== 'string' || !f.zone) throw new FaultError('slowZone needs "zone"');
    if (typeof f.latencyMs !== 'number' || !(f.latencyMs >= 0))
      throw new FaultError('slowZone needs "latencyMs" ≥ 0');
  } else if (f.kind === 'silence') {
    if (f.serve !== undefined && typeof f.serve !== 'boolean')
      throw new FaultError('"serve" must be a boolean');
  } else if (!Number.isInteger(f.count) || (f.count as number) < 1) {
    throw new FaultError('"count" must be a positive integer');
  }
  if (f.kind === 'status' && ![429, 503, 500].includes(f.status as number))
    throw new FaultError('"status" must be 429, 503 or 500');
  if (f.kind === 'lostResponse' && f.answer !== undefined && f.answer !== 503 && f.answer !== 'reset')
    throw new FaultError('"answer" must be 503 or "reset"');
  return f as unknown as GceFault;
}

const matches = (f: { match?: string; method?: string }, method: string, path: string) =>
  (f.match === undefined || path.includes(f.match)) &&
  (f.method === undefined || f.method.toUpperCase() === method);

/** Take one use of the first fault in `list` that matches; drop it when used up. */
function take<F extends { count: number; match?: string; method?: string }>(
  list: F[],
  method: string,
  path: string,
): F | undefined {
  const f = list.find((x) => matches(x, method, path));
  if (f && --f.count <= 0) list.splice(list.indexOf(f), 1);
  return f;
}

export class Faults {
  private status: StatusFault[] = [];
  private lost: LostFault[] = [];
  private fail: FailFault[] = [];
  private slow = new Map<string, number>();
  private silence: SilenceFault[] = [];
  /** A `silence` fault fired: no request is answered until the faults are cleared. */
  silent = false;
  /** Called by clear() (the server closes the connections it holds). */
  onClear: () => void = () => undefined;

  inject(f: GceFault): void {
    if (f.kind === 'slowZone') {
      this.slow.set(f.zone, Math.max(0, f.latencyMs));
      return;
    }
    if (f.kind === 'silence') {
      this.silence.push({ ...f });
      return;
    }
    if (!Number.isInteger(f.count) || f.count < 1) throw new Error(`fault count must be a positive integer`);
    if (f.kind === 'status') this.status.push({ ...f });
    else if (f.kind === 'lostResponse') this.lost.push({ ...f });
    else this.fail.push({ ...f });
  }

  clear(): void {
    this.status = [];
    this.lost = [];
    this.fail = [];
    this.slow.clear();
    this.silence = [];
    this.silent = false;
    this.onClear();
  }

  /** The `silence` fault this request sets off, if one matches (the endpoint is silent from now on). */
  takeSilence(method: string, path: string): SilenceFault | undefined {
    const f = this.silence.find((x) => matches(x, method, path));
    if (!f) return undefined;
    this.silence.splice(this.silence.indexOf(f), 1);
    this.silent = true;
    return f;
  }

  /** The status to answer this request with instead of serving it, if a fault matches. */
  takeStatus(method: string, path: string): number | undefined {
    return take(this.status, method, path)?.status;
  }

  /** How to lose the answer to this (already served) request, if a fault matches. */
  takeLostResponse(method: string, path: string): 503 | 'reset' | undefined {
    const f = take(this.lost, method, path);
    return f ? (f.answer ?? 503) : undefined;
  }

  /** The error to fail a new operation with, if a fault matches its type or target. */
  takeOperationFailure(type: string, targetLink: string, zone?: string): OperationError | undefined {
    const f = this.fail.find(
      (s) => s.match === undefined || s.match === type || targetLink.includes(s.match),
    );
    if (!f) return undefined;
    if (--f.count <= 0) this.fail.splice(this.fail.indexOf(f), 1);
    if (f.code) return new OperationError(f.code, f.message ?? `Operation failed: ${f.code}`, 400);
    if (type === 'insert' && targetLink.includes('/instances/') && zone)
      return new OperationError(
        'ZONE_RESOURCE_POOL_EXHAUSTED',
        f.message ??
          `The zone '${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
        503,
      );
    return new OperationError(
      'INTERNAL_ERROR',
      f.message ?? "Internal error. Please try again or contact Google Support. (Code: 'EMULATED-FAILURE')",
      500,
    );
  }

  /** Extra latency for operations (and VM boots) in `zone`. */
  slowness(zone: string | undefined): number {
    return zone ? (this.slow.get(zone) ?? 0) : 0;
  }

  snapshot(): unknown {
    return {
      status: this.status,
      lostResponse: this.lost,
      failOperation: this.fail,
      slowZones: Object.fromEntries(this.slow),
      silence: this.silence,
      silent: this.silent,
    };
  }
}
