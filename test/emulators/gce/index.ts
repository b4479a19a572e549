// A GCE Compute v1 emulator for tests: the REST API @google-cloud/compute speaks (instances,
// operations, firewalls, target pools, HTTP health checks, forwarding rules, addresses, images),
// behaving like the cloud (asynchronous operations, real error bodies, name rules, quotas, injected
// faults), with lab VMs behind instances and real TCP load balancing on loopback addresses.
// See docs/emulators/gce.md.
import http from 'node:http';
import { registerAddresses, renderAddress } from './addresses.js';
import { GceError, injectedStatus, notFound, notImplemented, parseError } from './errors.js';
import { Faults, type GceFault } from './faults.js';
import { ADMIN_PREFIX, serveAdmin } from './admin.js';
import { FirewallsApi } from './firewalls.js';
import { Backing } from './guest.js';
import { registerHealthChecks } from './health-checks.js';
import { registerImages } from './images.js';
import { InstancesApi } from './instances.js';
import { createLb } from './lb.js';
import { registerForwardingRules, renderRule } from './forwarding-rules.js';
import { registerOperations } from './operations-api.js';
import { Operations, type OperationJson } from './operations.js';
import { API_PREFIX, Router } from './router.js';
import { State, type Settings } from './state.js';
import { registerTargetPools } from './target-pools.js';
import { Links, regionOfZone } from './urls.js';
import { gceApi } from '../../conformance/gce-definitions.js';
import { checkKnownNames } from './strict.js';
import { checkRequestId } from './validate.js';
import { record } from '../../conformance/recorder.js';

export type { GceFault } from './faults.js';
export { backingVmName } from './guest.js';

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  /** The HTTP status answered; 0 when the connection was reset instead (a `lostResponse` fault). */
  status: number;
  mutating: boolean;
  /** The query string without '?', when there was one. */
  query?: string;
  /** Served (a mutation: accepted), then the answer was lost by an injected `lostResponse` fault. */
  lostResponse?: true;
  /** The request body as sent, when there was one. */
  body?: string;
}

export interface GceEmulatorOptions {
  port?: number;
  project?: string;
  region?: string;
  zones?: string[];
  operationLatencyMs?: number; // PENDING → RUNNING → DONE spread over this
  createLatencyMs?: number; // extra time before an inserted instance is RUNNING
  quotas?: { instances?: number; forwardingRules?: number; addresses?: number };
  backing?: { image: 'vm' | 'node' } | false; // lab VM per instance (false: no VM, unit tests)
  addressPrefix?: string; // loopback addresses for reserved addresses, default '127.77.0.'
  /** How long `operations/{op}/wait` blocks before answering a not-DONE operation (default 1000 ms). */
  waitTimeoutMs?: number;
  /** Multiplies health-check intervals and timeouts (default 1; tests use e.g. 0.05). */
  healthCheckScale?: number;
  /** Widest forwarding-rule portRange served (default 100 ports); wider ones are refused. */
  maxPortRange?: number;
  /** Instance addresses when `backing: false` (default '127.78.0.'): tests can listen there. */
  instanceAddressPrefix?: string;
  /** Prefix of every selfLink (default 'https://www.googleapis.com/compute/v1/', like the API). */
  linkBase?: string;
}

export interface GceEmulator {
  endpoint: string;
  port: number;
  project: string;
  region: string;
  stop(): Promise<void>; // also removes every backing VM
  dump(): unknown; // full state as JSON
  requests(): RequestLogEntry[];
  resetLog(): void;
  inject(f: GceFault): void;
  clearFaults(): void;
  resourceCount(): number; // every resource the emulator holds (0 after cluster down)
}

function settingsFrom(opts: GceEmulatorOptions): Settings {
  const region = opts.region ?? 'us-central1';
  const zones = opts.zones?.length ? [...opts.zones] : [`${region}-a`, `${region}-b`, `${region}-c`];
  return {
    project: opts.project ?? 'swarmup-emu',
    region,
    zones,
    regions: [...new Set([region, ...zones.map(regionOfZone)])],
    operationLatencyMs: opts.operationLatencyMs ?? 300,
    createLatencyMs: opts.createLatencyMs ?? 0,
    waitTimeoutMs: opts.waitTimeoutMs ?? 1000,
    quotas: {
      instances: opts.quotas?.instances ?? 24,
      forwardingRules: opts.quotas?.forwardingRules ?? 15,
      addresses: opts.quotas?.addresses ?? 8,
    },
    backing: opts.backing === undefined ? { image: 'vm' } : opts.backing,
    addressPrefix: opts.addressPrefix ?? '127.77.0.',
    instanceAddressPrefix: opts.instanceAddressPrefix ?? '127.78.0.',
    healthCheckScale: opts.healthCheckScale ?? 1,
    maxPortRange: opts.maxPortRange ?? 100,
  };
}

/** The request log keeps the latest entries only (a standalone emulator may run for long). */
const MAX_LOG = 100_000;

/** Any non-GET is a mutation, except operation waits and getHealth (reads that use POST). */
const isMutating = (method: string, path: string) =>
  method !== 'GET' && !/\/operations\/[^/]+\/wait$/.test(path) && !/\/getHealth$/.test(path);

