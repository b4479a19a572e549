/**
 * The GCE emulator through the real client library (@google-cloud/compute 6, REST transport) with lab
 * VMs behind instances: what a driver sees is what the cloud would show it.
 *
 * Every call goes through the library's clients configured as a driver does for `--google-endpoint
 * http://…` (`apiEndpoint`, `port`, `protocol: 'http'`, `authClient: new PassThroughClient()` from the
 * top-level google-auth-library; gax only duck-types it), except httpHealthChecks, which the library
 * has no client for: those use fetch with the same URL layout.
 *
 * The load-balancer part runs busybox httpd inside the VMs (the host's static /bin/busybox copied in
 * with `docker cp`: the vm image has no web server and no python).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import {
  AddressesClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  ImagesClient,
  InstancesClient,
  RegionOperationsClient,
  TargetPoolsClient,
  ZoneOperationsClient,
  type protos,
} from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKey } from '../../src/ssh/keys.js';
import { backingVmName, startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { labDocker, labUp, vmContainer, vmExec } from '../lab/lab.js';
import { eventually, tempDir } from './helpers.js';

type Operation = protos.google.cloud.compute.v1.IOperation;
type Instance = protos.google.cloud.compute.v1.IInstance;

const PROJECT = 'swarmup-conformance';
const REGION = 'us-central1';
const ZONE_A = 'us-central1-a';
const ZONE_B = 'us-central1-b';
const HTTP_PORT = 8080;

let emu: GceEmulator;
let dir: string;
let aliceKey: string;
let bobKey: string;
let alicePub: string;
let bobPub: string;

let instances: InstancesClient;
let zoneOps: ZoneOperationsClient;
let regionOps: RegionOperationsClient;
let globalOps: GlobalOperationsClient;
let firewalls: FirewallsClient;
let pools: TargetPoolsClient;
let rules: ForwardingRulesClient;
let addresses: AddressesClient;
let images: ImagesClient;

const last = (url: string | null | undefined) => (url ?? '').split('/').pop() ?? '';

/**
 * Wait for the operation an insert/delete/... returned, looping on `wait` (which may answer before
 * DONE). The library names the LRO by the operation's numeric id: `wait` must accept it.
 */
async function complete(
  res: [{ latestResponse?: unknown; name?: string }, ...unknown[]],
  seen: string[] = [],
): Promise<Operation> {
  let op = res[0].latestResponse as Operation;
  const name = res[0].name!;
  expect(name).toBe(op.id); // the library's quirk
  for (let i = 0; i < 200 && op.status !== 'DONE'; i++) {
    seen.push(String(op.status));
    if (op.zone) [op] = await zoneOps.wait({ project: PROJECT, zone: last(op.zone), operation: name });
    else if (op.region)
      [op] = await regionOps.wait({ project: PROJECT, region: last(op.region), operation: name });
    else [op] = await globalOps.wait({ project: PROJECT, operation: name });
  }
  seen.push(String(op.status));
  expect(op.status).toBe('DONE');
  return op;
}

/** complete() and require success. */
async function ok(res: [{ latestResponse?: unknown; name?: string }, ...unknown[]]): Promise<Operation> {
  const op = await complete(res);
  expect(op.error?.errors ?? [], JSON.stringify(op.error)).toEqual([]);
  return op;
}

/** The error a library call rejects with: gaxios' error, `code` = the HTTP status, message = body. */
async function failure(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error('expected the call to fail');
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 255) : 0, stdout, stderr }),
    ),
  );
}

const ssh = (user: string, key: string, ip: string, cmd: string) =>
  run('ssh', [
    '-i',
    key,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    `${user}@${ip}`,
    cmd,
  ]);

const getInstance = async (zone: string, name: string): Promise<Instance> =>
  (await instances.get({ project: PROJECT, zone, instance: name }))[0];
const ipOf = (i: Instance) => i.networkInterfaces?.[0]?.networkIP ?? '';
const natOf = (i: Instance) => i.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP ?? undefined;

