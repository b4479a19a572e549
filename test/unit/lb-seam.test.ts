import { describe, expect, it } from 'vitest';
import { summarizeHealthTasks } from '../../src/lb/gce/health.js';
import { helperFailure, helperHopeless } from '../../src/lb/reconcile.js';
import { mapNodes } from '../../src/lb/manager.js';
import { LB_OF_DRIVER, providerFor } from '../../src/lb/backends.js';
import { drivers } from '../../src/driver/registry.js';
import type { Machine } from '../../src/machine/machine.js';

const task = (
  node: string,
  state: string,
  err?: string,
  at = '2026-01-01T00:00:00Z',
  image = 'busybox:1.36',
) => ({
  NodeID: node,
  DesiredState: state === 'running' ? 'running' : 'shutdown',
  CreatedAt: at,
  Status: { State: state, ...(err ? { Err: err } : {}) },
  Spec: { ContainerSpec: { Image: `${image}@sha256:${'a'.repeat(64)}` } },
});

describe('health service tasks (GCE)', () => {
  it('every node rejected for a missing image: one line with the reason and what to do; hopeless', () => {
    const err = 'No such image: busybox:1.36';
    const h = summarizeHealthTasks(
      ['n1', 'n2', 'n3'].flatMap((n) => [
        task(n, 'rejected', err),
        { ...task(n, 'pending', undefined, '2026-01-01T00:00:05Z'), DesiredState: 'running' },
      ]),
      'busybox:1.36',
    );
    expect(h).toMatchObject({ running: 0, starting: 0, failed: 3, failedState: 'rejected', errors: [err] });
    expect(helperHopeless(h)).toBe(true);
    expect(helperFailure(h)).toBe(
      'health service: 3 tasks rejected: No such image: busybox:1.36 — set SWARMUP_LB_HEALTH_IMAGE or load the image',
    );
  });

  it('a node that runs one is healthy; nodes on their way are starting; not hopeless', () => {
    const h = summarizeHealthTasks(
      [
        task('n1', 'running'),
        task('n2', 'rejected', 'No such image: x'),
        { ...task('n3', 'preparing'), DesiredState: 'running' },
      ],
      'busybox:1.36',
    );
    expect(h).toMatchObject({ running: 1, starting: 1, failed: 1 });
    expect(helperHopeless(h)).toBe(false);
  });

  it("tasks of the service's earlier image do not count", () => {
    const h = summarizeHealthTasks(
      [
        task('n1', 'rejected', 'No such image: busybox:1.36'),
        {
          ...task('n1', 'starting', undefined, '2026-01-01T00:01:00Z', 'lab/httpd'),
          DesiredState: 'running',
        },
      ],
      'lab/httpd',
    );
    expect(h).toMatchObject({ running: 0, starting: 1, failed: 0 });
    expect(helperHopeless(h)).toBe(false);
  });
});

/** A stored machine as mapNodes sees it (no engine: node IDs cannot be asked). */
const machine = (name: string, ip: string): Machine =>
  ({
    cfg: { Name: name, DriverName: 'google', Driver: { MachineName: name, InternalIPAddress: ip } },
    driver: { getInternalIP: async () => ip, getIP: async () => `34.0.0.${ip.split('.')[3]}` },
  }) as unknown as Machine;

describe('--manager: swarm nodes → stored machines', () => {
  it('maps by the swarm address, never by hostname (hosts keep their own, even duplicates)', async () => {
    const machines = [machine('swarm-manager', '10.0.0.2'), machine('swarm-worker-1', '10.0.0.3')];
    const nodes = [
      { ID: 'a', Description: { Hostname: 'ubuntu' }, Status: { Addr: '10.0.0.3' } },
      {
        ID: 'b',
        Description: { Hostname: 'swarm-worker-1' },
        Status: { Addr: '0.0.0.0' },
        ManagerStatus: { Addr: '10.0.0.2:2377' },
      },
      { ID: 'c', Description: { Hostname: 'swarm-manager' }, Status: { Addr: '10.0.0.9' } },
    ];
    const m = await mapNodes(nodes, machines);
    expect(m.byNode.get('a')?.cfg.Name).toBe('swarm-worker-1');
    expect(m.byNode.get('b')?.cfg.Name).toBe('swarm-manager');
    expect(m.byNode.has('c')).toBe(false);
    expect(m.unknown).toEqual(['swarm-manager']);
  });
});

describe('the driver → load balancer table', () => {
  it('covers every driver, and nothing else', () => {
    expect(Object.keys(LB_OF_DRIVER).sort()).toEqual(drivers.map((d) => d.name).sort());
    expect(providerFor('generic')).toBe('local');
    expect(providerFor('virtualbox')).toBe('local');
    expect(providerFor('google')).toBe('gce');
    expect(providerFor('aliyunecs')).toBe('slb');
    expect(() => providerFor('nope')).toThrow(/has no load balancer/);
  });
});
