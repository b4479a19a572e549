/**
 * The Compute Engine API through @google-cloud/compute (loaded here, on first use): one auth client
 * for every SDK client, our own retry (throttling, 5xx, busy resources; capped exponential backoff
 * with a deadline) instead of gax's, and operations waited until DONE.
 */
import { randomUUID } from 'node:crypto';
import type * as Compute from '@google-cloud/compute';
import type { protos } from '@google-cloud/compute';
import { apiAnswerMs } from '../../util/deadlines.js';
import { UserError } from '../../errors.js';
import { delay } from '../../util/async.js';
import { debug } from '../../util/log.js';
import { ApiError, OperationError, describeApiError, isNotFound, isRetryable } from './errors.js';

export type Operation = protos.google.cloud.compute.v1.IOperation;
export type Instance = protos.google.cloud.compute.v1.IInstance;
export type Firewall = protos.google.cloud.compute.v1.IFirewall;
export type Address = protos.google.cloud.compute.v1.IAddress;
export type ForwardingRule = protos.google.cloud.compute.v1.IForwardingRule;
export type TargetPool = protos.google.cloud.compute.v1.ITargetPool;
/** A legacy HTTP health check (global/httpHealthChecks, REST only: the SDK has no client for it). */
export interface HttpHealthCheck {
  name?: string;
  description?: string;
  host?: string;
  requestPath?: string;
  port?: number;
  checkIntervalSec?: number;
  timeoutSec?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  selfLink?: string;
}

/** What gax accepts per call; `retry: null` turns its own retry off. */
export interface CallOpts {
  retry: null;
  timeout: number;
}

export interface Endpoint {
  /** `http://127.0.0.1:8085` (no path). */
  base: string;
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

export const GOOGLE_API = 'https://compute.googleapis.com';

/** `--google-endpoint`: scheme, host and port only; plain http means an emulator (no credentials). */
export function parseEndpoint(value: string | undefined): Endpoint {
  const raw = (value ?? '').trim() || GOOGLE_API;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`invalid --google-endpoint "${raw}": expected e.g. http://127.0.0.1:8085`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`invalid --google-endpoint "${raw}": use http:// or https://`);
  }
  if ((u.pathname && u.pathname !== '/') || u.search || u.username) {
    throw new UserError(`invalid --google-endpoint "${raw}": give only the scheme, host and port`);
  }
  const protocol = u.protocol === 'http:' ? 'http' : 'https';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : protocol === 'http' ? 80 : 443;
  return { base: `${protocol}://${u.host}`, host, port, protocol };
}

/** Timing of retries and waits; the defaults suit the real API, tests may shorten them. */
export interface Timing {
  /** Per HTTP request. */
  requestMs: number;
  /** How long one call keeps retrying throttling and server errors. */
  retryDeadlineMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long an operation may take to reach DONE. */
  operationDeadlineMs: number;
}

export const DEFAULT_TIMING: Timing = {
  requestMs: 60_000,
  retryDeadlineMs: 180_000,
  retryInitialMs: 250,
  retryMaxMs: 8_000,
  operationDeadlineMs: 15 * 60_000,
};

type AuthLike = { request: (o: Record<string, unknown>) => Promise<{ data: unknown }> };

/** Deadline of one operation wait request (a long poll). */
const WAIT_POLL_MS = 150_000;

type Fetch = (url: unknown, init?: { signal?: AbortSignal } & Record<string, unknown>) => Promise<unknown>;

/**
 * The SDK's REST transport ignores the per-call timeout, so a silent endpoint would hang a call for
 * ever: every request made through the auth client gets our deadline as an abort signal, whose
 * reason names the endpoint (ETIMEDOUT, so the retry rule treats it as a silent endpoint).
 */
function withRequestDeadline(auth: AuthLike, ms: number, endpoint: Endpoint): AuthLike {
  const a = auth as AuthLike & { fetch?: Fetch };
  const fetch = a.fetch?.bind(a);
  if (!fetch) return auth;
  a.fetch = (url, init = {}) => {
    // An operation's wait is a long poll the server holds for up to two minutes.
    const limit = /\/wait(\?|$)/.test(String(url)) ? Math.max(ms, WAIT_POLL_MS) : ms;
    const timer = new AbortController();
    const t = setTimeout(() => {
      const e = new Error(
        `no answer from ${endpoint.base} within ${limit / 1000} s`,
      ) as NodeJS.ErrnoException;
      e.code = 'ETIMEDOUT';
      timer.abort(e);
    }, limit);
    const signal = init.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
    return fetch(url, { ...init, signal }).then(
      (r) => {
        clearTimeout(t);
        return r;
      },
      (err: unknown) => {
        clearTimeout(t);
        throw timer.signal.aborted ? timer.signal.reason : err;
      },
    );
  };
  return a;
}

