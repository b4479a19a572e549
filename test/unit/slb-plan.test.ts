import { describe, expect, it } from 'vitest';
import { batches, type ListenerInfo } from '../../src/cloud/aliyun/slb.js';
import type { Listener, SwarmNodeInfo } from '../../src/lb/model.js';
import { formatPlan } from '../../src/lb/plan.js';
import {
  HEALTH_CHECK,
  isOwned,
  listenerDescription,
  planSlb,
  portRuleName,
  portRules,
  type ClusterInstance,
  type SlbCurrent,
} from '../../src/lb/slb/plan.js';

const C = 'ali1';

const node = (i: number, over: Partial<SwarmNodeInfo> = {}): SwarmNodeInfo => ({
  id: `n${i}`,
  hostname: `ali1-node-${i}`,
  role: i === 1 ? 'manager' : 'worker',
  ready: true,
  active: true,
  address: `10.0.0.${i}`,
  ...over,
});
const inst = (i: number): ClusterInstance => ({
  id: `i-${i}`,
  name: `ali1-node-${i}`,
  privateIp: `10.0.0.${i}`,
});

const listener = (port: number, services = ['web'], protocol: Listener['protocol'] = 'tcp'): Listener => ({
  protocol,
  port,
  backendPort: port,
  mode: 'ingress',
  services,
  backends: [],
});

/** A listener as SLB reports one of ours, in sync. */
const have = (port: number, services = ['web'], over: Partial<ListenerInfo> = {}): ListenerInfo => ({
  protocol: 'tcp',
  port,
  backendPort: port,
  description: listenerDescription(C, services),
  status: 'running',
  healthCheck: HEALTH_CHECK,
  ...over,
});

const empty = (): SlbCurrent => ({ listeners: [], backends: [], rules: [], securityGroupId: 'sg-1' });
const withLb = (over: Partial<SlbCurrent> = {}): SlbCurrent => ({
  ...empty(),
  lb: { id: 'lb-1', address: '127.88.0.1', adopted: false },
  ...over,
});

const nodes3 = [node(1), node(2), node(3)];
const insts3 = [inst(1), inst(2), inst(3)];

describe('SLB ownership', () => {
  it('writes and recognises the Description of our listeners', () => {
    expect(listenerDescription(C, ['web'])).toBe('swarmup/ali1/web');
    expect(listenerDescription(C, ['a b', 'c:d'])).toBe('swarmup/ali1/a_b.c_d');
    expect(listenerDescription(C, ['x'.repeat(200)])).toHaveLength(80);
    expect(isOwned('swarmup/ali1/web', C)).toBe(true);
    expect(isOwned('swarmup/ali10/web', C)).toBe(false);
    expect(isOwned('my listener', C)).toBe(false);
    expect(isOwned('', C)).toBe(false);
  });
});

