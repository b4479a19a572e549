/**
 * The GCE emulator's admin surface (/_emulator/...): what a standalone emulator offers over HTTP in
 * place of inject/requests/dump. Plain fetch: it is the emulator's own API, not Compute's.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';

let emu: GceEmulator;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${emu.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() };
}

const compute = (path: string) => `/compute/v1/projects/${emu.project}/${path}`;

/** Wait (bounded) for an operation answered by the Compute API to be DONE. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function done(op: any): Promise<void> {
  for (let i = 0; i < 50 && op.status !== 'DONE'; i++)
    op = (await call('POST', compute(`global/operations/${op.name}/wait`))).body;
  expect(op.status).toBe('DONE');
}

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 40,
    waitTimeoutMs: 100,
    addressPrefix: '127.77.30.',
    instanceAddressPrefix: '127.78.30.',
  });
});
afterAll(async () => {
  await emu?.stop();
});

describe('GCE emulator admin surface', () => {
  it('GET /_emulator/state is the dump, with the resource count', async () => {
    const empty = await call('GET', '/_emulator/state');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ project: emu.project, region: emu.region, resourceCount: 0 });
    await done(
      (
        await call('POST', compute('global/firewalls'), {
          name: 'adm-fw',
          allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
        })
      ).body,
    );
    const one = (await call('GET', '/_emulator/state')).body;
    expect(one.resourceCount).toBe(1);
    expect(one.firewalls.map((f: { name: string }) => f.name)).toEqual(['adm-fw']);
  });

  it('POST /_emulator/faults injects (one or a list), GET shows them, DELETE clears them', async () => {
    const r = await call('POST', '/_emulator/faults', [
      { kind: 'status', status: 429, count: 1, method: 'GET', match: '/global/firewalls' },
      { kind: 'lostResponse', count: 1, method: 'DELETE', match: '/global/firewalls/', answer: 503 },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.status).toHaveLength(1);
    expect(r.body.lostResponse).toHaveLength(1);
    expect((await call('GET', compute('global/firewalls'))).status).toBe(429);
    expect((await call('GET', compute('global/firewalls'))).status).toBe(200);
    // The delete is applied although its answer is lost.
    const del = await call('DELETE', compute('global/firewalls/adm-fw'));
    expect(del.status).toBe(503);
    expect(del.body.error.errors[0].reason).toBe('backendError');
    const ops = (await call('GET', '/_emulator/state')).body.operations;
    expect(
      ops.filter(
        (o: { operationType: string; targetLink: string }) =>
          o.operationType === 'delete' && o.targetLink.endsWith('/global/firewalls/adm-fw'),
      ),
    ).toHaveLength(1);
    await vi.waitFor(async () => expect((await call('GET', '/_emulator/state')).body.resourceCount).toBe(0));
    const f = await call('GET', '/_emulator/faults');
    expect(f.body).toEqual({
      status: [],
      lostResponse: [],
      failOperation: [],
      slowZones: {},
      silence: [],
      silent: false,
    });
    await call('POST', '/_emulator/faults', { kind: 'slowZone', zone: 'us-central1-b', latencyMs: 500 });
    expect((await call('GET', '/_emulator/faults')).body.slowZones).toEqual({ 'us-central1-b': 500 });
    const cleared = await call('DELETE', '/_emulator/faults');
    expect(cleared.body.slowZones).toEqual({});
  });

  it('refuses a malformed fault with a 400 that says what is wrong, and injects nothing', async () => {
    const cases: Array<[unknown, string]> = [
      ['{not json', 'the body must be JSON'],
      [{ kind: 'flood' }, '"kind": one of status, lostResponse, failOperation, slowZone'],
      [{ kind: 'status', status: 418, count: 1 }, '"status" must be 429, 503 or 500'],
      [{ kind: 'status', status: 429, count: 0 }, '"count" must be a positive integer'],
      [{ kind: 'lostResponse', count: 1, answer: 'drop' }, '"answer" must be 503 or "reset"'],
      [{ kind: 'slowZone', zone: 'us-central1-a' }, 'slowZone needs "latencyMs"'],
      // A list is checked whole before anything goes in.
      [
        [
          { kind: 'status', status: 429, count: 1 },
          { kind: 'status', count: 1 },
        ],
        '"status" must be',
      ],
    ];
    for (const [body, msg] of cases) {
      const r = await call('POST', '/_emulator/faults', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toContain(msg);
    }
    expect((await call('GET', '/_emulator/faults')).body.status).toEqual([]);
  });

  it('GET /_emulator/requests is the Compute request log (admin calls left out); DELETE empties it', async () => {
    expect((await call('DELETE', '/_emulator/requests')).body).toEqual({ requests: [] });
    await call('GET', compute('regions/us-central1/addresses'));
    await call('GET', '/_emulator/state');
    const log = (await call('GET', '/_emulator/requests')).body.requests;
    expect(log).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: compute('regions/us-central1/addresses'),
        status: 200,
        mutating: false,
      }),
    ]);
    expect(emu.requests()).toEqual(log);
  });

  it('unknown admin paths are 404, unsupported methods 405', async () => {
    expect((await call('GET', '/_emulator/nothing')).status).toBe(404);
    const r = await call('PUT', '/_emulator/faults', {});
    expect(r.status).toBe(405);
    expect(r.body.error.message).toContain('GET, POST, DELETE');
  });
});
