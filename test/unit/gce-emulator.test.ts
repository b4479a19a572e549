/**
 * The GCE emulator's API semantics without VMs (backing: false), over plain HTTP: operations,
 * error bodies, names, quotas, fingerprints, request ids, faults, the request log.
 * (test/e2e/gce-conformance.test.ts drives the same API through @google-cloud/compute with VMs.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectViolation } from '../conformance/recorder.js';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';

let emu: GceEmulator;
let P: string; // /compute/v1/projects/<project>

interface Res {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function api(method: string, path: string, body?: unknown): Promise<Res> {
  const r = await fetch(`${emu.endpoint}${path.startsWith('/compute') ? path : `${P}/${path}`}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() };
}

/** Poll an operation until DONE (bounded), recording each status seen. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function done(op: any, seen: string[] = []): Promise<any> {
  const scope = op.zone
    ? `zones/${op.zone.split('/').pop()}`
    : op.region
      ? `regions/${op.region.split('/').pop()}`
      : 'global';
  let cur = op;
  for (let i = 0; i < 100 && cur.status !== 'DONE'; i++) {
    seen.push(cur.status);
    const r = await api('POST', `${scope}/operations/${cur.name}/wait`);
    expect(r.status).toBe(200);
    cur = r.body;
  }
  seen.push(cur.status);
  expect(cur.status).toBe('DONE');
  return cur;
}

const zone = 'us-central1-a';
const instanceBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  machineType: `zones/${zone}/machineTypes/e2-small`,
  disks: [
    {
      boot: true,
      autoDelete: true,
      initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
    },
  ],
  networkInterfaces: [
    { network: 'global/networks/default', accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] },
  ],
  ...extra,
});
const firewall = (name: string) => ({
  name,
  allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
  targetTags: ['x'],
});

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 60,
    waitTimeoutMs: 150,
    quotas: { instances: 2, addresses: 1, forwardingRules: 1 },
    addressPrefix: '127.77.10.',
    instanceAddressPrefix: '127.78.10.',
  });
  P = `/compute/v1/projects/${emu.project}`;
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(() => emu.clearFaults());

describe('operations', () => {
  it('go PENDING → RUNNING → DONE, and the effect is visible once DONE', async () => {
    const r = await api('POST', 'global/firewalls', firewall('fw-state'));
    expect(r.status).toBe(200);
    const op = r.body;
    expect(op).toMatchObject({
      kind: 'compute#operation',
      status: 'PENDING',
      operationType: 'insert',
      progress: 0,
    });
    expect(op.id).toMatch(/^\d+$/);
    expect(op.name).toMatch(/^operation-\d+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    expect(op.selfLink).toBe(
      `https://www.googleapis.com/compute/v1/projects/${emu.project}/global/operations/${op.name}`,
    );
    expect(op.targetLink).toBe(
      `https://www.googleapis.com/compute/v1/projects/${emu.project}/global/firewalls/fw-state`,
    );
    const seen: string[] = [];
    const fin = await done(op, seen);
    const order = ['PENDING', 'RUNNING', 'DONE'];
    const idx = seen.map((s) => order.indexOf(s));
    expect(idx).toEqual([...idx].sort()); // never goes back
    expect(fin).toMatchObject({ status: 'DONE', progress: 100 });
    expect(fin.error).toBeUndefined();
    expect(fin.endTime).toBeTruthy();
    expect((await api('GET', 'global/firewalls/fw-state')).body.name).toBe('fw-state');
  });

  it('wait answers before DONE when the operation takes longer than the wait timeout', async () => {
    emu.inject({ kind: 'slowZone', zone: 'us-central1-b', latencyMs: 800 });
    const op = (
      await api(
        'POST',
        'zones/us-central1-b/instances',
        instanceBody('slow-1', { machineType: 'zones/us-central1-b/machineTypes/e2-small' }),
      )
    ).body;
    const w = await api('POST', `zones/us-central1-b/operations/${op.name}/wait`);
    expect(w.status).toBe(200);
    expect(w.body.status).not.toBe('DONE');
    // a zone without the fault finishes first
    const quick = (await api('POST', 'global/firewalls', firewall('fw-quick'))).body;
    await done(quick);
    expect((await api('GET', `zones/us-central1-b/operations/${op.name}`)).body.status).not.toBe('DONE');
    emu.clearFaults();
    await done(op);
    await done((await api('DELETE', 'zones/us-central1-b/instances/slow-1')).body);
  });

  it('can be read and waited by numeric id (the Node library names operations by id)', async () => {
    const op = (await api('POST', 'global/firewalls', firewall('fw-byid'))).body;
    const byId = await api('GET', `global/operations/${op.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.name).toBe(op.name);
    const w = await api('POST', `global/operations/${op.id}/wait`);
    expect(w.body.name).toBe(op.name);
    await done(op);
    // wrong scope → 404
    expect((await api('GET', `zones/${zone}/operations/${op.name}`)).status).toBe(404);
  });

  it('a failed operation is DONE with error.errors and applies nothing', async () => {
    emu.inject({ kind: 'failOperation', count: 1, match: 'fw-fail' });
    const op = (await api('POST', 'global/firewalls', firewall('fw-fail'))).body;
    const fin = await done(op);
    expect(fin.error.errors[0]).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(fin.httpErrorStatusCode).toBe(500);
    expect((await api('GET', 'global/firewalls/fw-fail')).status).toBe(404);
    // the fault was used up: the retry works
    expect(
      (await done((await api('POST', 'global/firewalls', firewall('fw-fail'))).body)).error,
    ).toBeUndefined();
    // an instance insert that fails says the zone is exhausted
    emu.inject({ kind: 'failOperation', count: 1, match: 'insert' });
    const inst = await done((await api('POST', `zones/${zone}/instances`, instanceBody('exhausted'))).body);
    expect(inst.error.errors[0].code).toBe('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect((await api('GET', `zones/${zone}/instances/exhausted`)).status).toBe(404);
  });

  it('a requestId makes a retried insert return the first operation', async () => {
    const id = 'a5b7b1f4-7c55-4d21-9c3e-3f1d2b6a9e01';
    const a = (await api('POST', `global/firewalls?requestId=${id}`, firewall('fw-rid'))).body;
    const b = await api('POST', `global/firewalls?requestId=${id}`, firewall('fw-rid'));
    expect(b.status).toBe(200);
    expect(b.body.name).toBe(a.name);
    await done(a);
    const bad = await api('POST', `global/firewalls?requestId=not-a-uuid`, firewall('fw-rid2'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.errors[0].reason).toBe('invalid');
  });
});

describe('error bodies', () => {
  it('404 notFound with the resource path', async () => {
    const r = await api('GET', 'global/firewalls/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      error: {
        code: 404,
        message: `The resource 'projects/${emu.project}/global/firewalls/nope' was not found`,
        errors: [
          {
            message: `The resource 'projects/${emu.project}/global/firewalls/nope' was not found`,
            domain: 'global',
            reason: 'notFound',
          },
        ],
      },
    });
    expect((await api('DELETE', `zones/${zone}/instances/nope`)).status).toBe(404);
    expect((await api('GET', '/compute/v1/projects/other-project/global/firewalls')).status).toBe(404);
  });

  it('409 alreadyExists, even before the first insert is DONE', async () => {
    const op = (await api('POST', 'global/firewalls', firewall('fw-dup'))).body;
    const r = await api('POST', 'global/firewalls', firewall('fw-dup'));
    expect(r.status).toBe(409);
    expect(r.body.error.errors[0].reason).toBe('alreadyExists');
    expect(r.body.error.message).toBe(
      `The resource 'projects/${emu.project}/global/firewalls/fw-dup' already exists`,
    );
    await done(op);
  });

  it('400 for unknown zones, bad filters, bad JSON; 501 for what is not emulated', async () => {
    const z = await api('GET', 'zones/mars-1-a/instances');
    expect(z.status).toBe(400);
    expect(z.body.error.message).toContain("'mars-1-a'. Unknown zone.");
    const f = await api('GET', `global/firewalls?filter=${encodeURIComponent('name = ')}`);
    expect(f.status).toBe(400);
    expectViolation({ field: 'body', problem: 'not JSON', why: 'a body that does not parse' });
    const raw = await fetch(`${emu.endpoint}${P}/global/firewalls`, { method: 'POST', body: '{oops' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as Res['body']).error.errors[0].reason).toBe('parseError');
    const ni = await api('GET', 'global/backendServices');
    expect(ni.status).toBe(501);
    expect(ni.body.error.message).toContain('not emulated');
  });

  it('a resource in use cannot be deleted: 400 resourceInUseByAnotherResource', async () => {
    const hc = (await api('POST', 'global/httpHealthChecks', { name: 'hc-use', port: 8080 })).body;
    await done(hc);
    await done(
      (
        await api('POST', 'regions/us-central1/targetPools', {
          name: 'tp-use',
          healthChecks: ['global/httpHealthChecks/hc-use'],
        })
      ).body,
    );
    await done(
      (
        await api('POST', 'regions/us-central1/forwardingRules', {
          name: 'fr-use',
          IPProtocol: 'TCP',
          portRange: '18080',
          target: 'regions/us-central1/targetPools/tp-use',
        })
      ).body,
    );

    const pool = await api('DELETE', 'regions/us-central1/targetPools/tp-use');
    expect(pool.status).toBe(400);
    expect(pool.body.error.errors[0].reason).toBe('resourceInUseByAnotherResource');
    expect(pool.body.error.message).toBe(
      `The target_pool resource 'projects/${emu.project}/regions/us-central1/targetPools/tp-use' is already being used by 'projects/${emu.project}/regions/us-central1/forwardingRules/fr-use'`,
    );
    const check = await api('DELETE', 'global/httpHealthChecks/hc-use');
    expect(check.status).toBe(400);
    expect(check.body.error.message).toContain('is already being used by');
    expect(check.body.error.message).toContain('targetPools/tp-use');

    // reverse order works
    await done((await api('DELETE', 'regions/us-central1/forwardingRules/fr-use')).body);
    await done((await api('DELETE', 'regions/us-central1/targetPools/tp-use')).body);
    await done((await api('DELETE', 'global/httpHealthChecks/hc-use')).body);
  });
});

describe('validation', () => {
  it('names must match [a-z]([-a-z0-9]{0,61}[a-z0-9])?', async () => {
    for (const bad of ['Web', '1web', 'web-', 'web_1', 'a'.repeat(64), '']) {
      const r = await api('POST', 'global/firewalls', firewall(bad));
      expect(r.status, bad).toBe(400);
      expect(r.body.error.errors[0].reason, bad).toMatch(/^(invalid|required)$/);
      if (bad)
        expect(r.body.error.message).toContain(
          "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
        );
    }
    const ok = 'a'.repeat(63);
    expect((await api('POST', 'global/firewalls', firewall(ok))).status).toBe(200);
    for (const bad of ['Pool', 'x'.repeat(64)]) {
      expect((await api('POST', 'regions/us-central1/targetPools', { name: bad })).status).toBe(400);
      expect((await api('POST', 'regions/us-central1/addresses', { name: bad })).status).toBe(400);
      expect((await api('POST', `zones/${zone}/instances`, instanceBody(bad))).status).toBe(400);
    }
  });

  it('labels, tags, machine types, images and firewall rules are checked like the API', async () => {
    const lab = await api(
      'POST',
      `zones/${zone}/instances`,
      instanceBody('v1', { labels: { 'swarmup.cluster': 'x' } }),
    );
    expect(lab.status).toBe(400);
    expect(lab.body.error.message).toContain("Label key 'swarmup.cluster' violates format constraints");
    expect(
      (await api('POST', `zones/${zone}/instances`, instanceBody('v1', { tags: { items: ['Bad'] } }))).status,
    ).toBe(400);
    const mt = await api(
      'POST',
      `zones/${zone}/instances`,
      instanceBody('v1', { machineType: `zones/${zone}/machineTypes/huge-1` }),
    );
    expect(mt.body.error.message).toContain("Machine type with name 'huge-1' does not exist");
    const img = await api(
      'POST',
      `zones/${zone}/instances`,
      instanceBody('v1', {
        disks: [
          {
            boot: true,
            initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-99' },
          },
        ],
      }),
    );
    expect(img.body.error.message).toContain('The referenced image resource cannot be found.');
    const port = await api('POST', 'global/firewalls', {
      name: 'fw-bad',
      allowed: [{ IPProtocol: 'tcp', ports: ['70000'] }],
    });
    expect(port.status).toBe(400);
    expect(port.body.error.message).toContain("resource.allowed[0].ports[0]': '70000'");
    const cidr = await api('POST', 'global/firewalls', {
      name: 'fw-bad',
      allowed: [{ IPProtocol: 'tcp' }],
      sourceRanges: ['10.0.0.0/33'],
    });
    expect(cidr.status).toBe(400);
    const many = Array.from({ length: 101 }, (_, i) => String(20000 + i));
    expect(
      (
        await api('POST', 'global/firewalls', {
          name: 'fw-bad',
          allowed: [{ IPProtocol: 'tcp', ports: many }],
        })
      ).status,
    ).toBe(400);
    // A field the definition does not have: the API's own 400 (from strict.ts, derived from the definition).
    expectViolation({ field: 'portt', why: 'an unknown body field' });
    const hc = await api('POST', 'global/httpHealthChecks', { name: 'hc-bad', portt: 80 });
    expect(hc.status).toBe(400);
    expect(hc.body.error).toMatchObject({
      code: 400,
      message: `Invalid JSON payload received. Unknown name "portt" at 'http_health_check_resource': Cannot find field.`,
      status: 'INVALID_ARGUMENT',
      errors: [{ reason: 'invalid' }],
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest' }],
    });
    expectViolation({ field: 'disks[0].bootable', why: 'an unknown nested field' });
    const nested = await api('POST', 'zones/us-central1-a/instances', {
      name: 'unknown-nested',
      machineType: 'zones/us-central1-a/machineTypes/e2-small',
      disks: [{ bootable: true }],
    });
    expect(nested.status).toBe(400);
    expect(nested.body.error.message).toBe(
      `Invalid JSON payload received. Unknown name "bootable" at 'instance_resource.disks[0]': Cannot find field.`,
    );
    expectViolation({ field: 'pageSize', why: 'an unknown query parameter' });
    const q = await api('GET', 'global/firewalls?pageSize=5');
    expect(q.status).toBe(400);
    expect(q.body.error.message).toBe(
      `Invalid JSON payload received. Unknown name "pageSize": Cannot bind query parameter. Field 'pageSize' could not be found in request message.`,
    );
  });

  it('forwarding-rule port ranges: normalised to A-B, capped at maxPortRange ports, no overlaps on one address', async () => {
    await done((await api('POST', 'regions/us-central1/targetPools', { name: 'tp-range' })).body);
    const addr = (await api('POST', 'regions/us-central1/addresses', { name: 'addr-range' })).body;
    await done(addr);
    const ip = (await api('GET', 'regions/us-central1/addresses/addr-range')).body.address;
    expect(ip).toMatch(/^127\.77\.10\.\d+$/);
    const wide = await api('POST', 'regions/us-central1/forwardingRules', {
      name: 'fr-wide',
      IPAddress: ip,
      portRange: '21000-21100',
      target: 'regions/us-central1/targetPools/tp-range',
    });
    expect(wide.status).toBe(400);
    expect(wide.body.error.message).toContain('at most 100 ports (got 101)');
    const ok = await api('POST', 'regions/us-central1/forwardingRules', {
      name: 'fr-range',
      IPAddress: ip,
      portRange: '21000-21099',
      target: 'regions/us-central1/targetPools/tp-range',
    });
    expect(ok.status).toBe(200);
    await done(ok.body);
    const rule = (await api('GET', 'regions/us-central1/forwardingRules/fr-range')).body;
    expect(rule).toMatchObject({ IPAddress: ip, IPProtocol: 'TCP', portRange: '21000-21099' });
    expect(
      (emu.dump() as { listeners: Record<string, { listening: number }> }).listeners[rule.selfLink].listening,
    ).toBe(100);
    const overlap = await api('POST', 'regions/us-central1/forwardingRules', {
      name: 'fr-overlap',
      IPAddress: ip,
      portRange: '21050',
      target: 'regions/us-central1/targetPools/tp-range',
    });
    expect(overlap.status).toBe(400);
    expect(overlap.body.error.message).toContain('overlaps with forwarding rule');
    // the address is IN_USE and cannot be deleted while the rule uses it
    expect((await api('GET', 'regions/us-central1/addresses/addr-range')).body.status).toBe('IN_USE');
    const del = await api('DELETE', 'regions/us-central1/addresses/addr-range');
    expect(del.status).toBe(400);
    expect(del.body.error.errors[0].reason).toBe('resourceInUseByAnotherResource');
    await done((await api('DELETE', 'regions/us-central1/forwardingRules/fr-range')).body);
    const single = await api('POST', 'regions/us-central1/forwardingRules', {
      name: 'fr-single',
      IPAddress: ip,
      portRange: '21005',
      target: 'regions/us-central1/targetPools/tp-range',
    });
    await done(single.body);
    expect((await api('GET', 'regions/us-central1/forwardingRules/fr-single')).body.portRange).toBe(
      '21005-21005',
    );
    await done((await api('DELETE', 'regions/us-central1/forwardingRules/fr-single')).body);
    await done((await api('DELETE', 'regions/us-central1/addresses/addr-range')).body);
    await done((await api('DELETE', 'regions/us-central1/targetPools/tp-range')).body);
  });
});

describe('quotas', () => {
  it('instances, addresses and forwarding rules beyond the quota: 403 quotaExceeded / QUOTA_EXCEEDED', async () => {
    const ops = [];
    for (const n of ['q-1', 'q-2'])
      ops.push((await api('POST', `zones/${zone}/instances`, instanceBody(n))).body);
    const over = await api(
      'POST',
      `zones/us-central1-c/instances`,
      instanceBody('q-3', { machineType: 'zones/us-central1-c/machineTypes/e2-small' }),
    );
    expect(over.status).toBe(403);
    expect(over.body.error.errors[0]).toMatchObject({ reason: 'quotaExceeded', domain: 'usageLimits' });
    expect(over.body.error.message).toBe("Quota 'INSTANCES' exceeded.  Limit: 2.0 in region us-central1.");
    expect(over.body.error.details[0]).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'QUOTA_EXCEEDED',
    });
    for (const op of ops) await done(op);
    await done((await api('DELETE', `zones/${zone}/instances/q-1`)).body);
    expect((await api('POST', `zones/${zone}/instances`, instanceBody('q-3'))).status).toBe(200);

    await done((await api('POST', 'regions/us-central1/addresses', { name: 'qa-1' })).body);
    const a2 = await api('POST', 'regions/us-central1/addresses', { name: 'qa-2' });
    expect(a2.status).toBe(403);
    expect(a2.body.error.message).toContain("Quota 'STATIC_ADDRESSES' exceeded");
    await done((await api('POST', 'regions/us-central1/targetPools', { name: 'tp-q' })).body);
    await done(
      (
        await api('POST', 'regions/us-central1/forwardingRules', {
          name: 'fr-q1',
          portRange: '21200',
          target: 'regions/us-central1/targetPools/tp-q',
        })
      ).body,
    );
    const f2 = await api('POST', 'regions/us-central1/forwardingRules', {
      name: 'fr-q2',
      portRange: '21201',
      target: 'regions/us-central1/targetPools/tp-q',
    });
    expect(f2.status).toBe(403);
    expect(f2.body.error.message).toContain("Quota 'FORWARDING_RULES' exceeded.  Limit: 1.0 globally.");
    for (const p of [
      'regions/us-central1/forwardingRules/fr-q1',
      'regions/us-central1/targetPools/tp-q',
      'regions/us-central1/addresses/qa-1',
      `zones/${zone}/instances/q-2`,
      `zones/${zone}/instances/q-3`,
    ])
      await done((await api('DELETE', p)).body);
  });
});

describe('instances', () => {
  it('PROVISIONING → RUNNING; natIP only once RUNNING; stop → TERMINATED without natIP; start again', async () => {
    const op = (await api('POST', `zones/${zone}/instances`, instanceBody('life-1'))).body;
    const early = (await api('GET', `zones/${zone}/instances/life-1`)).body;
    expect(['PROVISIONING', 'STAGING']).toContain(early.status);
    expect(early.networkInterfaces[0].accessConfigs[0].natIP).toBeUndefined();
    await done(op);
    const run = (await api('GET', `zones/${zone}/instances/life-1`)).body;
    expect(run.status).toBe('RUNNING');
    expect(run.id).toMatch(/^\d+$/);
    expect(run.zone).toBe(`https://www.googleapis.com/compute/v1/projects/${emu.project}/zones/${zone}`);
    expect(run.machineType).toMatch(/\/zones\/us-central1-a\/machineTypes\/e2-small$/);
    expect(run.networkInterfaces[0].networkIP).toMatch(/^127\.78\.10\.\d+$/);
    expect(run.networkInterfaces[0].accessConfigs[0].natIP).toBe(run.networkInterfaces[0].networkIP);
    expect(run.disks[0]).toMatchObject({ boot: true, diskSizeGb: '10' });

    await done((await api('POST', `zones/${zone}/instances/life-1/stop`)).body);
    const stopped = (await api('GET', `zones/${zone}/instances/life-1`)).body;
    expect(stopped.status).toBe('TERMINATED');
    expect(stopped.networkInterfaces[0].accessConfigs[0].natIP).toBeUndefined();
    await done((await api('POST', `zones/${zone}/instances/life-1/start`)).body);
    expect((await api('GET', `zones/${zone}/instances/life-1`)).body.status).toBe('RUNNING');
    await done((await api('DELETE', `zones/${zone}/instances/life-1`)).body);
    expect((await api('GET', `zones/${zone}/instances/life-1`)).status).toBe(404);
  });

  it('setMetadata / setTags / setLabels need the current fingerprint (412 conditionNotMet otherwise)', async () => {
    await done(
      (await api('POST', `zones/${zone}/instances`, instanceBody('fp-1', { labels: { a: 'b' } }))).body,
    );
    const inst = (await api('GET', `zones/${zone}/instances/fp-1`)).body;
    const noFp = await api('POST', `zones/${zone}/instances/fp-1/setLabels`, { labels: { a: 'c' } });
    expect(noFp.status).toBe(412);
    expect(noFp.body.error.errors[0].reason).toBe('conditionNotMet');
    await done(
      (
        await api('POST', `zones/${zone}/instances/fp-1/setLabels`, {
          labels: { a: 'c' },
          labelFingerprint: inst.labelFingerprint,
        })
      ).body,
    );
    const stale = await api('POST', `zones/${zone}/instances/fp-1/setLabels`, {
      labels: { a: 'd' },
      labelFingerprint: inst.labelFingerprint,
    });
    expect(stale.status).toBe(412);
    await done(
      (
        await api('POST', `zones/${zone}/instances/fp-1/setTags`, {
          items: ['web'],
          fingerprint: inst.tags.fingerprint,
        })
      ).body,
    );
    await done(
      (
        await api('POST', `zones/${zone}/instances/fp-1/setMetadata`, {
          items: [{ key: 'k', value: 'v' }],
          fingerprint: inst.metadata.fingerprint,
        })
      ).body,
    );
    const after = (await api('GET', `zones/${zone}/instances/fp-1`)).body;
    expect(after.labels).toEqual({ a: 'c' });
    expect(after.tags.items).toEqual(['web']);
    expect(after.metadata.items).toEqual([{ key: 'k', value: 'v' }]);
    expect(after.metadata.fingerprint).not.toBe(inst.metadata.fingerprint);
    await done((await api('DELETE', `zones/${zone}/instances/fp-1`)).body);
  });

  it('list and aggregatedList filter on labels and name; aggregated scopes carry warnings when empty', async () => {
    await done(
      (
        await api(
          'POST',
          `zones/${zone}/instances`,
          instanceBody('flt-web', { labels: { role: 'web', env: 'prod' } }),
        )
      ).body,
    );
    await done(
      (
        await api(
          'POST',
          `zones/us-central1-b/instances`,
          instanceBody('flt-db', {
            labels: { role: 'db' },
            machineType: 'zones/us-central1-b/machineTypes/e2-small',
          }),
        )
      ).body,
    );
    const names = (r: Res) =>
      Object.values(r.body.items as Record<string, { instances?: Array<{ name: string }> }>)
        .flatMap((s) => s.instances ?? [])
        .map((i) => i.name)
        .sort();
    const agg = (filter: string) => api('GET', `aggregated/instances?filter=${encodeURIComponent(filter)}`);
    expect(names(await agg('labels.role = "web"'))).toEqual(['flt-web']);
    expect(names(await agg('labels.role:*'))).toEqual(['flt-db', 'flt-web']);
    expect(names(await agg('labels.env:*'))).toEqual(['flt-web']);
    expect(names(await agg('name = "flt-db"'))).toEqual(['flt-db']);
    expect(names(await agg('(labels.role = "web") OR (labels.role = "db")'))).toEqual(['flt-db', 'flt-web']);
    expect(names(await agg('labels.role = "web" labels.env = "dev"'))).toEqual([]);
    expect(names(await agg("name eq 'flt-.*'"))).toEqual(['flt-db', 'flt-web']);
    const all = await agg('labels.role = "db"');
    expect(Object.keys(all.body.items).sort()).toEqual([
      'zones/us-central1-a',
      'zones/us-central1-b',
      'zones/us-central1-c',
    ]);
    expect(all.body.items['zones/us-central1-a'].warning).toMatchObject({ code: 'NO_RESULTS_ON_PAGE' });
    const zl = await api(
      'GET',
      `zones/${zone}/instances?filter=${encodeURIComponent('labels.role = "web"')}`,
    );
    expect(zl.body.items.map((i: { name: string }) => i.name)).toEqual(['flt-web']);
    const none = await api(
      'GET',
      `zones/${zone}/instances?filter=${encodeURIComponent('labels.role = "x"')}`,
    );
    expect(none.body.items).toBeUndefined();
    // paging
    const p1 = await api('GET', 'aggregated/instances?maxResults=1');
    expect(names(p1)).toHaveLength(1);
    const p2 = await api('GET', `aggregated/instances?maxResults=1&pageToken=${p1.body.nextPageToken}`);
    expect(names(p2)).toHaveLength(1);
    expect(names(p2)).not.toEqual(names(p1));
    await done((await api('DELETE', `zones/${zone}/instances/flt-web`)).body);
    await done((await api('DELETE', `zones/us-central1-b/instances/flt-db`)).body);
  });
});

describe('faults and the request log', () => {
  it('a status storm answers the matching requests with 429/503 bodies, then recovers', async () => {
    emu.resetLog();
    emu.inject({ kind: 'status', status: 429, count: 2, match: '/global/firewalls' });
    const a = await api('GET', 'global/firewalls');
    expect(a.status).toBe(429);
    expect(a.body.error.errors[0].reason).toBe('rateLimitExceeded');
    expect((await api('GET', 'regions/us-central1/addresses')).status).toBe(200); // not matched
    expect((await api('GET', 'global/firewalls')).status).toBe(429);
    expect((await api('GET', 'global/firewalls')).status).toBe(200);
    emu.inject({ kind: 'status', status: 503, count: 1 });
    const b = await api('GET', 'regions/us-central1/addresses');
    expect(b.status).toBe(503);
    expect(b.body.error.code).toBe(503);
    expect(emu.requests().map((r) => r.status)).toEqual([429, 200, 429, 200, 503]);
  });

  it('a status fault can be limited to one method: a storm on inserts leaves reads alone', async () => {
    emu.resetLog();
    emu.inject({ kind: 'status', status: 503, count: 1, match: '/global/firewalls', method: 'POST' });
    expect((await api('GET', 'global/firewalls')).status).toBe(200);
    expect((await api('POST', 'global/firewalls', firewall('fw-meth'))).status).toBe(503);
    await done((await api('POST', 'global/firewalls', firewall('fw-meth'))).body);
    expect(emu.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 200',
      'POST 503',
      'POST 200',
      'POST 200', // the wait
    ]);
    await done((await api('DELETE', 'global/firewalls/fw-meth')).body);
  });

  it('a lost response: the insert is applied, the answer is a 503 or a reset; its requestId replay gets the operation', async () => {
    for (const answer of [503, 'reset'] as const) {
      const name = `fw-lost-${answer}`;
      const id = crypto.randomUUID();
      emu.resetLog();
      emu.inject({ kind: 'lostResponse', count: 1, match: '/global/firewalls', method: 'POST', answer });
      const first = await api('POST', `global/firewalls?requestId=${id}`, firewall(name)).catch(
        (err: Error) => err,
      );
      if (answer === 503) expect((first as Res).status).toBe(503);
      else expect(first).toBeInstanceOf(Error); // fetch failed: the connection was reset
      const again = await api('POST', `global/firewalls?requestId=${id}`, firewall(name));
      expect(again.status).toBe(200);
      const op = await done(again.body);
      expect(op.error).toBeUndefined();
      expect((await api('GET', `global/firewalls/${name}`)).status).toBe(200);
      // Without the requestId the same insert is a conflict: the first one was applied.
      expect((await api('POST', 'global/firewalls', firewall(name))).status).toBe(409);
      const posts = emu.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/global/firewalls'));
      expect(posts.map((r) => [r.status, r.lostResponse ?? false])).toEqual([
        [answer === 503 ? 503 : 0, true],
        [200, false],
        [409, false],
      ]);
      await done((await api('DELETE', `global/firewalls/${name}`)).body);
    }
  });

  it('mutating = any non-GET except operation waits (and getHealth)', async () => {
    emu.resetLog();
    const op = (await api('POST', 'global/firewalls', firewall('fw-log'))).body;
    await api('POST', `global/operations/${op.name}/wait`);
    await api('GET', `global/operations/${op.name}`);
    await done(op);
    await api('PATCH', 'global/firewalls/fw-log', { sourceRanges: ['10.0.0.0/8'] });
    const log = emu.requests();
    expect(log[0]).toMatchObject({
      method: 'POST',
      path: `${P}/global/firewalls`,
      status: 200,
      mutating: true,
    });
    expect(log.filter((e) => e.mutating).map((e) => e.method)).toEqual(['POST', 'PATCH']);
    expect(log.every((e) => typeof e.at === 'number')).toBe(true);
  });

  it('resourceCount counts every resource; dump shows the state', async () => {
    const before = emu.resourceCount();
    await done((await api('POST', 'global/firewalls', firewall('fw-count'))).body);
    expect(emu.resourceCount()).toBe(before + 1);
    await done((await api('DELETE', 'global/firewalls/fw-count')).body);
    expect(emu.resourceCount()).toBe(before);
    const d = emu.dump() as { project: string; firewalls: Array<{ name: string }> };
    expect(d.project).toBe(emu.project);
    expect(d.firewalls.map((f) => f.name)).toContain('fw-state');
  });
});