describe('planSlb', () => {
  it('on a fresh cluster: creates the SLB, rules, backends, then listeners, in that order', () => {
    const p = planSlb({
      cluster: C,
      desired: [listener(80), listener(53, ['dns'], 'udp')],
      nodes: nodes3,
      instances: insts3,
      current: empty(),
    });
    expect(p.createLb).toBe(true);
    expect(p.plan.steps.map((s) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      'create load-balancer swarmup-ali1',
      'create security-rule udp/53',
      'create security-rule tcp/80',
      'create backend ali1-node-1 (i-1)',
      'create backend ali1-node-2 (i-2)',
      'create backend ali1-node-3 (i-3)',
      'create listener udp/53',
      'create listener tcp/80',
    ]);
    expect(p.listeners.create.map((l) => [l.protocol, l.port, l.description])).toEqual([
      ['udp', 53, 'swarmup/ali1/dns'],
      ['tcp', 80, 'swarmup/ali1/web'],
    ]);
    expect(formatPlan(p.plan)).toContain('Plan: 8 to create, 0 to update, 0 to delete.');
  });

  it('makes no SLB when nothing is published', () => {
    const p = planSlb({ cluster: C, desired: [], nodes: nodes3, instances: insts3, current: empty() });
    expect(p.plan.steps).toEqual([]);
    expect(p.createLb).toBe(false);
  });

  it('is a no-op when everything matches', () => {
    const current = withLb({
      listeners: [have(80)],
      backends: ['i-1', 'i-2', 'i-3'],
      rules: [{ protocol: 'tcp', from: 80, to: 80 }],
    });
    const p = planSlb({ cluster: C, desired: [listener(80)], nodes: nodes3, instances: insts3, current });
    expect(p.plan.steps).toEqual([]);
    expect(p.kept).toBe(1);
    expect(formatPlan(p.plan)).toBe('No changes.\n');
  });

  it('orders delete → create(+start) → update, as the Alibaba controller does', () => {
    const current = withLb({
      listeners: [
        have(80),
        have(81, ['old']),
        have(82, ['api'], { status: 'stopped' }),
        have(83, ['db'], { backendPort: 9999 }),
        have(84, ['x'], { healthCheck: { ...HEALTH_CHECK, intervalS: 10 } }),
      ],
      backends: ['i-1', 'i-2', 'i-3', 'i-9'],
      rules: [{ protocol: 'tcp', from: 80, to: 84 }],
    });
    const desired = [
      listener(80),
      listener(82, ['api']),
      listener(83, ['db']),
      listener(84, ['x']),
      listener(85, ['new']),
    ];
    const p = planSlb({ cluster: C, desired, nodes: nodes3, instances: insts3, current });
    expect(p.plan.steps.map((s) => `${s.op} ${s.kind} ${s.name}`)).toEqual([
      'delete listener tcp/81',
      'delete listener tcp/83',
      'delete backend i-9',
      'delete security-rule tcp/80-84',
      'create security-rule tcp/80',
      'create security-rule tcp/82-85',
      'create listener tcp/83',
      'create listener tcp/85',
      'update listener tcp/82',
      'update listener tcp/84',
    ]);
    // The backend port of 83 changed: SLB cannot update it, so it is deleted and made again.
    expect(p.listeners.delete.map((l) => l.port)).toEqual([81, 83]);
    expect(p.listeners.create.map((l) => l.port)).toEqual([83, 85]);
    expect(p.plan.steps.find((s) => s.name === 'tcp/82')!.detail).toBe('(start)');
    expect(p.plan.steps.find((s) => s.name === 'tcp/84')!.detail).toBe('(description, health check)');
  });

  it('never touches listeners it does not own, and skips desired ports they hold', () => {
    const current = withLb({
      lb: { id: 'lb-x', adopted: true },
      listeners: [
        { protocol: 'tcp', port: 443, description: 'company https' },
        { protocol: 'tcp', port: 8080, description: '' },
      ],
      backends: ['i-1', 'i-2', 'i-3'],
    });
    const p = planSlb({
      cluster: C,
      desired: [listener(443), listener(80)],
      nodes: nodes3,
      instances: insts3,
      current,
    });
    expect(p.listeners.delete).toEqual([]);
    expect(p.listeners.create.map((l) => l.port)).toEqual([80]);
    expect(p.plan.skipped).toEqual([
      {
        kind: 'listener',
        name: 'tcp/443',
        reason: 'the port is held by a listener swarmup does not own ("company https"); left alone',
      },
    ]);
    expect(p.plan.steps.some((s) => /8080|443/.test(s.name))).toBe(false);
  });

  it('on an adopted SLB removes only the cluster instances from the backends', () => {
    const current = withLb({ lb: { id: 'lb-x', adopted: true }, backends: ['i-1', 'i-2', 'i-3', 'i-other'] });
    const p = planSlb({ cluster: C, desired: [], nodes: [node(1), node(2)], instances: insts3, current });
    expect(p.backends.remove).toEqual(['i-3']);
    const own = planSlb({
      cluster: C,
      desired: [],
      nodes: [node(1), node(2)],
      instances: insts3,
      current: withLb({ backends: ['i-1', 'i-2', 'i-3', 'i-other'] }),
    });
    expect(own.backends.remove).toEqual(['i-3', 'i-other']);
  });

  it('deletes our own SLB once an adopted one replaces it (after the other deletes)', () => {
    const current = withLb({
      lb: { id: 'lb-adopted', adopted: true },
      stale: [{ id: 'lb-ours', adopted: false }],
      listeners: [have(81, ['old'])],
    });
    const p = planSlb({ cluster: C, desired: [listener(80)], nodes: nodes3, instances: insts3, current });
    expect(p.deleteLbs).toEqual(['lb-ours']);
    expect(p.plan.steps.map((s) => `${s.op} ${s.kind} ${s.name} ${s.detail}`.trim()).slice(0, 2)).toEqual([
      'delete listener tcp/81 (old)',
      'delete load-balancer lb-ours (replaced by lb-adopted)',
    ]);
  });

  it('backends are the Ready and Active nodes, matched by private IP, else hostname', () => {
    const nodes = [
      node(1),
      node(2, { active: false }),
      node(3, { ready: false }),
      node(4, { address: '192.168.9.9' }),
      node(5, { hostname: 'stranger', address: '172.31.0.5' }),
    ];
    const instances = [inst(1), inst(2), inst(3), { id: 'i-4', name: 'ali1-node-4', privateIp: '10.0.0.4' }];
    const p = planSlb({ cluster: C, desired: [listener(80)], nodes, instances, current: withLb() });
    expect(p.backends.add).toEqual(['i-1', 'i-4']);
    expect(p.warnings).toEqual([
      'node stranger (172.31.0.5) is not an instance of this cluster; it gets no traffic',
    ]);
  });

  it('warns about host-mode ports that run on fewer nodes than the backends', () => {
    const host: Listener = {
      ...listener(8080, ['api']),
      mode: 'host',
      backends: [{ node: 'ali1-node-1', address: '10.0.0.1' }],
    };
    const p = planSlb({ cluster: C, desired: [host], nodes: nodes3, instances: insts3, current: withLb() });
    expect(p.warnings).toEqual([
      'tcp/8080 (api) is published in host mode on 1 of 3 nodes; the health check keeps traffic off the others (global mode or an ingress port serves on all)',
    ]);
  });

  it('skips SCTP, which SLB does not balance', () => {
    const p = planSlb({
      cluster: C,
      desired: [listener(9, ['s'], 'sctp')],
      nodes: nodes3,
      instances: insts3,
      current: withLb(),
    });
    expect(p.plan.skipped).toEqual([
      { kind: 'listener', name: 'sctp/9', reason: 'SCTP is not supported by SLB' },
    ]);
  });

  it('plans no port rules when the cluster has no security group, and says so', () => {
    const p = planSlb({
      cluster: C,
      desired: [listener(80)],
      nodes: nodes3,
      instances: insts3,
      current: { ...empty(), securityGroupId: undefined },
    });
    expect(p.rules.add).toEqual([]);
    expect(p.warnings.join()).toMatch(/open the published ports/);
  });
});

