// Operations: every mutation returns one; it goes PENDING → RUNNING → DONE over the configured latency.
// The mutation's effect is applied when the operation turns DONE (a failed operation applies nothing and
// rolls back what the request made visible), so a client that does not wait sees the old state.
import { notFound, OperationError } from './errors.js';
import { newId, newOperationName, timestamp } from './ids.js';
import type { Links, Scope } from './urls.js';

export interface OperationJson {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  user: string;
  progress: number;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  selfLink: string;
  zone?: string;
  region?: string;
  error?: { errors: Array<{ code: string; message: string }> };
  /** Operations of one request that made several (bulkInsert and the insert of each instance). */
  operationGroupId?: string;
  instancesBulkInsertOperationMetadata?: { perLocationStatus: Record<string, Record<string, unknown>> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

export interface OperationWork {
  /** Runs when the operation turns RUNNING (e.g. boots a VM); an OperationError fails the operation. */
  run?: () => Promise<void> | void;
  /** Applies the effect when the operation turns DONE. */
  commit?: () => void;
  /** Undoes what the request made visible when the operation fails. */
  rollback?: () => Promise<void> | void;
}

export interface StartOptions {
  scope: Scope;
  type: string;
  targetLink: string;
  targetId?: string;
  work?: OperationWork;
  /** Total PENDING → DONE time (ms); DONE also waits for `run`. */
  latencyMs: number;
  /** Fail this operation (injected fault or a failure known up front). */
  fail?: OperationError;
  /** Extra fields of the operation (operationGroupId, bulk metadata). */
  extra?: Partial<OperationJson>;
}

interface Entry {
  json: OperationJson;
  scope: Scope;
  waiters: Set<() => void>;
  settled: Promise<void>;
}

const HTTP_REASON: Record<number, string> = {
  400: 'BAD REQUEST',
  409: 'CONFLICT',
  500: 'INTERNAL SERVER ERROR',
  503: 'SERVICE UNAVAILABLE',
};

export class Operations {
  private byName = new Map<string, Entry>();
  private byId = new Map<string, Entry>();
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private links: Links,
    private user: string,
    /** How long `wait` blocks before it answers with a not-yet-DONE operation. */
    private waitTimeoutMs: number,
  ) {}

  start(o: StartOptions): OperationJson {
    const name = newOperationName();
    const t0 = Date.now();
    const json: OperationJson = {
      kind: 'compute#operation',
      id: newId(),
      name,
      operationType: o.type,
      targetLink: o.targetLink,
      ...(o.targetId ? { targetId: o.targetId } : {}),
      status: 'PENDING',
      user: this.user,
      progress: 0,
      insertTime: timestamp(t0),
      selfLink: this.links.url(`${o.scope}/operations/${name}`),
      ...(o.scope.startsWith('zones/') ? { zone: this.links.url(o.scope) } : {}),
      ...(o.scope.startsWith('regions/') ? { region: this.links.url(o.scope) } : {}),
      ...o.extra,
    };
    let settle!: () => void;
    const entry: Entry = {
      json,
      scope: o.scope,
      waiters: new Set(),
      settled: new Promise((r) => (settle = r)),
    };
    this.byName.set(name, entry);
    this.byId.set(json.id, entry);

    const latency = Math.max(0, o.latencyMs);
    const runAt = Math.round(latency * 0.3);
    const work = o.work ?? {};
    this.after(runAt, () => {
      json.status = 'RUNNING';
      json.startTime = timestamp();
      json.progress = 0;
      const ran: Promise<void> = o.fail
        ? Promise.reject(o.fail)
        : Promise.resolve().then(() => (this.stopped ? undefined : work.run?.()));
      const minDone = new Promise<void>((r) => this.after(latency - runAt, r));
      Promise.allSettled([ran, minDone]).then(async ([r]) => {
        if (r.status === 'fulfilled') {
          try {
            if (!this.stopped) work.commit?.();
          } catch (err) {
            this.fail(json, err);
          }
        } else {
          this.fail(json, r.reason);
          try {
            await work.rollback?.();
          } catch {
            /* best effort */
          }
        }
        json.status = 'DONE';
        json.progress = 100;
        json.endTime = timestamp();
        settle();
        for (const w of entry.waiters) w();
        entry.waiters.clear();
      });
    });
    return { ...json };
  }

  private fail(json: OperationJson, err: unknown): void {
    const e =
      err instanceof OperationError
        ? err
        : new OperationError(
            'INTERNAL_ERROR',
            `Internal error: ${(err as Error)?.message ?? String(err)}`,
            500,
          );
    json.error = { errors: [{ code: e.code, message: e.message }] };
    json.httpErrorStatusCode = e.httpStatus;
    json.httpErrorMessage = HTTP_REASON[e.httpStatus] ?? 'ERROR';
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private find(scope: Scope, nameOrId: string): Entry {
    // The Node library's LRO wrapper names an operation by its numeric id; the API accepts both.
    const e = this.byName.get(nameOrId) ?? this.byId.get(nameOrId);
    if (!e || e.scope !== scope) throw notFound(this.links.path(`${scope}/operations/${nameOrId}`));
    return e;
  }

  /** The operation once DONE (for a bulk operation that waits for the operations of its instances). */
  async settled(scope: Scope, nameOrId: string): Promise<OperationJson> {
    const e = this.find(scope, nameOrId);
    await e.settled;
    return { ...e.json };
  }

  /** Change fields of an operation in flight (a bulk operation's per-location status). */
  patch(scope: Scope, nameOrId: string, fields: Partial<OperationJson>): void {
    Object.assign(this.find(scope, nameOrId).json, fields);
  }

  get(scope: Scope, nameOrId: string): OperationJson {
    return { ...this.find(scope, nameOrId).json };
  }

  /** Answers when the operation is DONE, or after `waitTimeoutMs` with its current state. */
  async wait(scope: Scope, nameOrId: string): Promise<OperationJson> {
    const e = this.find(scope, nameOrId);
    if (e.json.status !== 'DONE' && !this.stopped) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.waitTimeoutMs);
        t.unref();
        function done() {
          clearTimeout(t);
          e.waiters.delete(done);
          resolve();
        }
        e.waiters.add(done);
      });
    }
    return { ...e.json };
  }

  delete(scope: Scope, nameOrId: string): void {
    const e = this.find(scope, nameOrId);
    this.byName.delete(e.json.name);
    this.byId.delete(e.json.id);
  }

  list(scope: Scope): OperationJson[] {
    return [...this.byName.values()].filter((e) => e.scope === scope).map((e) => ({ ...e.json }));
  }

  all(): OperationJson[] {
    return [...this.byName.values()].map((e) => ({ ...e.json }));
  }

  /** Settles when every operation started so far is DONE. */
  async idle(): Promise<void> {
    await Promise.all([...this.byName.values()].map((e) => e.settled));
  }

  /** Finish everything now: no further effects are applied; waiters are released. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t);
    }
    this.timers.clear();
    for (const e of this.byName.values()) {
      for (const w of e.waiters) w();
    }
  }
}
