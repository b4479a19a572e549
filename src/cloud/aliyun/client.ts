/**
 * The one way swarmup talks to Aliyun: @alicloud/pop-core RPC clients (loaded on first use) behind a
 * central retry for throttling and busy codes, and errors that never carry credentials.
 */
import { randomUUID } from 'node:crypto';
import type RPCClient from '@alicloud/pop-core';
import type { FlagValues } from '../../driver/contract.js';
import { UserError } from '../../errors.js';
import { delay } from '../../util/async.js';
import { apiAnswerMs } from '../../util/deadlines.js';
import { debug } from '../../util/log.js';

export const ECS_VERSION = '2014-05-26';
export const SLB_VERSION = '2014-05-15';

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
}

/** Where the API is: a region, and an endpoint that replaces the public ones (emulators, private). */
export interface AliyunTarget {
  regionId: string;
  endpoint?: string;
}

const env = (...names: string[]) => names.map((n) => process.env[n]?.trim()).find(Boolean);

/**
 * Credentials from the flags, else ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, else the legacy
 * ECS_ACCESS_KEY_ID/SECRET of docker-machine. Undefined when there are none.
 */
export function credentialsFrom(flags: FlagValues): Credentials | undefined {
  const id =
    String(flags['aliyunecs-access-key-id'] ?? '').trim() ||
    env('ALIBABA_CLOUD_ACCESS_KEY_ID', 'ECS_ACCESS_KEY_ID');
  const secret =
    String(flags['aliyunecs-access-key-secret'] ?? '').trim() ||
    env('ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ECS_ACCESS_KEY_SECRET');
  return id && secret ? { accessKeyId: id, accessKeySecret: secret } : undefined;
}

export function requireCredentials(flags: FlagValues): Credentials {
  const c = credentialsFrom(flags);
  if (!c) {
    throw new UserError(
      'Aliyun credentials missing: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET ' +
        '(or pass --aliyunecs-access-key-id and --aliyunecs-access-key-secret)',
    );
  }
  return c;
}

/**
 * Codes that mean "not now": the call changed nothing and may be sent again after a pause.
 * InternalError is not one of them: it is a failure to report, not a busy signal.
 */
export function isRetryableCode(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith('Throttling') ||
    [
      'ServiceUnavailable',
      'SystemBusy',
      'ServiceIsConfiguring',
      'ServiceIsStopping',
      'BackendServer.configuring',
      'OperationConflict',
      'LastTokenProcessing',
    ].includes(code)
  );
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * Remove what must never be shown: the request URL (pop-core appends it to every API error, and it
 * holds the AccessKeyId and a signature) and the key id or secret wherever else they appear.
 */
export function redact(text: string, creds?: Credentials): string {
  let out = text.replace(/,? URL: \S+/g, '').replace(/(https?:\/\/[^\s?]+)\?\S*/g, '$1');
  for (const s of [creds?.accessKeyId, creds?.accessKeySecret]) {
    if (s) out = out.split(s).join('***');
  }
  return out
    .replace(/AccessKeyId=[^&\s]+/g, 'AccessKeyId=***')
    .replace(/Signature=[^&\s]+/g, 'Signature=***');
}

/** Call parameters for debug output: passwords and secrets replaced by ***. */
export function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, /password|secret/i.test(k) ? '***' : v]),
  );
}

/** A failed Aliyun call: one line, its code and request id, no credentials. */
export class AliyunError extends UserError {
  constructor(
    message: string,
    readonly code: string,
    readonly action: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'AliyunError';
  }
}

export const codeOf = (err: unknown): string | undefined =>
  err instanceof AliyunError ? err.code : ((err as { code?: string } | undefined)?.code ?? undefined);

/** Gone: a *.NotFound code, or SLB's InvalidParameter "The specified resource does not exist." for listeners. */
export const isNotFound = (err: unknown): boolean =>
  /NotFound|NotExist/i.test(codeOf(err) ?? '') ||
  (codeOf(err) === 'InvalidParameter' && /specified resource does not exist/i.test((err as Error).message));

export interface RetryPolicy {
  /** Tries in all (the first call included). */
  attempts: number;
  /** First pause; later pauses grow by half up to maxMs, with jitter. */
  baseMs: number;
  maxMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** About ten tries one second apart, as the Alibaba load-balancer controller does. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 11, baseMs: 1_000, maxMs: 3_000, sleep: delay };

export interface CallOptions {
  /** Also retry network failures (safe for reads and calls that carry a ClientToken). */
  idempotent?: boolean;
  /** More codes to retry for this call (e.g. DependencyViolation while instances go away). */
  retryCodes?: string[];
}

export type Service = 'ecs' | 'slb';

/** Anything that sends one RPC: pop-core's RPCClient, or a fake in unit tests. */
export interface RpcTransport {
  request<T>(action: string, params: object, opts?: object): Promise<T>;
}

/** Read-only actions: their names start with these. */
const isRead = (action: string) => /^(Describe|List|Get)/.test(action);

export class AliyunClient {
  /** Calls sent, by action (tries included), for debugging and benches. */
  readonly counts = new Map<string, number>();

