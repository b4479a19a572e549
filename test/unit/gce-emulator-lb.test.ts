/**
 * The GCE emulator's network load balancer without VMs: instances (backing: false) get loopback
 * addresses, small HTTP servers listen there, and a forwarding rule on a reserved address carries
 * real TCP connections to the healthy members of its target pool, chosen round-robin.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';

const PORT = 18090;
const REGION = 'regions/us-central1';
const ZONE = 'zones/us-central1-a';
let emu: GceEmulator;
let P: string;
const servers: http.Server[] = [];
const healthy: Record<string, boolean> = { 'lb-web-1': true, 'lb-web-2': true };
let vip: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${emu.endpoint}${P}/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() };
}

/** Issue a mutation and wait for its operation to be DONE without error. */
async function mutate(method: string, path: string, body?: unknown): Promise<void> {
  const r = await api(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  let op = r.body;
  const scope = op.zone
    ? `zones/${op.zone.split('/').pop()}`
    : op.region
      ? `regions/${op.region.split('/').pop()}`
      : 'global';
  for (let i = 0; i < 100 && op.status !== 'DONE'; i++)
    op = (await api('POST', `${scope}/operations/${op.name}/wait`)).body;
  expect(op.status).toBe('DONE');
  expect(op.error).toBeUndefined();
}

/** One request on a fresh connection to the load balancer: the page, or 'closed' if it was refused/reset. */
function hit(): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: vip, port: PORT, path: '/', agent: false, timeout: 2000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b.trim()));
      res.on('error', () => resolve('closed'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('closed'));
  });
}

/** Poll until `cond(last results)` holds; bounded, with backoff. */
async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 15_000;
  for (let wait = 20; ; wait = Math.min(wait * 2, 200)) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

const sample = async (n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await hit());
  return out;
};

const instanceBody = (name: string) => ({
  name,
  machineType: `${ZONE}/machineTypes/e2-small`,
  disks: [
    { boot: true, initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' } },
  ],
  networkInterfaces: [{ accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] }],
});

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 30,
    healthCheckScale: 0.05,
    addressPrefix: '127.77.11.',
    instanceAddressPrefix: '127.78.11.',
  });
  P = `/compute/v1/projects/${emu.project}`;
  for (const name of Object.keys(healthy)) {
    await mutate('POST', `${ZONE}/instances`, instanceBody(name));
    const ip = (await api('GET', `${ZONE}/instances/${name}`)).body.networkInterfaces[0].networkIP as string;
    const srv = http.createServer((req, res) => {
      if (req.url === '/healthz') res.writeHead(healthy[name] ? 200 : 500).end('hc');
      else res.end(`${name}\n`);
    });
    await new Promise<void>((r) => srv.listen(PORT, ip, r));
    servers.push(srv);
  }
  await mutate('POST', `${REGION}/addresses`, { name: 'lb-ip' });
  vip = (await api('GET', `${REGION}/addresses/lb-ip`)).body.address;
  await mutate('POST', 'global/httpHealthChecks', {
    name: 'lb-hc',
    port: PORT,
    requestPath: '/healthz',
    checkIntervalSec: 1,
    timeoutSec: 1,
    healthyThreshold: 1,
    unhealthyThreshold: 2,
  });
  await mutate('POST', `${REGION}/targetPools`, {
    name: 'lb-pool',
    healthChecks: ['global/httpHealthChecks/lb-hc'],
    instances: [`${ZONE}/instances/lb-web-1`, `${ZONE}/instances/lb-web-2`],
  });
  await mutate('POST', `${REGION}/forwardingRules`, {
    name: 'lb-rule',
    IPAddress: `${REGION}/addresses/lb-ip`,
    IPProtocol: 'TCP',
    portRange: String(PORT),
    target: `${REGION}/targetPools/lb-pool`,
  });
});

afterAll(async () => {
  await emu?.stop();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('forwarding rules carry traffic to healthy pool members', () => {
  it('round-robins over the healthy instances', async () => {
    expect(vip).toMatch(/^127\.77\.11\.\d+$/);
    expect((await api('GET', `${REGION}/forwardingRules/lb-rule`)).body.IPAddress).toBe(vip);
    await until('both instances serve', async () => new Set(await sample(4)).size === 2);
    const s = await sample(6);
    expect(s.filter((x) => x === 'lb-web-1')).toHaveLength(3); // strict alternation
    expect(s.filter((x) => x === 'lb-web-2')).toHaveLength(3);
  });

  it('stops sending to an instance whose health check fails, and getHealth says so', async () => {
    healthy['lb-web-2'] = false;
    await until('only lb-web-1 serves', async () => (await sample(6)).every((x) => x === 'lb-web-1'));
    const h = await api('POST', `${REGION}/targetPools/lb-pool/getHealth`, {
      instance: `${ZONE}/instances/lb-web-2`,
    });
    expect(h.body.healthStatus[0]).toMatchObject({ healthState: 'UNHEALTHY', ipAddress: vip, port: PORT });
    const h1 = await api('POST', `${REGION}/targetPools/lb-pool/getHealth`, {
      instance: `${ZONE}/instances/lb-web-1`,
    });
    expect(h1.body.healthStatus[0].healthState).toBe('HEALTHY');
  });

  it('closes connections when no instance is healthy (a stopped instance is never healthy)', async () => {
    await mutate('POST', `${ZONE}/instances/lb-web-1/stop`);
    await until('connections are closed', async () => (await sample(3)).every((x) => x === 'closed'));
    await mutate('POST', `${ZONE}/instances/lb-web-1/start`);
    await until('lb-web-1 serves again', async () => (await sample(3)).every((x) => x === 'lb-web-1'));
  });

  it('without a health check every RUNNING member serves; removeInstance takes one out', async () => {
    await mutate('POST', `${REGION}/targetPools/lb-pool/removeHealthCheck`, {
      healthChecks: [{ healthCheck: 'global/httpHealthChecks/lb-hc' }],
    });
    await until('both serve', async () => new Set(await sample(4)).size === 2);
    await mutate('POST', `${REGION}/targetPools/lb-pool/removeInstance`, {
      instances: [{ instance: `${ZONE}/instances/lb-web-1` }],
    });
    expect((await sample(4)).every((x) => x === 'lb-web-2')).toBe(true);
    expect((await api('GET', `${REGION}/targetPools/lb-pool`)).body.instances).toEqual([
      `https://www.googleapis.com/compute/v1/projects/${emu.project}/zones/us-central1-a/instances/lb-web-2`,
    ]);
  });

  it('deleting the rule closes its listener; everything can then be removed', async () => {
    await mutate('DELETE', `${REGION}/forwardingRules/lb-rule`);
    expect(await hit()).toBe('closed');
    await mutate('DELETE', `${REGION}/targetPools/lb-pool`);
    await mutate('DELETE', 'global/httpHealthChecks/lb-hc');
    await mutate('DELETE', `${REGION}/addresses/lb-ip`);
    await mutate('DELETE', `${ZONE}/instances/lb-web-1`);
    await mutate('DELETE', `${ZONE}/instances/lb-web-2`);
    expect(emu.resourceCount()).toBe(0);
  });
});
