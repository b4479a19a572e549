/**
 * What the GCE load balancer counts as its own, read through the real SDK from the emulator (no VMs):
 * resources with our names but without the cluster's ownership description are never ours; one of our
 * fixed names taken by someone else stops a sync before anything changes, and so does a forwarding
 * rule the plan would create under a name someone else holds; other rules with our prefix are left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gce } from '../../src/cloud/gce/api.js';
import { ownerDescription } from '../../src/cloud/gce/labels.js';
import { readLb, refuseForeign } from '../../src/lb/gce/backend.js';
import type { Plan } from '../../src/lb/plan.js';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';

let emu: GceEmulator;
let gce: Gce;
const REGION = 'us-central1';
const mine = (role: string) => ownerDescription({ kind: 'cluster', name: 'c' }, role);

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 30,
    waitTimeoutMs: 100,
    addressPrefix: '127.77.32.',
    instanceAddressPrefix: '127.78.32.',
  });
  gce = await Gce.connect({ project: emu.project, endpoint: emu.endpoint });
  const p = emu.project;
  const firewall = (name: string, description?: string) =>
    gce.mutate(`fw ${name}`, (o, requestId) =>
      gce.firewalls.insert(
        {
          requestId,
          project: p,
          firewallResource: { name, description, allowed: [{ IPProtocol: 'tcp', ports: ['80'] }] },
        },
        o,
      ),
    );
  const pool = (name: string, description?: string) =>
    gce.mutate(`pool ${name}`, (o, requestId) =>
      gce.targetPools.insert(
        { requestId, project: p, region: REGION, targetPoolResource: { name, description } },
        o,
      ),
    );
  const rule = (name: string, portRange: string, description?: string) =>
    gce.mutate(`rule ${name}`, (o, requestId) =>
      gce.forwardingRules.insert(
        {
          requestId,
          project: p,
          region: REGION,
          forwardingRuleResource: {
            name,
            description,
            IPProtocol: 'TCP',
            portRange,
            target: `projects/${p}/regions/${REGION}/targetPools/other-pool`,
          },
        },
        o,
      ),
    );
  await pool('other-pool');
  await Promise.all([
    pool('swarmup-c-lb'), // our pool's name, made by someone else
    firewall('swarmup-c-lb', mine('lb-firewall')), // ours
    firewall('swarmup-c-lb-health', 'made by hand'), // our name, not ours
    firewall('swarmup-c-lb-swarm', ownerDescription({ kind: 'cluster', name: 'c-lb' }, 'firewall-swarm')), // cluster c-lb's
    rule('swarmup-c-tcp80', '80', mine('lb-forwarding-rule')), // ours
    rule('swarmup-c-tcp9000', '9000'), // our prefix, not ours
    rule(
      'swarmup-c-lb-tcp80',
      '80',
      ownerDescription({ kind: 'cluster', name: 'c-lb' }, 'lb-forwarding-rule'),
    ),
  ]);
});
afterAll(async () => {
  await emu?.stop();
});

const plan = (...creates: string[]): Plan => ({
  steps: creates.map((name) => ({ op: 'create', kind: 'forwarding-rule', name, detail: '' })),
  skipped: [],
});

describe('GCE load balancer ownership', () => {
  it('reads only what the cluster owns; our fixed names held by others are foreign', async () => {
    const read = await readLb(gce, REGION, 'c');
    expect(read.current.pool).toBeUndefined();
    expect(read.current.firewalls.map((f) => f.name)).toEqual(['swarmup-c-lb']);
    expect(read.current.rules.map((r) => r.name)).toEqual(['swarmup-c-tcp80']);
    expect(read.foreign.sort()).toEqual(['firewall rule swarmup-c-lb-health', 'target pool swarmup-c-lb']);
    // Cluster c-lb's resources match our name prefix but are neither ours nor in our way.
    expect(read.unownedRules.sort()).toEqual(['swarmup-c-lb-tcp80', 'swarmup-c-tcp9000']);
  });

  it('refuses with one line naming each resource in the way, and only those', async () => {
    const read = await readLb(gce, REGION, 'c');
    const where = { project: emu.project, cluster: 'c' };
    expect(() => refuseForeign(read, plan('swarmup-c-tcp443'), where)).toThrow(
      `target pool swarmup-c-lb, firewall rule swarmup-c-lb-health exist in project ${emu.project} but are not owned by cluster "c" (no swarmup ownership in the description): remove or rename them`,
    );
    const pathOnly = { ...read, foreign: [] };
    // An unowned rule with our prefix is fine until the plan wants its name.
    expect(() => refuseForeign(pathOnly, plan('swarmup-c-tcp443'), where)).not.toThrow();
    expect(() => refuseForeign(pathOnly, plan('swarmup-c-tcp9000'), where)).toThrow(
      /^forwarding rule swarmup-c-tcp9000 exists in project .* but is not owned by cluster "c" .*: remove or rename it$/,
    );
  });
});
