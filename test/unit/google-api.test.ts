/**
 * The Compute API layer with the real @google-cloud/compute SDK against a scripted local HTTP server,
 * then against the GCE emulator for retried mutations (storms and lost answers, deduplicated by requestId).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gce } from '../../src/cloud/gce/api.js';
import { ApiError, OperationError } from '../../src/cloud/gce/errors.js';
import { startGceEmulator, type GceEmulator, type RequestLogEntry } from '../emulators/gce/index.js';

type Reply = { status: number; body: unknown };
let server: Server;
let port: number;
let script: Array<(method: string, url: string) => Reply | undefined> = [];
const seen: string[] = [];

const error = (status: number, message: string, reason: string): Reply => ({
  status,
  body: { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } },
});
const op = (status: string, extra: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: {
    kind: 'compute#operation',
    id: '1',
    name: 'op-1',
    zone: 'http://x/compute/v1/projects/p/zones/z-a',
    status,
    operationType: 'insert',
    ...extra,
  },
});

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url?.replace(/\?.*$/, '')}`);
      const step = script.shift();
      const r = step?.(req.method!, req.url!) ?? {
        status: 500,
        body: { error: { code: 500, message: 'unscripted' } },
      };
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const connect = () =>
  Gce.connect({
    project: 'p',
    endpoint: `http://127.0.0.1:${port}`,
    timing: {
      retryInitialMs: 5,
      retryMaxMs: 20,
      retryDeadlineMs: 5_000,
      requestMs: 5_000,
      operationDeadlineMs: 5_000,
    },
  });

describe('Compute API layer', () => {
  it('retries a 429 storm with backoff, then succeeds', async () => {
    const gce = await connect();
    seen.length = 0;
    script = [
      ...Array.from({ length: 5 }, () => () => error(429, 'Rate Limit Exceeded', 'rateLimitExceeded')),
      () => ({ status: 200, body: { name: 'fw1', description: 'd' } }),
    ];
    const fw = await gce.call('reading fw1', (o) => gce.firewalls.get({ project: 'p', firewall: 'fw1' }, o));
    expect(fw.name).toBe('fw1');
    expect(seen).toEqual(Array(6).fill('GET /compute/v1/projects/p/global/firewalls/fw1'));
  });

  it('does not retry a 404, and find() answers undefined for it', async () => {
    const gce = await connect();
    seen.length = 0;
    script = [() => error(404, "The resource 'projects/p/global/firewalls/x' was not found", 'notFound')];
    expect(
      await gce.find('reading x', (o) => gce.firewalls.get({ project: 'p', firewall: 'x' }, o)),
    ).toBeUndefined();
    expect(seen).toHaveLength(1);
  });

  it('waits for an operation until DONE (wait may answer early) and reports its errors', async () => {
    const gce = await connect();
    seen.length = 0;
    script = [() => op('PENDING'), () => op('RUNNING'), () => op('RUNNING'), () => op('DONE')];
    const done = await gce.mutate('creating instance m1', (o) =>
      gce.instances.insert({ project: 'p', zone: 'z-a', instanceResource: { name: 'm1' } }, o),
    );
    expect(done.status).toBe('DONE');
    expect(seen).toEqual([
      'POST /compute/v1/projects/p/zones/z-a/instances',
      'POST /compute/v1/projects/p/zones/z-a/operations/op-1/wait',
      'POST /compute/v1/projects/p/zones/z-a/operations/op-1/wait',
      'POST /compute/v1/projects/p/zones/z-a/operations/op-1/wait',
    ]);
    script = [
      () => op('PENDING'),
      () =>
        op('DONE', {
          error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: 'no e2-small left' }] },
        }),
    ];
    const failed = gce.mutate('creating instance m2 in z-a', (o) =>
      gce.instances.insert({ project: 'p', zone: 'z-a', instanceResource: { name: 'm2' } }, o),
    );
    await expect(failed).rejects.toBeInstanceOf(OperationError);
    await expect(failed).rejects.toThrow(
      'creating instance m2 in z-a failed: no e2-small left (ZONE_RESOURCE_POOL_EXHAUSTED)',
    );
  });

  it('fails fast, without retries, when the endpoint is dead', async () => {
    const gce = await Gce.connect({
      project: 'p',
      endpoint: 'http://127.0.0.1:1',
      timing: { retryDeadlineMs: 60_000 },
    });
    const e = await gce
      .call('listing instances', (o) => gce.instances.list({ project: 'p', zone: 'z-a' }, o))
      .catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.message).toBe('listing instances: cannot reach the Compute API (ECONNREFUSED)');
  });

  it('calls httpHealthChecks over REST with the same client', async () => {
    const gce = await connect();
    seen.length = 0;
    script = [() => ({ status: 200, body: { name: 'hc', port: 10256 } })];
    expect(await gce.rest('reading hc', 'GET', 'global/httpHealthChecks/hc')).toEqual({
      name: 'hc',
      port: 10256,
    });
    expect(seen).toEqual(['GET /compute/v1/projects/p/global/httpHealthChecks/hc']);
  });
});

describe('Compute API layer against the GCE emulator: retried mutations are applied once', () => {
  let emu: GceEmulator;
  beforeAll(async () => {
    emu = await startGceEmulator({
      backing: false,
      operationLatencyMs: 40,
      waitTimeoutMs: 100,
      addressPrefix: '127.77.31.',
      instanceAddressPrefix: '127.78.31.',
    });
  });
  afterAll(async () => {
    await emu?.stop();
  });
  const gceOf = () =>
    Gce.connect({
      project: emu.project,
      endpoint: emu.endpoint,
      timing: { retryInitialMs: 5, retryMaxMs: 20, retryDeadlineMs: 10_000, requestMs: 5_000 },
    });
  const requestIdOf = (r: RequestLogEntry) => new URLSearchParams(r.query ?? '').get('requestId');
  const insertFirewall = (gce: Gce, name: string) =>
    gce.mutate(`creating firewall rule ${name}`, (o, requestId) =>
      gce.firewalls.insert(
        {
          requestId,
          project: gce.project,
          firewallResource: { name, allowed: [{ IPProtocol: 'tcp', ports: ['80'] }] },
        },
        o,
      ),
    );

  it('a 429 and a 503 on the insert itself are retried with one requestId', async () => {
    const gce = await gceOf();
    emu.resetLog();
    emu.inject({ kind: 'status', status: 429, count: 2, method: 'POST', match: '/global/firewalls' });
    emu.inject({ kind: 'status', status: 503, count: 1, method: 'POST', match: '/global/firewalls' });
    await insertFirewall(gce, 'api-storm');
    const posts = emu.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/global/firewalls'));
    expect(posts.map((r) => r.status)).toEqual([429, 429, 503, 200]);
    expect(new Set(posts.map(requestIdOf)).size).toBe(1);
    expect(requestIdOf(posts[0])).toMatch(/^[0-9a-f-]{36}$/);
  });

  for (const answer of [503, 'reset'] as const) {
    it(`an insert applied whose answer is lost (${answer}) is retried with its requestId: one resource, no conflict`, async () => {
      const gce = await gceOf();
      const name = `api-lost-${answer}`;
      emu.resetLog();
      emu.inject({ kind: 'lostResponse', count: 1, method: 'POST', match: '/global/firewalls', answer });
      const op = await insertFirewall(gce, name);
      expect(op.status).toBe('DONE');
      const posts = emu.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/global/firewalls'));
      expect(posts.map((r) => [r.status, !!r.lostResponse])).toEqual([
        [answer === 503 ? 503 : 0, true],
        [200, false],
      ]);
      expect(requestIdOf(posts[0])).toBe(requestIdOf(posts[1]));
      const all = (emu.dump() as { firewalls: Array<{ name: string }> }).firewalls.filter(
        (f) => f.name === name,
      );
      expect(all).toHaveLength(1);
    });
  }

  it('the REST path (httpHealthChecks) keeps its requestId across a lost answer too', async () => {
    const gce = await gceOf();
    emu.resetLog();
    emu.inject({ kind: 'lostResponse', count: 1, method: 'POST', match: '/global/httpHealthChecks' });
    await gce.restMutate('creating health check api-hc', 'POST', 'global/httpHealthChecks', {
      name: 'api-hc',
      port: 10256,
    });
    const posts = emu.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/httpHealthChecks'));
    expect(posts.map((r) => r.status)).toEqual([503, 200]);
    expect(requestIdOf(posts[0])).toBe(requestIdOf(posts[1]));
    expect((emu.dump() as { httpHealthChecks: unknown[] }).httpHealthChecks).toHaveLength(1);
  });
});