/** The SDK module, loaded in `connect`. */
type Sdk = typeof Compute;

/** Retry `fn` on retryable failures with capped, jittered exponential backoff until the deadline. */
export async function withRetry<T>(what: string, fn: () => Promise<T>, timing: Timing): Promise<T> {
  const end = Date.now() + timing.retryDeadlineMs;
  let wait = timing.retryInitialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UserError || err instanceof OperationError) throw err;
      const f = describeApiError(err);
      const jittered = Math.round(wait * (0.75 + Math.random() * 0.5));
      // A silent endpoint (no answer within the request timeout) gets one more try, not three minutes.
      const silent = f.network === 'ETIMEDOUT' || /timeout|timed out/i.test(f.message);
      if (!isRetryable(f) || (silent && attempt >= 2) || Date.now() + jittered > end)
        throw new ApiError(what, f);
      debug(`${what}: ${f.status ?? f.network} ${f.message}; retry ${attempt} in ${jittered} ms`);
      await delay(jittered);
      wait = Math.min(wait * 2, timing.retryMaxMs);
    }
  }
}

const last = (url: string | null | undefined) => (url ? url.slice(url.lastIndexOf('/') + 1) : '');

/** One project on one endpoint. Clients are made when first used. */
export class Gce {
  readonly endpoint: Endpoint;
  private readonly clients = new Map<string, unknown>();

  private constructor(
    readonly project: string,
    endpoint: Endpoint,
    private readonly sdk: Sdk,
    private readonly auth: AuthLike,
    readonly timing: Timing,
  ) {
    this.endpoint = endpoint;
  }

  /** Load the SDK and the credentials: none for plain http, else Application Default Credentials. */
  static async connect(o: { project: string; endpoint?: string; timing?: Partial<Timing> }): Promise<Gce> {
    const endpoint = parseEndpoint(o.endpoint);
    const [sdk, gal] = await Promise.all([import('@google-cloud/compute'), import('google-auth-library')]);
    let auth: AuthLike;
    if (endpoint.protocol === 'http') auth = new gal.PassThroughClient() as unknown as AuthLike;
    else {
      try {
        const ga = new gal.GoogleAuth({ scopes: ['https://www.googleapis.com/auth/compute'] });
        auth = (await ga.getClient()) as unknown as AuthLike;
      } catch (err) {
        throw new UserError(
          `no Google credentials: ${(err as Error).message.split('\n')[0]} (run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS)`,
        );
      }
    }
    const requestMs = process.env.SWARMUP_API_TIMEOUT ? { requestMs: apiAnswerMs() } : {};
    const timing = { ...DEFAULT_TIMING, ...requestMs, ...o.timing };
    return new Gce(o.project, endpoint, sdk, withRequestDeadline(auth, timing.requestMs, endpoint), timing);
  }

  private client<T>(name: keyof Sdk): T {
    let c = this.clients.get(name);
    if (!c) {
      const Ctor = this.sdk[name] as unknown as new (o: Record<string, unknown>) => unknown;
      c = new Ctor({
        apiEndpoint: this.endpoint.host,
        port: this.endpoint.port,
        protocol: this.endpoint.protocol,
        authClient: this.auth,
      });
      this.clients.set(name, c);
    }
    return c as T;
  }

  get instances() {
    return this.client<Compute.InstancesClient>('InstancesClient');
  }
  get firewalls() {
    return this.client<Compute.FirewallsClient>('FirewallsClient');
  }
  get addresses() {
    return this.client<Compute.AddressesClient>('AddressesClient');
  }
  get forwardingRules() {
    return this.client<Compute.ForwardingRulesClient>('ForwardingRulesClient');
  }
  get targetPools() {
    return this.client<Compute.TargetPoolsClient>('TargetPoolsClient');
  }
  private get zoneOperations() {
    return this.client<Compute.ZoneOperationsClient>('ZoneOperationsClient');
  }
  private get regionOperations() {
    return this.client<Compute.RegionOperationsClient>('RegionOperationsClient');
  }
  private get globalOperations() {
    return this.client<Compute.GlobalOperationsClient>('GlobalOperationsClient');
  }

  /** Per-call options: gax's retry off, our request timeout. */
  get opts(): CallOpts {
    return { retry: null, timeout: this.timing.requestMs };
  }

  /** A read (get/list), retried. */
  async call<T>(what: string, fn: (o: CallOpts) => Promise<readonly [T, ...unknown[]]>): Promise<T> {
    return withRetry(what, async () => (await fn(this.opts))[0], this.timing);
  }

