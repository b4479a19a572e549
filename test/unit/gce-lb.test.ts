import { describe, it, expect } from 'vitest';
import {
  chunk,
  collapsePorts,
  firewallPort,
  layoutRanges,
  parseRange,
  portRange,
} from '../../src/lb/gce/ranges.js';
import { HEALTH, HEALTH_CHECK_RANGES, desiredLb, lbNames } from '../../src/lb/gce/desired.js';
import { KINDS, applyLb, planLb } from '../../src/lb/gce/plan.js';
import type {
  AddressSpec,
  CurrentLb,
  FirewallRuleSpec,
  HealthCheckSpec,
  HealthServiceCur,
  HealthServiceSpec,
  LbBackend,
  PoolSpec,
  RuleSpec,
} from '../../src/lb/gce/model.js';
import type { Listener } from '../../src/lb/model.js';

describe('port ranges', () => {
  it('collapses ports into contiguous ranges', () => {
    expect(collapsePorts([443, 80, 81, 82, 82, 8080])).toEqual([
      [80, 82],
      [443, 443],
      [8080, 8080],
    ]);
    expect(collapsePorts([])).toEqual([]);
    expect(firewallPort([80, 82])).toBe('80-82');
    expect(firewallPort([443, 443])).toBe('443');
    expect(portRange([443, 443])).toBe('443-443');
    expect(parseRange('443-443')).toEqual([443, 443]);
    expect(parseRange('80')).toEqual([80, 80]);
    expect(parseRange('90-80')).toBeUndefined();
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  type R = { name: string; range: readonly [number, number] };
  const r = (lo: number, hi = lo): R => ({ name: `r${lo}-${hi}`, range: [lo, hi] });

  it('lays rules out from nothing as the fewest maximal ranges', () => {
    const l = layoutRanges([80, 81, 82, 443], [] as R[], (x) => x.range);
    expect(l).toEqual({
      keep: [],
      remove: [],
      add: [
        [80, 82],
        [443, 443],
      ],
    });
  });

  it('keeps rules whose ports are all still published; adding a port touches no rule', () => {
    const l = layoutRanges([80, 81, 82, 83, 443], [r(80, 82), r(443)], (x) => x.range);
    expect(l.keep.map((x) => x.name)).toEqual(['r80-82', 'r443-443']);
    expect(l.remove).toEqual([]);
    expect(l.add).toEqual([[83, 83]]);
  });

  it('replaces only the rule that covers an unpublished port, splitting it', () => {
    const l = layoutRanges([80, 82, 443], [r(80, 82), r(443)], (x) => x.range);
    expect(l.keep.map((x) => x.name)).toEqual(['r443-443']);
    expect(l.remove.map((x) => x.name)).toEqual(['r80-82']);
    expect(l.add).toEqual([
      [80, 80],
      [82, 82],
    ]);
  });

  it('removes overlapping and unusable rules', () => {
    const l = layoutRanges([80, 81], [r(80, 81), r(81)], (x) => x.range);
    expect(l.keep.map((x) => x.name)).toEqual(['r80-81']);
    expect(l.remove.map((x) => x.name)).toEqual(['r81-81']);
    const u = layoutRanges(
      [80],
      [r(80)],
      (x) => x.range,
      () => false,
    );
    expect(u).toEqual({ keep: [], remove: [r(80)], add: [[80, 80]] });
  });
});

const listener = (
  protocol: 'tcp' | 'udp' | 'sctp',
  port: number,
  services = ['web'],
  mode: 'host' | 'ingress' = 'ingress',
): Listener => ({
  protocol,
  port,
  backendPort: port,
  mode,
  services,
  backends: [],
});

const inputs = (listeners: Listener[], instances = ['zones/us-central1-a/instances/c-manager-1']) => ({
  cluster: 'c',
  region: 'us-central1',
  network: 'default',
  listeners,
  instances,
  storeId: 'abc',
  health: { image: 'busybox:1.36', port: 10256 },
});

describe('desired GCE load balancer', () => {
  it('has one address, a firewall for exactly the published ports, a health check, a pool', () => {
    const { desired, skipped } = desiredLb(
      inputs([listener('tcp', 80), listener('tcp', 81), listener('udp', 53, ['dns']), listener('sctp', 9)]),
    );
    const n = lbNames('c');
    expect(desired.address?.name).toBe(n.address);
    expect(desired.address?.labels).toMatchObject({
      'swarmup-cluster': 'c',
      'swarmup-role': 'lb',
      'swarmup-store': 'abc',
    });
    const [fw, health] = desired.firewalls;
    expect(fw.allowed).toEqual([
      { IPProtocol: 'tcp', ports: ['80-81'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    expect(fw.sourceRanges).toEqual(['0.0.0.0/0', ...HEALTH_CHECK_RANGES]);
    expect(fw.targetTags).toEqual(['swarmup-c']);
    expect(health.name).toBe(n.healthFirewall);
    expect(health.allowed).toEqual([{ IPProtocol: 'tcp', ports: ['10256'] }]);
    expect(health.sourceRanges).toEqual(HEALTH_CHECK_RANGES);
    expect(desired.healthCheck).toMatchObject({
      port: 10256,
      requestPath: '/',
      checkIntervalSec: 8,
      timeoutSec: 1,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    });
    expect(desired.pool?.healthCheck).toBe(`global/httpHealthChecks/${n.healthCheck}`);
    expect(desired.ports).toEqual({ tcp: [80, 81], udp: [53] });
    expect(skipped).toEqual([
      { kind: 'forwarding-rule', name: 'sctp/9', reason: expect.stringMatching(/TCP and UDP only/) },
    ]);
    expect(desired.healthService).toEqual({ name: HEALTH.service, image: 'busybox:1.36', port: 10256 });
  });

  it('splits the firewall when more than 100 port ranges are published', () => {
    const ls = Array.from({ length: 150 }, (_, i) => listener('tcp', 20000 + i * 2));
    const { desired } = desiredLb(inputs(ls));
    const fws = desired.firewalls.filter((f) => f.name !== lbNames('c').healthFirewall);
    expect(fws.map((f) => f.name)).toEqual(['swarmup-c-lb', 'swarmup-c-lb-2']);
    expect(fws.map((f) => f.allowed[0].ports.length)).toEqual([100, 50]);
  });

  it('labels the address and the forwarding rules like the instances: user, cluster, expiry, ownership', () => {
    const { desired } = desiredLb({
      ...inputs([listener('tcp', 80)]),
      labels: {
        user: { team: 'edge' },
        membership: { 'Env.Tier': 'CI', 'swarmup.expires': '2030-01-01T00:00:00.000Z' },
      },
    });
    const want = {
      team: 'edge',
      'env-tier': 'ci',
      'swarmup-expires': '1893456000',
      'swarmup-managed': 'true',
      'swarmup-cluster': 'c',
      'swarmup-role': 'lb',
      'swarmup-store': 'abc',
    };
    expect(desired.address?.labels).toEqual(want);
    expect(desired.ruleLabels).toEqual(want);
  });

  it('refuses a published port that is the health port', () => {
    expect(() => desiredLb(inputs([listener('tcp', 10256)]))).toThrow(/health port/);
  });
});

/** A backend that records calls and keeps the state they make, like GCE would. */
class FakeBackend implements LbBackend {
  calls: string[] = [];
  constructor(readonly state: CurrentLb) {}
  async ensureHealthService(s: HealthServiceSpec, cur?: HealthServiceCur) {
    this.calls.push(`${cur ? 'update' : 'create'} service ${s.name}`);
    this.state.healthService = { ...s, id: 'svc', version: 1 };
  }
  async removeHealthService(cur: HealthServiceCur) {
    this.calls.push(`delete service ${cur.name}`);
    this.state.healthService = undefined;
  }
  async createAddress(a: AddressSpec) {
    this.calls.push(`create address ${a.name}`);
    this.state.address = { name: a.name, ip: '127.77.0.1', description: a.description };
    return '127.77.0.1';
  }
  async deleteAddress(name: string) {
    this.calls.push(`delete address ${name}`);
    this.state.address = undefined;
  }
  async createFirewall(f: FirewallRuleSpec) {
    this.calls.push(`create firewall ${f.name}`);
    this.state.firewalls.push({ ...f });
  }
  async patchFirewall(f: FirewallRuleSpec) {
    this.calls.push(`patch firewall ${f.name}`);
    this.state.firewalls = this.state.firewalls.map((x) => (x.name === f.name ? { ...f } : x));
  }
  async deleteFirewall(name: string) {
    this.calls.push(`delete firewall ${name}`);
    this.state.firewalls = this.state.firewalls.filter((x) => x.name !== name);
  }
  async createHealthCheck(h: HealthCheckSpec) {
    this.calls.push(`create health-check ${h.name}`);
    this.state.healthCheck = { ...h };
  }
  async patchHealthCheck(h: HealthCheckSpec) {
    this.calls.push(`patch health-check ${h.name}`);
    this.state.healthCheck = { ...h };
  }
  async deleteHealthCheck(name: string) {
    this.calls.push(`delete health-check ${name}`);
    this.state.healthCheck = undefined;
  }
  async createPool(p: PoolSpec) {
    this.calls.push(`create pool ${p.name}`);
    this.state.pool = {
      name: p.name,
      description: p.description,
      healthChecks: [p.healthCheck],
      instances: [...p.instances],
    };
  }
  async deletePool(name: string) {
    if (this.state.rules.length) throw new Error(`pool ${name} is already being used by a forwarding rule`);
    this.calls.push(`delete pool ${name}`);
    this.state.pool = undefined;
  }
  async addInstances(pool: string, instances: string[]) {
    this.calls.push(`add ${instances.join(',')} to ${pool}`);
    this.state.pool!.instances = [...this.state.pool!.instances, ...instances].sort();
  }
  async removeInstances(pool: string, instances: string[]) {
    this.calls.push(`remove ${instances.join(',')} from ${pool}`);
    this.state.pool!.instances = this.state.pool!.instances.filter((i) => !instances.includes(i));
  }
  async addPoolHealthCheck(pool: string, hc: string) {
    this.calls.push(`add health check ${hc} to ${pool}`);
    this.state.pool!.healthChecks.push(hc);
  }
  async removePoolHealthCheck(pool: string, hc: string) {
    this.calls.push(`remove health check ${hc} from ${pool}`);
    this.state.pool!.healthChecks = this.state.pool!.healthChecks.filter((h) => h !== hc);
  }
  async createRule(r: RuleSpec, ip: string) {
    if (!this.state.pool || this.state.pool.name !== r.pool) throw new Error('no target pool yet');
    this.calls.push(`create rule ${r.name} ${r.protocol} ${portRange(r.range)} on ${ip}`);
    this.state.rules.push({
      name: r.name,
      description: r.description,
      protocol: r.protocol,
      range: r.range,
      ip,
      target: `regions/us-central1/targetPools/${r.pool}`,
    });
  }
  async deleteRule(name: string) {
    this.calls.push(`delete rule ${name}`);
    this.state.rules = this.state.rules.filter((x) => x.name !== name);
  }
}

const empty = (): CurrentLb => ({ firewalls: [], rules: [] });

async function converge(listeners: Listener[], state: CurrentLb, instances?: string[]) {
  const d = desiredLb(inputs(listeners, instances));
  const plan = planLb(d.desired, state, { region: 'us-central1', portServices: d.portServices });
  const b = new FakeBackend(state);
  await applyLb(plan, b, { ...state });
  return { plan, calls: b.calls, again: planLb(d.desired, b.state, { region: 'us-central1' }) };
}

describe('GCE load balancer plan', () => {
  it('creates in the safe order and converges: address → firewall → health check → pool → rules', async () => {
    const { plan, calls, again } = await converge(
      [listener('tcp', 80), listener('tcp', 81), listener('tcp', 443)],
      empty(),
    );
    expect(plan.steps.map((s) => `${s.op} ${s.kind}`)).toEqual([
      'create swarm-service',
      'create address',
      'create firewall',
      'create firewall',
      'create health-check',
      'create target-pool',
      'create forwarding-rule',
      'create forwarding-rule',
    ]);
    expect(plan.steps.filter((s) => s.kind === 'forwarding-rule').map((s) => s.name)).toEqual([
      'swarmup-c-tcp80-81',
      'swarmup-c-tcp443',
    ]);
    expect(plan.steps.find((s) => s.name === 'swarmup-c-tcp80-81')?.detail).toBe(
      'tcp/80-81 → swarmup-c-lb (web)',
    );
    expect(calls).toContain('create rule swarmup-c-tcp443 tcp 443-443 on 127.77.0.1');
    expect(again.steps).toEqual([]); // a second sync is a no-op
    expect([...KINDS]).toEqual([
      'swarm-service',
      'address',
      'firewall',
      'health-check',
      'target-pool',
      'forwarding-rule',
    ]);
  });

  it('a removed service loses its rule and its firewall port; nothing else changes', async () => {
    const state = empty();
    await converge([listener('tcp', 80), listener('tcp', 9000, ['api'])], state);
    const { plan, calls } = await converge([listener('tcp', 80)], state);
    expect(plan.steps.map((s) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      'delete forwarding-rule swarmup-c-tcp9000',
      'update firewall swarmup-c-lb',
    ]);
    expect(calls).toEqual(['delete rule swarmup-c-tcp9000', 'patch firewall swarmup-c-lb']);
  });

  it('moves pool members one by one: a drained node leaves, a new one joins', async () => {
    const a = 'zones/us-central1-a/instances/c-worker-1';
    const b = 'zones/us-central1-a/instances/c-worker-2';
    const state = empty();
    await converge([listener('tcp', 80)], state, [a]);
    const { plan, calls } = await converge([listener('tcp', 80)], state, [b]);
    expect(plan.steps).toEqual([
      { op: 'update', kind: 'target-pool', name: 'swarmup-c-lb', detail: '+c-worker-2 -c-worker-1' },
    ]);
    expect(calls).toEqual([`remove ${a} from swarmup-c-lb`, `add ${b} to swarmup-c-lb`]);
  });

  it('deletes in reverse order (rules before the pool they use) when removed', async () => {
    const state = empty();
    await converge([listener('tcp', 80), listener('udp', 53)], state);
    const d = desiredLb(inputs([]), false);
    const plan = planLb(d.desired, state, { region: 'us-central1' });
    const b = new FakeBackend(state);
    await applyLb(plan, b, { ...state });
    expect(plan.steps.map((s) => `${s.op} ${s.kind}`)).toEqual([
      'delete forwarding-rule',
      'delete forwarding-rule',
      'delete target-pool',
      'delete health-check',
      'delete firewall',
      'delete firewall',
      'delete address',
      'delete swarm-service',
    ]);
    expect(b.state).toEqual({
      firewalls: [],
      rules: [],
      address: undefined,
      healthCheck: undefined,
      pool: undefined,
      healthService: undefined,
    });
  });

  it('replaces rules that point elsewhere and repairs a changed health check and firewall', async () => {
    const state = empty();
    await converge([listener('tcp', 80)], state);
    state.rules[0] = { ...state.rules[0], target: 'regions/us-central1/targetPools/other' };
    state.healthCheck = { ...state.healthCheck!, port: 80 };
    state.firewalls[0] = { ...state.firewalls[0], sourceRanges: ['10.0.0.0/8'] };
    const { plan, again } = await converge([listener('tcp', 80)], state);
    expect(plan.steps.map((s) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      'delete forwarding-rule swarmup-c-tcp80',
      'update firewall swarmup-c-lb',
      'update health-check swarmup-c-lb',
      'create forwarding-rule swarmup-c-tcp80',
    ]);
    expect(again.steps).toEqual([]);
  });
});
