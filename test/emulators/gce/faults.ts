// Injected faults: HTTP status storms, failed operations, slow zones.
import { OperationError } from './errors.js';

export type GceFault =
  | { kind: 'status'; status: 429 | 503 | 500; count: number; match?: string /* substring of path */ }
  | {
      kind: 'failOperation';
      count: number;
      match?: string /* operationType or target substring */;
      /** Optional: the operation error code/message (default: by operation type). */
      code?: string;
      message?: string;
    }
  | { kind: 'slowZone'; zone: string; latencyMs: number };

type StatusFault = Extract<GceFault, { kind: 'status' }>;
type FailFault = Extract<GceFault, { kind: 'failOperation' }>;

export class Faults {
  private status: StatusFault[] = [];
  private fail: FailFault[] = [];
  private slow = new Map<string, number>();

  inject(f: GceFault): void {
    if (f.kind === 'slowZone') {
      this.slow.set(f.zone, Math.max(0, f.latencyMs));
      return;
    }
    if (!Number.isInteger(f.count) || f.count < 1) throw new Error(`fault count must be a positive integer`);
    if (f.kind === 'status') this.status.push({ ...f });
    else this.fail.push({ ...f });
  }

  clear(): void {
    this.status = [];
    this.fail = [];
    this.slow.clear();
  }

  /** The status to answer this request with instead of serving it, if a fault matches. */
  takeStatus(path: string): number | undefined {
    const f = this.status.find((s) => s.match === undefined || path.includes(s.match));
    if (!f) return undefined;
    if (--f.count <= 0) this.status.splice(this.status.indexOf(f), 1);
    return f.status;
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
    return { status: this.status, failOperation: this.fail, slowZones: Object.fromEntries(this.slow) };
  }
}
