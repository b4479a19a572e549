// Aliyun emulator: one RPC endpoint for ECS 2014-05-26 and SLB 2014-05-15 (chosen by `Version`), with
// signature v1 checks, real error bodies, throttling/busy/failure injection, lab VMs behind instances and
// loopback load balancers that carry traffic. See docs/emulators/aliyun.md.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { labBacking, noBacking } from './backing.js';
import { Context, type Handler } from './context.js';
import { Ecs } from './ecs.js';
import { ApiError, errorBody, missing } from './errors.js';
import { newAccessKey, requestId } from './ids.js';
import { callParams, Params } from './params.js';
import { parseForm, parseTimestamp, signatureMatches, stringToSign } from './signature.js';
import { Slb } from './slb.js';
import { record } from '../../conformance/recorder.js';

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  status: number;
  mutating: boolean;
  /** The call's own parameters (no signature, key id, nonce, timestamp, version or action). */
  params: Record<string, string>;
}

export type AliyunFault =
  | { kind: 'code'; code: string; count: number; action?: string }
  | { kind: 'failAction'; action: string; count: number }
  /** The action is carried out, then the connection is reset before any answer (a lost response). */
  | { kind: 'responseLost'; action: string; count: number };

/** Thrown after a `responseLost` action ran: the server resets the connection instead of answering. */
class ResponseLost extends Error {}

export interface AliyunEmulatorOptions {
  port?: number;
  regionId?: string;
  zoneId?: string;
  /** id → secret; default one random pair, exposed as accessKeyId/accessKeySecret. */
  accessKeys?: Record<string, string>;
  /** Status transitions (Pending→Stopped, Starting→Running, ...) take this long; default 300 ms. */
  latencyMs?: number;
  /** Lab VM image behind each instance (default 'vm'); false: no VM, a unique 127.66.x.y address. */
  backing?: { image: 'vm' | 'node' } | false;
  /** Loopback addresses for SLB, default '127.88.0.'. */
  addressPrefix?: string;
  quotas?: { instances?: number; loadBalancers?: number };
  /** Multiplies SLB health-check intervals and timeouts (tests: 0.05–0.2); default 1. */
  healthCheckScale?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
}

export interface AliyunEmulator {
  endpoint: string;
  port: number;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  stop(): Promise<void>;
  dump(): unknown;
  /** path = Action; mutating = the action name starts with neither Describe nor List; status 0 = no answer sent. */
  requests(): RequestLogEntry[];
  resetLog(): void;
  inject(f: AliyunFault): void;
  clearFaults(): void;
  resourceCount(): number;
}

const PRODUCTS: Record<string, { name: string; host: string }> = {
  '2014-05-26': { name: 'Ecs', host: 'ecs.aliyuncs.com' },
  '2014-05-15': { name: 'Slb', host: 'slb.aliyuncs.com' },
};
const NONCE_WINDOW_MS = 15 * 60 * 1000;
/** Actions whose asynchronous work a `failAction` fault makes fail (the call itself is accepted). */
const ASYNC_ACTIONS = new Set(['RunInstances', 'StartInstance', 'StopInstance', 'RebootInstance']);