function instanceResource(name: string, zone: string, labels: Record<string, string>): Instance {
  return {
    name,
    machineType: `zones/${zone}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: 'projects/debian-cloud/global/images/family/debian-12',
          diskSizeGb: '20',
        },
      },
    ],
    networkInterfaces: [
      {
        network: 'global/networks/default',
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ],
    metadata: { items: [{ key: 'ssh-keys', value: `alice:${alicePub} alice` }] },
    tags: { items: ['swarmup-conf'] },
    labels,
  };
}

/** GET on a fresh connection: the body, or 'closed' when the connection was refused or reset. */
function httpGet(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: 3000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b.trim()));
      res.on('error', () => resolve('closed'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('closed'));
  });
}

/** REST call for httpHealthChecks (no library client): the same URL layout and bodies. */
async function rest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${emu.endpoint}/compute/v1/projects/${PROJECT}/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  await labUp();
  dir = await tempDir('gce-conf-');
  aliceKey = join(dir, 'alice');
  bobKey = join(dir, 'bob');
  alicePub = (await generateSshKey(aliceKey, 'alice')).trim();
  bobPub = (await generateSshKey(bobKey, 'bob')).trim();
  emu = await startGceEmulator({
    project: PROJECT,
    region: REGION,
    backing: { image: 'vm' },
    operationLatencyMs: 200,
    waitTimeoutMs: 300,
    healthCheckScale: 0.1,
    quotas: { instances: 2, addresses: 1, forwardingRules: 2 },
    addressPrefix: '127.77.30.',
  });
  // The top-level google-auth-library (10.9) is not the copy gax depends on (10.5): at run time gax
  // only duck-types the auth client, but TypeScript sees two unrelated classes, hence the cast.
  const opts = {
    apiEndpoint: '127.0.0.1',
    port: emu.port,
    protocol: 'http',
    authClient: new PassThroughClient(),
  } as unknown as ConstructorParameters<typeof InstancesClient>[0];
  instances = new InstancesClient(opts);
  zoneOps = new ZoneOperationsClient(opts);
  regionOps = new RegionOperationsClient(opts);
  globalOps = new GlobalOperationsClient(opts);
  firewalls = new FirewallsClient(opts);
  pools = new TargetPoolsClient(opts);
  rules = new ForwardingRulesClient(opts);
  addresses = new AddressesClient(opts);
  images = new ImagesClient(opts);
});

afterAll(async () => {
  await emu?.stop();
  for (const c of [instances, zoneOps, regionOps, globalOps, firewalls, pools, rules, addresses, images])
    await c?.close();
});

describe('GCE emulator through @google-cloud/compute', () => {
  it('resolves public images by family (another project than the emulator’s)', async () => {
    const [img] = await images.getFromFamily({ project: 'debian-cloud', family: 'debian-12' });
    expect(img.name).toMatch(/^debian-12-bookworm-v\d+$/);
    expect(img.selfLink).toBe(
      `https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/${img.name}`,
    );
    expect(img.status).toBe('READY');
    expect(img.id).toMatch(/^\d+$/);
    const err = await failure(images.getFromFamily({ project: 'debian-cloud', family: 'debian-99' }));
    expect(err.code).toBe(404);
    expect(err.message).toContain("projects/debian-cloud/global/images/family/debian-99' was not found");
  });

  it('creates instances: operations PENDING → DONE, status → RUNNING, natIP once RUNNING', async () => {
    const requestId = randomUUID();
    const insertA = await instances.insert({
      project: PROJECT,
      zone: ZONE_A,
      instanceResource: instanceResource('web-1', ZONE_A, { cluster: 'conf', role: 'web' }),
      requestId,
    });
    const first = insertA[0].latestResponse as Operation;
    expect(first.status).toBe('PENDING');
    expect(first.operationType).toBe('insert');
    expect(first.targetLink).toBe(
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE_A}/instances/web-1`,
    );
    expect(typeof (insertA[0] as unknown as { promise?: unknown }).promise).toBe('undefined'); // no LRO promise() in v6
    // the library sends requestId: a retry with the same id gets the same operation, not a 409
    const again = await instances.insert({
      project: PROJECT,
      zone: ZONE_A,
      instanceResource: instanceResource('web-1', ZONE_A, { cluster: 'conf', role: 'web' }),
      requestId,
    });
    expect((again[0].latestResponse as Operation).name).toBe(first.name);
    expect(emu.requests().some((r) => r.query?.includes(`requestId=${requestId}`))).toBe(true);

    const insertB = await instances.insert({
      project: PROJECT,
      zone: ZONE_B,
      instanceResource: instanceResource('web-2', ZONE_B, { cluster: 'conf', role: 'web' }),
    });
    const early = await getInstance(ZONE_A, 'web-1');
    expect(['PROVISIONING', 'STAGING']).toContain(early.status);
    expect(natOf(early)).toBeUndefined();

    const seen: string[] = [];
    const [opA] = await Promise.all([complete(insertA, seen), ok(insertB)]);
    expect(opA.error?.errors ?? []).toEqual([]);
    expect(seen[0]).toBe('PENDING');
    expect(seen).toContain('RUNNING'); // a wait answered before DONE (the VM boots longer than waitTimeoutMs)
    expect(seen[seen.length - 1]).toBe('DONE');

    for (const [zone, name] of [
      [ZONE_A, 'web-1'],
      [ZONE_B, 'web-2'],
    ]) {
      const inst = await getInstance(zone, name);
      expect(inst.status).toBe('RUNNING');
      expect(inst.id).toMatch(/^\d+$/);
      expect(inst.zone).toBe(`https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${zone}`);
      expect(ipOf(inst)).toMatch(/^172\.29\.\d+\.\d+$/);
      expect(natOf(inst)).toBe(ipOf(inst));
      expect(inst.disks?.[0]?.diskSizeGb).toBe('20');
      expect(inst.tags?.items).toEqual(['swarmup-conf']);
    }
  });

  it('the instance is reachable over SSH as the metadata user with the metadata key, with sudo; not as root', async () => {
    const inst = await getInstance(ZONE_A, 'web-1');
    const r = await ssh('alice', aliceKey, ipOf(inst), 'id -un; sudo -n id -u; hostname');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['alice', '0', 'web-1']);
    expect((await ssh('root', aliceKey, ipOf(inst), 'true')).code).not.toBe(0);
    expect((await ssh('alice', bobKey, ipOf(inst), 'true')).code).not.toBe(0);
  });

  it('setMetadata changes the accounts (fingerprint required: 412 otherwise)', async () => {
    const inst = await getInstance(ZONE_A, 'web-1');
    const stale = await failure(
      instances.setMetadata({
        project: PROJECT,
        zone: ZONE_A,
        instance: 'web-1',
        metadataResource: { items: [], fingerprint: 'bm90LWl0' },
      }),
    );
    expect(stale.code).toBe(412);
    expect(stale.message).toContain('conditionNotMet');
    await ok(
      await instances.setMetadata({
        project: PROJECT,
        zone: ZONE_A,
        instance: 'web-1',
        metadataResource: {
          items: [{ key: 'ssh-keys', value: `bob:${bobPub} bob` }],
          fingerprint: inst.metadata?.fingerprint,
        },
      }),
    );
    const ip = ipOf(inst);
    const r = await ssh('bob', bobKey, ip, 'id -un; sudo -n id -u');
    expect(r.stdout.trim().split('\n')).toEqual(['bob', '0']);
    expect((await ssh('alice', aliceKey, ip, 'true')).code).not.toBe(0);
  });

  it('errors: duplicate → 409, missing → 404, invalid name → 400, over quota → 403', async () => {
    const dup = await failure(
      instances.insert({
        project: PROJECT,
        zone: ZONE_A,
        instanceResource: instanceResource('web-1', ZONE_A, {}),
      }),
    );
    // gaxios (google-auth-library 10) rejects before gax maps codes: code is the HTTP status, not ALREADY_EXISTS/ABORTED
    expect(dup.code).toBe(409);
    expect(dup.message).toContain(
      `The resource 'projects/${PROJECT}/zones/${ZONE_A}/instances/web-1' already exists`,
    );
    expect(dup.message).toContain('alreadyExists');

    const missing = await failure(instances.get({ project: PROJECT, zone: ZONE_A, instance: 'nope' }));
    expect(missing.code).toBe(404);
    expect((await failure(instances.delete({ project: PROJECT, zone: ZONE_A, instance: 'nope' }))).code).toBe(
      404,
    );
    expect((await failure(firewalls.delete({ project: PROJECT, firewall: 'nope' }))).code).toBe(404);

    const bad = await failure(
      instances.insert({
        project: PROJECT,
        zone: ZONE_A,
        instanceResource: instanceResource('Web_1', ZONE_A, {}),
      }),
    );
    expect(bad.code).toBe(400);
    expect(bad.message).toContain("Invalid value for field 'resource.name': 'Web_1'");

    const quota = await failure(
      instances.insert({
        project: PROJECT,
        zone: ZONE_A,
        instanceResource: instanceResource('web-3', ZONE_A, {}),
      }),
    );
    expect(quota.code).toBe(403);
    expect(quota.message).toContain("Quota 'INSTANCES' exceeded");
    expect(quota.message).toContain('QUOTA_EXCEEDED');
  });

  it('labels and tags: setLabels/setTags, then aggregatedList filters by label and name', async () => {
    const web2 = await getInstance(ZONE_B, 'web-2');
    await ok(
      await instances.setLabels({
        project: PROJECT,
        zone: ZONE_B,
        instance: 'web-2',
        instancesSetLabelsRequestResource: {
          labels: { cluster: 'conf', role: 'db' },
          labelFingerprint: web2.labelFingerprint,
        },
      }),
    );
    await ok(
      await instances.setTags({
        project: PROJECT,
        zone: ZONE_B,
        instance: 'web-2',
        tagsResource: { items: ['swarmup-conf', 'db'], fingerprint: web2.tags?.fingerprint },
      }),
    );
    const aggregated = async (filter: string) => {
      const scopes: Record<string, { names: string[]; warning?: string }> = {};
      for await (const [scope, list] of instances.aggregatedListAsync(
        { project: PROJECT, filter },
        { autoPaginate: false },
      )) {
        scopes[scope] = {
          names: (list.instances ?? []).map((i) => i.name!),
          warning: list.warning?.code ?? undefined,
        };
      }
      return scopes;
    };
    const web = await aggregated('labels.role = "web"');
    expect(Object.keys(web).sort()).toEqual([`zones/${ZONE_A}`, `zones/${ZONE_B}`, 'zones/us-central1-c']);
    expect(web[`zones/${ZONE_A}`].names).toEqual(['web-1']);
    expect(web[`zones/${ZONE_B}`]).toEqual({ names: [], warning: 'NO_RESULTS_ON_PAGE' });
    const all = Object.values(await aggregated('labels.cluster:*')).flatMap((s) => s.names);
    expect(all.sort()).toEqual(['web-1', 'web-2']);
    const byName = Object.values(await aggregated('name = "web-2"')).flatMap((s) => s.names);
    expect(byName).toEqual(['web-2']);
    const [listed] = await instances.list({ project: PROJECT, zone: ZONE_B, filter: 'labels.role = "db"' });
    expect(listed.map((i) => i.name)).toEqual(['web-2']);
    expect(listed[0].tags?.items).toEqual(['swarmup-conf', 'db']);
  });

  it('stop → TERMINATED (VM container stopped, no natIP); start → RUNNING, reachable again', async () => {
    const vm = backingVmName(PROJECT, ZONE_B, 'web-2');
    await ok(await instances.stop({ project: PROJECT, zone: ZONE_B, instance: 'web-2' }));
    const stopped = await getInstance(ZONE_B, 'web-2');
    expect(stopped.status).toBe('TERMINATED');
    expect(natOf(stopped)).toBeUndefined();
    expect(
      (await labDocker(['container', 'inspect', '-f', '{{.State.Status}}', vmContainer(vm)])).stdout.trim(),
    ).toBe('exited');
    await ok(await instances.start({ project: PROJECT, zone: ZONE_B, instance: 'web-2' }));
    const started = await getInstance(ZONE_B, 'web-2');
    expect(started.status).toBe('RUNNING');
    expect(natOf(started)).toBe(ipOf(started));
    const r = await ssh('alice', aliceKey, ipOf(started), 'id -un; hostname');
    expect(r.stdout.trim().split('\n')).toEqual(['alice', 'web-2']);
  });

  it('firewalls: insert, get, list, patch, update, delete; bad ports refused', async () => {
    await ok(
      await firewalls.insert({
        project: PROJECT,
        firewallResource: {
          name: 'conf-swarm',
          network: 'global/networks/default',
          allowed: [{ IPProtocol: 'tcp', ports: ['2377', '7946'] }],
          sourceTags: ['swarmup-conf'],
          targetTags: ['swarmup-conf'],
        },
      }),
    );
    const [fw] = await firewalls.get({ project: PROJECT, firewall: 'conf-swarm' });
    // protobuf objects carry `_field` keys for optional fields: compare fields, not whole objects
    expect(fw.allowed?.map((a) => [a.IPProtocol, a.ports])).toEqual([['tcp', ['2377', '7946']]]);
    expect(fw.network).toBe(
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/default`,
    );
    expect(fw.direction).toBe('INGRESS');
    expect(fw.priority).toBe(1000);
    await ok(
      await firewalls.patch({
        project: PROJECT,
        firewall: 'conf-swarm',
        firewallResource: {
          allowed: [
            { IPProtocol: 'tcp', ports: ['2377'] },
            { IPProtocol: 'udp', ports: ['4789'] },
          ],
        },
      }),
    );
    const [patched] = await firewalls.get({ project: PROJECT, firewall: 'conf-swarm' });
    expect(patched.allowed).toHaveLength(2);
    expect(patched.sourceTags).toEqual(['swarmup-conf']); // kept by PATCH
    await ok(
      await firewalls.update({
        project: PROJECT,
        firewall: 'conf-swarm',
        firewallResource: {
          name: 'conf-swarm',
          allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
          sourceRanges: ['10.0.0.0/8'],
        },
      }),
    );
    const [updated] = await firewalls.get({ project: PROJECT, firewall: 'conf-swarm' });
    expect(updated.sourceTags).toEqual([]); // replaced by PUT
    expect(updated.sourceRanges).toEqual(['10.0.0.0/8']);
    const [list] = await firewalls.list({ project: PROJECT });
    expect(list.map((f) => f.name)).toEqual(['conf-swarm']);
    const bad = await failure(
      firewalls.insert({
        project: PROJECT,
        firewallResource: { name: 'conf-bad', allowed: [{ IPProtocol: 'tcp', ports: ['0-99999'] }] },
      }),
    );
    expect(bad.code).toBe(400);
    await ok(await firewalls.delete({ project: PROJECT, firewall: 'conf-swarm' }));
    expect((await failure(firewalls.get({ project: PROJECT, firewall: 'conf-swarm' }))).code).toBe(404);
  });

  it('a 429 storm reaches the client as 429 (8 would be the gRPC mapping); 503 is not retried by the library', async () => {
    emu.inject({ kind: 'status', status: 429, count: 3, match: '/global/firewalls' });
    for (let i = 0; i < 3; i++) {
      const e = await failure(firewalls.list({ project: PROJECT }));
      expect(e.code).toBe(429);
      expect(e.message).toContain('rateLimitExceeded');
    }
    await firewalls.list({ project: PROJECT });
    emu.resetLog();
    emu.inject({ kind: 'status', status: 503, count: 1, match: '/global/firewalls' });
    expect((await failure(firewalls.list({ project: PROJECT }))).code).toBe(503);
    expect(emu.requests().filter((r) => r.path.endsWith('/global/firewalls'))).toHaveLength(1);
  });

  it('a failed operation is DONE with error.errors and nothing is created', async () => {
    emu.inject({ kind: 'failOperation', count: 1, match: 'conf-fail' });
    const op = await complete(
      await firewalls.insert({
        project: PROJECT,
        firewallResource: { name: 'conf-fail', allowed: [{ IPProtocol: 'tcp' }] },
      }),
    );
    expect(op.error?.errors?.[0]?.code).toBe('INTERNAL_ERROR');
    expect(op.httpErrorStatusCode).toBe(500);
    expect((await failure(firewalls.get({ project: PROJECT, firewall: 'conf-fail' }))).code).toBe(404);
    // region and global operations can be read back through their clients, by name
    const [g] = await globalOps.get({ project: PROJECT, operation: op.name! });
    expect(g.error?.errors?.[0]?.code).toBe('INTERNAL_ERROR');
    const [gl] = await globalOps.list({ project: PROJECT });
    expect(gl.map((o) => o.name)).toContain(op.name);
  });

  it('forwarding rules carry traffic to the healthy instances of the pool', async () => {
    // busybox httpd in both VMs: / names the instance, /healthz is the health check target
    const servers: Record<string, string> = {};
    for (const [zone, name] of [
      [ZONE_A, 'web-1'],
      [ZONE_B, 'web-2'],
    ]) {
      const vm = backingVmName(PROJECT, zone, name);
      const cp = await labDocker(['cp', '-L', '/bin/busybox', `${vmContainer(vm)}:/usr/local/bin/busybox`]);
      expect(cp.code, cp.stderr).toBe(0);
      const r = await vmExec(
        vm,
        `mkdir -p /srv/www && echo ${name} >/srv/www/index.html && echo ok >/srv/www/healthz && ` +
          `(setsid busybox httpd -f -p ${HTTP_PORT} -h /srv/www </dev/null >/dev/null 2>&1 & echo $! >/run/httpd.pid)`,
      );
      expect(r.code, r.stderr).toBe(0);
      servers[name] = vm;
    }

    const addrOp = await ok(
      await addresses.insert({ project: PROJECT, region: REGION, addressResource: { name: 'conf-ip' } }),
    );
    expect(addrOp.region).toBe(`https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/${REGION}`);
    const [addr] = await addresses.get({ project: PROJECT, region: REGION, address: 'conf-ip' });
    expect(addr.address).toMatch(/^127\.77\.30\.\d+$/);
    expect(addr.status).toBe('RESERVED');
    const over = await failure(
      addresses.insert({ project: PROJECT, region: REGION, addressResource: { name: 'conf-ip2' } }),
    );
    expect(over.code).toBe(403);

    const hc = await rest('POST', 'global/httpHealthChecks', {
      name: 'conf-hc',
      port: HTTP_PORT,
      requestPath: '/healthz',
      checkIntervalSec: 2,
      timeoutSec: 1,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    });
    expect(hc.status).toBe(200);
    const [hcOp] = await globalOps.get({ project: PROJECT, operation: String(hc.json.name) });
    await ok([{ latestResponse: hcOp, name: String(hcOp.id) }]);

    const web1 = await getInstance(ZONE_A, 'web-1');
    const web2 = await getInstance(ZONE_B, 'web-2');
    await ok(
      await pools.insert({
        project: PROJECT,
        region: REGION,
        targetPoolResource: {
          name: 'conf-pool',
          healthChecks: ['global/httpHealthChecks/conf-hc'],
          instances: [web1.selfLink!],
        },
      }),
    );
    await ok(
      await pools.addInstance({
        project: PROJECT,
        region: REGION,
        targetPool: 'conf-pool',
        targetPoolsAddInstanceRequestResource: {
          instances: [{ instance: `zones/${ZONE_B}/instances/web-2` }],
        },
      }),
    );
    const [pool] = await pools.get({ project: PROJECT, region: REGION, targetPool: 'conf-pool' });
    expect(pool.instances).toEqual([web1.selfLink, web2.selfLink]);
    expect(pool.healthChecks).toEqual([
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/httpHealthChecks/conf-hc`,
    ]);

    await ok(
      await rules.insert({
        project: PROJECT,
        region: REGION,
        forwardingRuleResource: {
          name: 'conf-http',
          IPAddress: addr.address,
          IPProtocol: 'TCP',
          portRange: String(HTTP_PORT),
          target: pool.selfLink,
        },
      }),
    );
    const [rule] = await rules.get({ project: PROJECT, region: REGION, forwardingRule: 'conf-http' });
    expect(rule).toMatchObject({
      IPAddress: addr.address,
      IPProtocol: 'TCP',
      portRange: `${HTTP_PORT}-${HTTP_PORT}`,
      target: pool.selfLink,
    });
    const vip = addr.address!;

    const sample = async (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await httpGet(vip, HTTP_PORT, '/'));
      return out;
    };
    await eventually(
      async () => new Set(await sample(4)).size === 2 && (await sample(4)).every((x) => x.startsWith('web-')),
      60_000,
      'both instances serve through the rule',
    );
    const [health] = await pools.getHealth({
      project: PROJECT,
      region: REGION,
      targetPool: 'conf-pool',
      instanceReferenceResource: { instance: web2.selfLink },
    });
    expect(health.healthStatus?.[0]).toMatchObject({ healthState: 'HEALTHY', ipAddress: vip });

    // web-2 fails its health check: only web-1 serves
    expect((await vmExec(servers['web-2'], 'rm /srv/www/healthz')).code).toBe(0);
    await eventually(async () => (await sample(6)).every((x) => x === 'web-1'), 60_000, 'only web-1 serves');

    // resources in use cannot be deleted
    const poolInUse = await failure(
      pools.delete({ project: PROJECT, region: REGION, targetPool: 'conf-pool' }),
    );
    expect(poolInUse.code).toBe(400);
    expect(poolInUse.message).toContain('is already being used by');
    expect(poolInUse.message).toContain('resourceInUseByAnotherResource');
    const hcInUse = await rest('DELETE', 'global/httpHealthChecks/conf-hc');
    expect(hcInUse.status).toBe(400);
    expect(JSON.stringify(hcInUse.json)).toContain('is already being used by');

    // web-1's server goes away: nothing healthy, connections are closed
    expect((await vmExec(servers['web-1'], 'kill "$(cat /run/httpd.pid)"')).code).toBe(0);
    await eventually(
      async () => (await sample(3)).every((x) => x === 'closed'),
      60_000,
      'connections are closed',
    );

    // teardown in the right order
    await ok(await rules.delete({ project: PROJECT, region: REGION, forwardingRule: 'conf-http' }));
    await ok(await pools.delete({ project: PROJECT, region: REGION, targetPool: 'conf-pool' }));
    const hcDel = await rest('DELETE', 'global/httpHealthChecks/conf-hc');
    expect(hcDel.status).toBe(200);
    const [hcDelOp] = await globalOps.get({ project: PROJECT, operation: String(hcDel.json.name) });
    await ok([{ latestResponse: hcDelOp, name: String(hcDelOp.id) }]);
    await ok(await addresses.delete({ project: PROJECT, region: REGION, address: 'conf-ip' }));
    const [regionOpList] = await regionOps.list({ project: PROJECT, region: REGION });
    expect(regionOpList.filter((o) => o.operationType === 'insert').length).toBeGreaterThanOrEqual(3);
  });

  it('deleting instances removes their VMs; then nothing is left', async () => {
    emu.resetLog();
    await Promise.all([
      instances.delete({ project: PROJECT, zone: ZONE_A, instance: 'web-1' }).then(ok),
      instances.delete({ project: PROJECT, zone: ZONE_B, instance: 'web-2' }).then(ok),
    ]);
    for (const [zone, name] of [
      [ZONE_A, 'web-1'],
      [ZONE_B, 'web-2'],
    ]) {
      expect((await failure(getInstance(zone, name))).code).toBe(404);
      expect(
        (await labDocker(['container', 'inspect', vmContainer(backingVmName(PROJECT, zone, name))])).code,
      ).not.toBe(0);
    }
    expect(emu.resourceCount()).toBe(0);
    const log = emu.requests();
    expect(log.filter((r) => r.mutating).map((r) => r.method)).toEqual(['DELETE', 'DELETE']);
    expect(log.some((r) => r.path.endsWith('/wait') && !r.mutating)).toBe(true);
  });

  it('stop() removes every backing VM, even of instances never deleted', async () => {
    const op = await instances.insert({
      project: PROJECT,
      zone: ZONE_A,
      instanceResource: instanceResource('left-over', ZONE_A, {}),
    });
    await ok(op);
    const vm = backingVmName(PROJECT, ZONE_A, 'left-over');
    expect((await labDocker(['container', 'inspect', vmContainer(vm)])).code).toBe(0);
    await emu.stop();
    expect((await labDocker(['container', 'inspect', vmContainer(vm)])).code).not.toBe(0);
  });
});