  constructor(
    readonly target: AliyunTarget,
    private readonly creds: Credentials,
    private readonly rpc: Record<Service, RpcTransport>,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  get regionId(): string {
    return this.target.regionId;
  }

  /** Where errors say the API is (never with a query string). */
  private where(service: Service): string {
    return this.target.endpoint ?? `https://${service}.${this.target.regionId}.aliyuncs.com`;
  }

  ecs<T>(action: string, params: Record<string, unknown> = {}, o: CallOptions = {}): Promise<T> {
    return this.call<T>('ecs', action, params, o);
  }

  slb<T>(action: string, params: Record<string, unknown> = {}, o: CallOptions = {}): Promise<T> {
    return this.call<T>('slb', action, params, o);
  }

  private async call<T>(
    service: Service,
    action: string,
    params: Record<string, unknown>,
    o: CallOptions,
  ): Promise<T> {
    const body = withoutUndefined(params);
    debug(`${action} ${JSON.stringify(redactParams(body))}`);
    let wait = this.retry.baseMs;
    for (let attempt = 1; ; attempt++) {
      this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
      try {
        // POST keeps long parameter lists (tags, server lists) out of the URL. Names go on the wire
        // as written: pop-core would upper-case the first letter of each (formatParams), and some
        // actions spell a parameter with a lower-case one (healthCheckInterval on Create…Listener).
        return await this.rpc[service].request<T>(action, body, { method: 'POST', formatParams: false });
      } catch (raw) {
        const err = this.describe(service, action, raw);
        const code = err.code;
        const again =
          isRetryableCode(code) ||
          (o.retryCodes ?? []).some((c) => code === c || code.startsWith(`${c}.`)) ||
          (NETWORK_CODES.has(code) && (o.idempotent || isRead(action) || code === 'ECONNREFUSED'));
        // A silent endpoint (no answer within the request timeout) gets one more try, not eleven.
        const silentAgain = code !== 'ETIMEDOUT' || attempt < 2;
        if (!again || !silentAgain || attempt >= this.retry.attempts) throw err;
        debug(`${action}: ${code}; retry ${attempt} in ${wait} ms`);
        await this.retry.sleep(wait + Math.floor(Math.random() * 100));
        wait = Math.min(Math.round(wait * 1.5), this.retry.maxMs);
      }
    }
  }

  private describe(service: Service, action: string, raw: unknown): AliyunError {
    const e = raw as Error & { code?: string; data?: { Message?: string; RequestId?: string } };
    const scrub = (s: string) => redact(s, this.creds);
    if (e?.data && typeof e.code === 'string') {
      const msg = scrub(e.data.Message ?? e.message ?? '').trim();
      const rid = e.data.RequestId ? ` (RequestId ${e.data.RequestId})` : '';
      const hint = /^(InvalidAccessKeyId|SignatureDoesNotMatch|IncompleteSignature)/.test(e.code)
        ? ' Check ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET.'
        : '';
      return new AliyunError(
        `Aliyun ${action} failed: ${e.code}: ${msg}${rid}${hint}`,
        e.code,
        action,
        e.data.RequestId,
      );
    }
    const sys = (raw as NodeJS.ErrnoException)?.code;
    const code =
      sys && NETWORK_CODES.has(sys)
        ? sys
        : /timeout/i.test(e?.name ?? '')
          ? 'ETIMEDOUT'
          : sys || 'RequestFailed';
    const why = code === 'RequestFailed' ? scrub(String(e?.message ?? raw)) : code;
    return new AliyunError(
      `cannot reach the Aliyun API at ${this.where(service)} for ${action} (${why})`,
      code,
      action,
    );
  }
}

function withoutUndefined(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** A token that makes a create idempotent across retries of one call (not across commands). */
export const clientToken = (): string => randomUUID();

/** pop-core RPC clients for ECS and SLB at this target (pop-core is loaded here, on first use only). */
export async function popTransports(
  target: AliyunTarget,
  creds: Credentials,
): Promise<Record<Service, RpcTransport>> {
  const { default: Rpc } = await import('@alicloud/pop-core');
  const make = (service: Service, apiVersion: string): RpcTransport =>
    new Rpc({
      ...creds,
      endpoint: target.endpoint ?? `https://${service}.${target.regionId}.aliyuncs.com`,
      apiVersion,
      opts: { timeout: process.env.SWARMUP_API_TIMEOUT ? apiAnswerMs() : 15_000 },
    } as RPCClient.Config) as unknown as RpcTransport;
  return { ecs: make('ecs', ECS_VERSION), slb: make('slb', SLB_VERSION) };
}

const clients = new Map<string, Promise<AliyunClient>>();

/**
 * A client for this region and endpoint, shared within the process (one keep-alive agent; parallel
 * machine creates share the batched status poller).
 */
export function aliyunClient(target: AliyunTarget, creds: Credentials): Promise<AliyunClient> {
  const key = JSON.stringify([
    target.regionId,
    target.endpoint ?? '',
    creds.accessKeyId,
    creds.accessKeySecret,
  ]);
  let c = clients.get(key);
  if (!c) {
    c = popTransports(target, creds).then((rpc) => new AliyunClient({ ...target }, creds, rpc));
    clients.set(key, c);
  }
  return c;
}