/** Thrown by `serve` when a `lostResponse` fault takes the answer of a request it has served. */
class LostResponse {
  constructor(readonly answer: 503 | 'reset') {}
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startGceEmulator(opts: GceEmulatorOptions = {}): Promise<GceEmulator> {
  const settings = settingsFrom(opts);
  // The API's definitions (strict.ts) are parsed now, not during the first request (~1 s once a process).
  gceApi();
  const faults = new Faults();
  const linkBase = opts.linkBase ?? 'https://www.googleapis.com/compute/v1/';
  const ops = new Operations(
    new Links(linkBase, settings.project),
    `swarmup-emulator@${settings.project}.iam.gserviceaccount.com`,
    settings.waitTimeoutMs,
  );
  const state = new State(settings, linkBase, ops, faults);
  const backing = settings.backing ? new Backing(settings.backing.image) : undefined;
  const instances = new InstancesApi(state, backing);
  const firewalls = new FirewallsApi(state);
  const lb = createLb(state, instances);

  const router = new Router();
  instances.register(router);
  firewalls.register(router);
  registerAddresses(router, lb);
  registerHealthChecks(router, lb);
  registerTargetPools(router, lb);
  registerForwardingRules(router, lb);
  registerImages(router, state);
  registerOperations(router, state);

  const log: RequestLogEntry[] = [];
  const byRequestId = new Map<string, { scope: string; name: string }>();

  async function serve(method: string, path: string, query: URLSearchParams, raw: string): Promise<unknown> {
    const injected = faults.takeStatus(method, path);
    if (injected) throw injectedStatus(injected);
    const m = router.match(method, path);
    if (!m) {
      if (path.startsWith(`${API_PREFIX}/`)) throw notImplemented(method, path);
      throw new GceError(404, `The requested URL ${path} was not found on this server.`, 'notFound');
    }
    if (!m.opts.anyProject && m.params.project !== settings.project)
      throw notFound(`projects/${m.params.project}`);
    let body: unknown;
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch (err) {
        throw parseError((err as Error).message);
      }
    }
    checkKnownNames(method, path, query, body);
    const requestId = method !== 'GET' ? query.get('requestId') : null;
    if (requestId) {
      const seen = byRequestId.get(checkRequestId(requestId));
      if (seen) return state.ops.get(seen.scope, seen.name);
    }
    const out = await m.handler({ method, path, params: m.params, query, body });
    const op = out as Partial<OperationJson> | undefined;
    if (requestId && op?.kind === 'compute#operation' && op.name && op.selfLink) {
      const scope = op.selfLink.replace(/^.*\/projects\/[^/]+\//, '').replace(/\/operations\/[^/]+$/, '');
      byRequestId.set(requestId.toLowerCase(), { scope, name: op.name });
    }
    const lost = faults.takeLostResponse(method, path);
    if (lost) throw new LostResponse(lost);
    return out;
  }

  const jsons = (c: { all(): Array<{ json: unknown }> }) => c.all().map((s) => s.json);
  const resourceCount = () =>
    instances.coll.size +
    firewalls.coll.size +
    lb.addresses.size +
    lb.healthChecks.size +
    lb.targetPools.size +
    lb.rules.size;
  let endpoint = '';
  const dump = () => ({
    endpoint,
    project: settings.project,
    region: settings.region,
    zones: settings.zones,
    quotas: settings.quotas,
    instances: instances.dump(),
    firewalls: jsons(firewalls.coll),
    httpHealthChecks: jsons(lb.healthChecks),
    targetPools: jsons(lb.targetPools),
    forwardingRules: lb.rules.all().map(renderRule),
    addresses: lb.addresses.all().map(renderAddress),
    operations: ops.all(),
    health: lb.health.snapshot(),
    listeners: lb.dataplane.snapshot(),
    faults: faults.snapshot(),
    backingVms: backing?.names() ?? [],
  });
  const requests = () => log.map((e) => ({ ...e }));
  const resetLog = () => {
    log.length = 0;
  };

  const server = http.createServer((req, res) => {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    if (path.startsWith(ADMIN_PREFIX)) {
      // Not part of the API: not logged, never faulted.
      void readBody(req).then((raw) => {
        const [status, payload] = serveAdmin(method, path, raw, {
          state: () => ({ ...dump(), resourceCount: resourceCount() }),
          requests,
          resetLog,
          faults,
        });
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(payload));
      });
      return;
    }
    let lost: LostResponse | undefined;
    let body = '';
    void readBody(req)
      .then((raw) => {
        body = raw;
        return serve(method, path, url.searchParams, raw);
      })
      .then(
        (out) => [200, out ?? {}] as const,
        (err: unknown) => {
          if (err instanceof LostResponse) {
            lost = err;
            return err.answer === 'reset' ? ([0, {}] as const) : ([503, injectedStatus(503).body()] as const);
          }
          if (err instanceof GceError) return [err.status, err.body()] as const;
          const e = new GceError(
            500,
            `GCE emulator internal error: ${(err as Error)?.message ?? String(err)}`,
            'backendError',
          );
          process.stderr.write(`gce emulator: ${method} ${path}: ${(err as Error)?.stack ?? String(err)}\n`);
          return [500, e.body()] as const;
        },
      )
      .then(([status, payload]) => {
        const q = url.search.replace(/^\?/, '');
        log.push({
          at,
          method,
          path,
          status,
          mutating: isMutating(method, path),
          ...(q ? { query: q } : {}),
          ...(lost ? { lostResponse: true as const } : {}),
          ...(body ? { body } : {}),
        });
        record({ cloud: 'gce', method, path, ...(q ? { query: q } : {}), ...(body ? { body } : {}), status });
        if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
        if (status === 0) {
          req.socket.destroy();
          return;
        }
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(payload));
      });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  endpoint = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ops.stop();
      lb.health.stop();
      await lb.dataplane.closeAll();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await backing?.removeAll();
    })());

  return {
    endpoint,
    port,
    project: settings.project,
    region: settings.region,
    stop,
    dump,
    requests,
    resetLog,
    inject: (f: GceFault) => faults.inject(f),
    clearFaults: () => faults.clear(),
    resourceCount,
  };
}