  /** A get that answers undefined for 404. */
  async find<T>(
    what: string,
    fn: (o: CallOpts) => Promise<readonly [T, ...unknown[]]>,
  ): Promise<T | undefined> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A mutation: send it (retried), then wait for its operation to be DONE; a failed operation throws. */
  async mutate(
    what: string,
    fn: (o: CallOpts, requestId: string) => Promise<readonly [{ latestResponse?: unknown }, ...unknown[]]>,
  ): Promise<Operation> {
    // One request ID for every retry of this mutation: GCE applies it at most once.
    const requestId = randomUUID();
    const op = (await this.call(what, (o) => fn(o, requestId))).latestResponse as Operation;
    return this.wait(what, op);
  }

  /** Delete something; 404 (already gone) counts as done. Returns whether it was there. */
  async remove(
    what: string,
    fn: (o: CallOpts, requestId: string) => Promise<readonly [{ latestResponse?: unknown }, ...unknown[]]>,
  ): Promise<boolean> {
    try {
      await this.mutate(what, fn);
      return true;
    } catch (err) {
      if (err instanceof OperationError && err.errors.some((e) => /NOT_FOUND|notFound/.test(e.code ?? '')))
        return false;
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Wait for an operation: `wait` may return before DONE, so loop (with backoff) until the deadline. */
  async wait(what: string, op: Operation): Promise<Operation> {
    const end = Date.now() + this.timing.operationDeadlineMs;
    let pause = 100;
    let cur = op;
    while (cur.status !== 'DONE') {
      if (Date.now() > end) {
        throw new UserError(
          `${what}: operation ${cur.name} not done after ${this.timing.operationDeadlineMs / 1000} s`,
        );
      }
      const t0 = Date.now();
      const name = String(cur.name);
      const o = { ...this.opts, timeout: Math.max(this.timing.requestMs, WAIT_POLL_MS) };
      if (cur.zone) {
        [cur] = await withRetry(
          what,
          () => this.zoneOperations.wait({ project: this.project, zone: last(cur.zone), operation: name }, o),
          this.timing,
        );
      } else if (cur.region) {
        [cur] = await withRetry(
          what,
          () =>
            this.regionOperations.wait(
              { project: this.project, region: last(cur.region), operation: name },
              o,
            ),
          this.timing,
        );
      } else {
        [cur] = await withRetry(
          what,
          () => this.globalOperations.wait({ project: this.project, operation: name }, o),
          this.timing,
        );
      }
      // A server that answers at once (instead of holding the call until DONE) gets a backoff.
      if (cur.status !== 'DONE' && Date.now() - t0 < 1_000) {
        await delay(pause);
        pause = Math.min(pause * 2, 2_000);
      }
    }
    const errors = cur.error?.errors ?? [];
    if (errors.length) throw new OperationError(what, errors);
    return cur;
  }

  /** A REST call for what the SDK lacks (global/httpHealthChecks), through the same auth client, retried. */
  async rest<T>(
    what: string,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const url = `${this.endpoint.base}/compute/v1/projects/${encodeURIComponent(this.project)}/${path}`;
    return withRetry(
      what,
      async () =>
        (
          await this.auth.request({
            url,
            method,
            ...(body !== undefined ? { data: body } : {}),
            timeout: this.timing.requestMs,
            retry: false,
            responseType: 'json',
          })
        ).data as T,
      this.timing,
    );
  }

  async restFind<T>(what: string, path: string): Promise<T | undefined> {
    try {
      return await this.rest<T>(what, 'GET', path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A REST mutation, waited. Operation fields come back as REST JSON (same names). */
  async restMutate(
    what: string,
    method: 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<Operation> {
    // One request ID for every retry of this mutation: GCE applies it at most once.
    const op = await this.rest<Operation>(what, method, `${path}?requestId=${randomUUID()}`, body);
    return this.wait(what, op);
  }

  async restRemove(what: string, path: string): Promise<boolean> {
    try {
      await this.restMutate(what, 'DELETE', path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** `projects/p/zones/z/instances/n` style partial URL of a resource of this project. */
  url(path: string): string {
    return `projects/${this.project}/${path}`;
  }
}

/** The region of a zone: `us-central1-a` → `us-central1`. */
export const regionOf = (zone: string) => zone.replace(/-[a-z]$/, '');

/** The `zones/z/instances/n`-style tail of a resource URL (full or partial), for comparisons. */
export function resourcePath(url: string | null | undefined): string {
  if (!url) return '';
  const m = /(?:^|\/)projects\/[^/]+\/(.*)$/.exec(url);
  return m ? m[1] : url.replace(/^\/+/, '');
}

export const lastSegment = last;

/** A network path or URL as given; a bare name is a network of the project. */
export const networkUrl = (s: { network: string }) =>
  s.network.includes('/') ? s.network : `global/networks/${s.network}`;
