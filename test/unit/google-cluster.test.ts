/**
 * Label and ownership sweeps (discoverClusters, destroyCluster, ensureClusterFirewall) through the
 * real SDK against the GCE emulator without VMs: what a cluster owns goes, nothing else is touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { destroyCluster, discoverClusters, ensureClusterFirewall } from '../../drivers/google/cluster.js';
import { connectGce } from '../../src/cloud/gce/connect.js';
import type { Gce } from '../../src/cloud/gce/api.js';
import { instanceBody } from '../../drivers/google/instance.js';
import { resourceLabels } from '../../src/cloud/gce/labels.js';
import { settingsFromFlags } from '../../drivers/google/settings.js';
import { GoogleDriver } from '../../drivers/google/driver.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GceLbBackend } from '../../src/lb/gce/backend.js';
import { desiredLb } from '../../src/lb/gce/desired.js';
import { applyLb, planLb } from '../../src/lb/gce/plan.js';
import { removeClusterLoadBalancer } from '../../src/lb/gce/teardown.js';

let emu: GceEmulator;
let gce: Gce;
let flags: Record<string, string>;
const zone = 'us-central1-a';
const expires = '2030-01-02T03:04:05.000Z';

async function instance(name: string, labels: Record<string, string>, z = zone) {
  const s = settingsFromFlags({ ...flags, 'google-zone': z });
  const body = instanceBody({ name, settings: s, sshKeys: '', tags: ['swarmup'], labels });
  await gce.mutate(`creating ${name}`, (o, requestId) =>
    gce.instances.insert({ requestId, project: gce.project, zone: z, instanceResource: body }, o),
  );
}

const names = <T extends { name?: string | null }>(xs: T[]) => xs.map((x) => String(x.name)).sort();

beforeAll(async () => {
  emu = await startGceEmulator({ backing: false, operationLatencyMs: 20 });
  flags = { 'google-project': emu.project, 'google-endpoint': emu.endpoint, 'google-zone': zone };
  gce = await connectGce({ project: emu.project, endpoint: emu.endpoint });
});

afterAll(async () => {
  await emu?.stop();
});

describe('google cluster sweeps', () => {
  it('finds clusters by labels in every zone (with the expiry), and destroys only what one owns', async () => {
    const member = (c: string, m: string, role: string) =>
      resourceLabels({
        cluster: c,
        role,
        machine: m,
        store: 's1',
        membership: { 'swarmup.expires': expires },
      });
    await instance('c1-manager-1', member('c1', 'c1-manager-1', 'manager'));
    await instance('c1-worker-1', member('c1', 'c1-worker-1', 'worker'), 'us-central1-b');
    await instance(
      'c2-manager-1',
      resourceLabels({ cluster: 'c2', role: 'manager', machine: 'c2-manager-1' }),
    );
    await instance('not-ours', { team: 'x' });
    await ensureClusterFirewall('c1', flags, () => undefined);
    await ensureClusterFirewall('c2', flags, () => undefined);
    // An unowned rule with a name like ours, and an unowned load balancer rule in the region.
    await gce.mutate('fw', (o, requestId) =>
      gce.firewalls.insert(
        {
          requestId,
          project: gce.project,
          firewallResource: {
            name: 'swarmup-c1-custom',
            network: 'global/networks/default',
            allowed: [{ IPProtocol: 'tcp', ports: ['80'] }],
            sourceRanges: ['0.0.0.0/0'],
          },
        },
        o,
      ),
    );
    // The cluster's load balancer (no swarm needed: the backend without a health service).
    const region = 'us-central1';
    const d = desiredLb({
      cluster: 'c1',
      region,
      network: 'default',
      listeners: [
        { protocol: 'tcp', port: 8080, backendPort: 8080, mode: 'ingress', services: ['web'], backends: [] },
      ],
      instances: [`zones/${zone}/instances/c1-manager-1`],
    });
    d.desired.healthService = undefined;
    const cur = { firewalls: [], rules: [] };
    await applyLb(planLb(d.desired, cur, { region }), new GceLbBackend(gce, region), cur);
    // Labels of the address and the rules are set through setLabels (insert ignores them).
    const want = resourceLabels({ cluster: 'c1', role: 'lb' });
    const address = await gce.call('get', (o) =>
      gce.addresses.get({ project: gce.project, region, address: 'swarmup-c1-lb' }, o),
    );
    expect(address.labels).toMatchObject(want);
    const rules = await gce.call('list', (o) =>
      gce.forwardingRules.list({ project: gce.project, region }, o),
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) expect(r.labels).toMatchObject(want);

    const found = await discoverClusters(flags);
    expect(found).toEqual([
      { name: 'c1', driver: 'google', machines: ['c1-manager-1', 'c1-worker-1'], expiresAt: expires },
      { name: 'c2', driver: 'google', machines: ['c2-manager-1'] },
    ]);

    // cluster down: the load balancer first (src/lb/backends.ts), then the driver's sweep.
    const lb = await removeClusterLoadBalancer(gce, region, 'c1', () => undefined);
    const gone = await destroyCluster('c1', flags, () => undefined);
    expect([...lb, ...gone].sort()).toEqual(
      [
        'instance c1-manager-1',
        'instance c1-worker-1',
        'forwarding-rule swarmup-c1-tcp8080',
        'target-pool swarmup-c1-lb',
        'health-check swarmup-c1-lb',
        'firewall swarmup-c1-lb',
        'firewall swarmup-c1-lb-health',
        'address swarmup-c1-lb',
        'firewall swarmup-c1-admin',
        'firewall swarmup-c1-swarm',
      ].sort(),
    );
    const left = emu.dump() as {
      instances: Array<{ name: string }>;
      firewalls: Array<{ name: string }>;
      addresses: unknown[];
      targetPools: unknown[];
      forwardingRules: unknown[];
      httpHealthChecks: unknown[];
    };
    expect(names(left.instances)).toEqual(['c2-manager-1', 'not-ours']);
    expect(names(left.firewalls)).toEqual(['swarmup-c1-custom', 'swarmup-c2-admin', 'swarmup-c2-swarm']);
    expect([left.addresses, left.targetPools, left.forwardingRules, left.httpHealthChecks]).toEqual([
      [],
      [],
      [],
      [],
    ]);
    // Again: nothing left to do, nothing else touched (404s and empty lists count as done).
    expect(await destroyCluster('c1', flags, () => undefined)).toEqual([]);
  });

  it('finds nothing and touches nothing without a project', async () => {
    expect(await discoverClusters({})).toEqual([]);
    expect(await destroyCluster('c2', {}, () => undefined)).toEqual([]);
  });

  it('ensureClusterFirewall: an equal rule makes no mutating call; a changed admin range is PATCHed', async () => {
    emu.resetLog();
    await ensureClusterFirewall('c2', flags, () => undefined);
    expect(emu.requests().filter((e) => e.method === 'GET')).toHaveLength(3); // swarm, admin, and no open rule
    expect(emu.requests().filter((e) => e.mutating)).toEqual([]);
    const log: string[] = [];
    await ensureClusterFirewall('c2', { ...flags, 'google-admin-cidr': '198.51.100.0/24' }, (m) =>
      log.push(m),
    );
    expect(log).toEqual(['Updating firewall rule swarmup-c2-admin (sourceRanges)...']);
    const fw = await gce.call('get', (o) =>
      gce.firewalls.get({ project: gce.project, firewall: 'swarmup-c2-admin' }, o),
    );
    expect(fw.sourceRanges).toEqual(['198.51.100.0/24']);
    const mutations = emu.requests().filter((e) => e.mutating);
    expect(mutations.map((e) => `${e.method} ${e.path.replace(/^.*\/global\//, '')}`)).toEqual([
      'PATCH firewalls/swarmup-c2-admin',
    ]);
  });

  it('never deletes an instance it did not make: a create that meets one fails and leaves it', async () => {
    await instance('taken', { team: 'x' });
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-google-'));
    const logs: string[] = [];
    const ctx = { machineName: 'taken', machineDir: dir, log: (m: string) => logs.push(m), storeId: 's1' };
    const d = GoogleDriver.fromFlags(ctx, flags);
    await expect(d.preCreateCheck()).rejects.toThrow(/an instance taken in us-central1-a already exists/);
    await expect(d.create()).rejects.toThrow(/already exists \(not made for this machine by this store\)/);
    await d.remove();
    const still = await gce.find('get', (o) =>
      gce.instances.get({ project: gce.project, zone, instance: 'taken' }, o),
    );
    expect(still?.labels).toEqual({ team: 'x' });
    // Its own firewall rule (made for the SSH it never got to) went with the failed create.
    const fw = await gce.find('get', (o) =>
      gce.firewalls.get({ project: gce.project, firewall: 'swarmup-m-taken-admin' }, o),
    );
    expect(fw).toBeUndefined();
    expect(logs).toContain('Removing firewall rule swarmup-m-taken-admin...');
  });
});