describe('published-port rules', () => {
  it('merge consecutive ports of a protocol into one range (a group holds at most 200 rules)', () => {
    const ports = [
      ...Array.from({ length: 200 }, (_, i) => ({ protocol: 'tcp' as const, port: 20000 + i })),
      { protocol: 'tcp' as const, port: 80 },
      { protocol: 'udp' as const, port: 53 },
      { protocol: 'udp' as const, port: 54 },
      { protocol: 'tcp' as const, port: 443 },
    ];
    expect(portRules(ports).map(portRuleName)).toEqual(['udp/53-54', 'tcp/80', 'tcp/443', 'tcp/20000-20199']);
    expect(portRules([])).toEqual([]);
  });
});

describe('backend batches', () => {
  it('cuts lists into batches of at most 20', () => {
    const ids = Array.from({ length: 45 }, (_, i) => `i-${i}`);
    const b = batches(ids);
    expect(b.map((x) => x.length)).toEqual([20, 20, 5]);
    expect(b.flat()).toEqual(ids);
    expect(batches([])).toEqual([]);
  });

  it('a plan adding 45 backends applies them as 3 calls', () => {
    const n = Array.from({ length: 45 }, (_, i) => node(i + 1));
    const ins = Array.from({ length: 45 }, (_, i) => inst(i + 1));
    const p = planSlb({ cluster: C, desired: [listener(80)], nodes: n, instances: ins, current: withLb() });
    expect(p.backends.add).toHaveLength(45);
    expect(batches(p.backends.add)).toHaveLength(3);
  });
});