export const isMutating = (action: string): boolean => !/^(Describe|List)/.test(action);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new ApiError('InvalidParameter', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startAliyunEmulator(opts: AliyunEmulatorOptions = {}): Promise<AliyunEmulator> {
  const regionId = opts.regionId ?? 'cn-hangzhou';
  const generated = newAccessKey();
  const keys: Record<string, string> = opts.accessKeys ?? { [generated.id]: generated.secret };
  const [accessKeyId, accessKeySecret] = Object.entries(keys)[0] ?? [generated.id, generated.secret];
  const ctx = new Context(
    regionId,
    opts.zoneId ?? `${regionId}-h`,
    opts.latencyMs ?? 300,
    opts.backing === false ? noBacking() : labBacking((opts.backing ?? { image: 'vm' }).image),
    opts.quotas ?? {},
    opts.healthCheckScale ?? 1,
    opts.addressPrefix ?? '127.88.0.',
  );
  const ecs = new Ecs(ctx);
  const slb = new Slb(ctx, ecs);
  const handlers: Record<string, Record<string, Handler>> = {
    '2014-05-26': ecs.handlers(),
    '2014-05-15': slb.handlers(),
  };
  let log: RequestLogEntry[] = [];
  let faults: AliyunFault[] = [];
  const nonces = new Map<string, number>();
  let lastPrune = Date.now();

  function takeFault(action: string): AliyunFault | undefined {
    const f = faults.find(
      (x) =>
        x.count > 0 &&
        (x.kind === 'code' ? x.action === undefined || x.action === action : x.action === action),
    );
    if (f) {
      f.count--;
      faults = faults.filter((x) => x.count > 0);
    }
    return f;
  }

  function pruneNonces(now: number): void {
    if (now - lastPrune < 60_000) return;
    lastPrune = now;
    for (const [n, until] of nonces) if (until < now) nonces.delete(n);
  }

  /** Authenticate and run one call; returns the success body or throws ApiError. */
  async function call(
    method: string,
    params: Record<string, string>,
    rid: string,
  ): Promise<Record<string, unknown>> {
    const p = new Params(params);
    const action = p.req('Action');
    const version = p.req('Version');
    const product = handlers[version];
    if (!product) {
      throw new ApiError('InvalidVersion', `Specified parameter Version "${version}" is not valid.`, 400);
    }
    for (const name of ['AccessKeyId', 'Signature', 'SignatureNonce', 'Timestamp']) p.req(name);
    if (p.str('SignatureMethod') !== 'HMAC-SHA1') {
      throw new ApiError(
        'InvalidParameter',
        'Specified parameter SignatureMethod is not valid (HMAC-SHA1 only).',
      );
    }
    if (p.str('SignatureVersion') !== '1.0') {
      throw new ApiError('InvalidParameter', 'Specified parameter SignatureVersion is not valid (1.0 only).');
    }
    const secret = keys[params.AccessKeyId];
    if (secret === undefined) throw new ApiError('InvalidAccessKeyId.NotFound');
    const ts = parseTimestamp(params.Timestamp);
    if (ts === undefined) throw new ApiError('InvalidTimeStamp.Format');
    const now = Date.now();
    if (Math.abs(now - ts) > NONCE_WINDOW_MS) throw new ApiError('InvalidTimeStamp.Expired');
    if (!signatureMatches(method, params, secret)) {
      throw new ApiError(
        'SignatureDoesNotMatch',
        `Specified signature is not matched with our calculation. server string to sign is:${stringToSign(method, params)}`,
      );
    }
    pruneNonces(now);
    const nonceKey = `${params.AccessKeyId}:${params.SignatureNonce}`;
    if (nonces.has(nonceKey)) throw new ApiError('SignatureNonceUsed');
    nonces.set(nonceKey, now + 2 * NONCE_WINDOW_MS);
    const handler = product[action];
    if (!handler) throw new ApiError('InvalidAction.NotFound');
    const fault = takeFault(action);
    let fail = false;
    if (fault?.kind === 'code') throw new ApiError(fault.code);
    if (fault?.kind === 'failAction') {
      if (!ASYNC_ACTIONS.has(action)) throw new ApiError('InternalError');
      fail = true;
    }
    const result = await handler(p, { fail, requestId: rid });
    if (fault?.kind === 'responseLost') throw new ResponseLost(action);
    return result;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rid = requestId();
    const method = (req.method ?? 'GET').toUpperCase();
    let action = '';
    let version = '';
    let status = 200;
    let body: Record<string, unknown>;
    let params: Record<string, string> = {};
    const entry = () => {
      record({ cloud: 'aliyun', method, params: { ...params }, status });
      return logEntry();
    };
    const logEntry = () => ({
      at: Date.now(),
      method,
      path: action,
      status,
      mutating: isMutating(action),
      params: callParams(params),
    });
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const text = await readBody(req);
      try {
        params = Object.assign(parseForm(url.search.slice(1)), method === 'POST' ? parseForm(text) : {});
      } catch {
        throw new ApiError('InvalidParameter', 'The request could not be decoded.');
      }
      action = params.Action ?? '';
      version = params.Version ?? '';
      if (method !== 'GET' && method !== 'POST')
        throw new ApiError('UnsupportedHTTPMethod', `${method} is not supported.`);
      if (!action) throw missing('Action');
      body = { RequestId: rid, ...(await call(method, params, rid)) };
    } catch (err) {
      if (err instanceof ResponseLost) {
        status = 0;
        log.push(entry());
        res.socket?.resetAndDestroy();
        return;
      }
      const e =
        err instanceof ApiError
          ? err
          : new ApiError(
              'InternalError',
              `The request processing has failed due to some unknown error: ${String(err)}`,
            );
      if (!(err instanceof ApiError))
        ctx.warn(`${action}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      status = e.status;
      const product = PRODUCTS[version] ?? PRODUCTS['2014-05-26'];
      body = { ...errorBody(e, rid, product.host, product.name) };
    }
    log.push(entry());
    const json = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(json),
    });
    res.end(json);
  }

  const server = createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  let stopping: Promise<void> | undefined;

  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    regionId,
    accessKeyId,
    accessKeySecret,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await slb.stopAll();
        await ctx.drain();
        const names = [...ecs.vmNames];
        if (ctx.backing.kind === 'lab') {
          const results = await Promise.allSettled(names.map((n) => ctx.backing.remove(n)));
          const failed = results.filter((r) => r.status === 'rejected');
          if (failed.length > 0) {
            throw new Error(
              `aliyun emulator: ${failed.length} VM(s) could not be removed: ${String((failed[0] as PromiseRejectedResult).reason)}`,
            );
          }
        }
      })();
      return stopping;
    },
    dump: () => ({
      regionId,
      zoneId: ctx.zoneId,
      latencyMs: ctx.latencyMs,
      backing: ctx.backing.kind,
      quotas: ctx.quotas,
      faults: faults.map((f) => ({ ...f })),
      ...(ecs.dump() as Record<string, unknown>),
      loadBalancers: slb.dump(),
    }),
    requests: () => log.map((e) => ({ ...e, params: { ...e.params } })),
    resetLog: () => {
      log = [];
    },
    inject: (f) => {
      faults.push({ ...f });
    },
    clearFaults: () => {
      faults = [];
    },
    resourceCount: () => ecs.count() + slb.count(),
  };
}
