import { describe, it, expect } from 'vitest';
import { assignHosts, fitCounts, hostFlags, hostsFromFlags, type HostSpec } from '../../src/cluster/hosts.js';
import { genericPlugin } from '../../drivers/generic/plugin.js';

const inv = genericPlugin.inventory!;
const base = { 'generic-ssh-user': 'root', 'generic-ssh-port': 22, 'generic-ssh-key': '/k' };

describe('host inventory from repeated flags', () => {
  it('gives the N-th address to the N-th host, a single user or port to every host', () => {
    const r = hostsFromFlags(inv, {
      ...base,
      'generic-ip-address': ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      'generic-ssh-user': ['deploy'],
      'generic-ssh-port': ['2222', '22', '2200'],
    });
    expect(r.hosts).toEqual([
      { address: '10.0.0.1', port: 2222 },
      { address: '10.0.0.2', port: 22 },
      { address: '10.0.0.3', port: 2200 },
    ]);
    expect(r.rest).toEqual({ 'generic-ssh-user': 'deploy', 'generic-ssh-key': '/k' });
  });

  it('takes internal addresses one per host, and a single address as one host', () => {
    const r = hostsFromFlags(inv, {
      ...base,
      'generic-ip-address': ['203.0.113.1', '203.0.113.2'],
      'generic-internal-ip': ['10.1.0.1', '10.1.0.2'],
    });
    expect(r.hosts).toEqual([
      { address: '203.0.113.1', internalAddress: '10.1.0.1' },
      { address: '203.0.113.2', internalAddress: '10.1.0.2' },
    ]);
    expect(hostsFromFlags(inv, { ...base, 'generic-ip-address': '10.0.0.9' }).hosts).toEqual([
      { address: '10.0.0.9' },
    ]);
    expect(hostsFromFlags(inv, { ...base }).hosts).toBeUndefined();
  });

  it('refuses counts that do not fit, and bad ports', () => {
    const two = { ...base, 'generic-ip-address': ['a', 'b'] };
    expect(() => hostsFromFlags(inv, { ...two, 'generic-ssh-user': ['x', 'y', 'z'] })).toThrow(
      '--generic-ssh-user is given 3 times for 2 hosts: give it once (for every host) or once per --generic-ip-address',
    );
    expect(() => hostsFromFlags(inv, { ...two, 'generic-internal-ip': ['10.0.0.1'] })).toThrow(
      '--generic-internal-ip is given 1 times for 2 hosts: give it once per --generic-ip-address',
    );
    expect(() => hostsFromFlags(inv, { ...two, 'generic-ssh-port': ['99999'] })).toThrow(
      'invalid --generic-ssh-port 99999: expected 1 to 65535',
    );
  });

  it('makes a machine’s flags from the cluster’s and the host’s own', () => {
    expect(
      hostFlags(inv, base, { address: 'h', user: 'u', port: 2, key: '/other', internalAddress: '10.0.0.1' }),
    ).toEqual({
      'generic-ip-address': 'h',
      'generic-ssh-user': 'u',
      'generic-ssh-port': 2,
      'generic-ssh-key': '/other',
      'generic-internal-ip': '10.0.0.1',
    });
    expect(hostFlags(inv, base, { address: 'h' })).toMatchObject({
      'generic-ssh-user': 'root',
      'generic-ssh-key': '/k',
    });
  });
});

const hosts = (...addrs: string[]): HostSpec[] => addrs.map((address) => ({ address }));
const given = { managers: false, workers: false };

describe('fitting machine counts to the hosts', () => {
  it('makes the other hosts workers, unless counts are given that the hosts cannot fill', () => {
    expect(fitCounts(inv, hosts('a', 'b', 'c'), { managers: 1, workers: 0 }, given)).toEqual({
      managers: 1,
      workers: 2,
    });
    expect(
      fitCounts(
        inv,
        [
          { address: 'a', role: 'manager' },
          { address: 'b', role: 'manager' },
          { address: 'c', role: 'manager' },
        ],
        { managers: 1, workers: 0 },
        given,
      ),
    ).toEqual({ managers: 3, workers: 0 });
    expect(() =>
      fitCounts(inv, hosts('a'), { managers: 1, workers: 2 }, { managers: true, workers: true }),
    ).toThrow(
      '3 machines (1 manager, 2 workers) but 1 host: give --generic-ip-address once per machine (managers first), or spec.hosts in the cluster file',
    );
    expect(() =>
      fitCounts(inv, hosts('a', 'b', 'c'), { managers: 1, workers: 1 }, { managers: true, workers: true }),
    ).toThrow(/^3 hosts but 2 machines/);
    expect(() =>
      fitCounts(inv, hosts('a'), { managers: 3, workers: 0 }, { managers: true, workers: false }),
    ).toThrow(/^3 machines \(3 managers, 0 workers\) but 1 host/);
  });
});

describe('which machine each host is', () => {
  const assign = (
    hs: HostSpec[],
    managers: number,
    existing: { name: string; role: 'manager' | 'worker'; key: string }[] = [],
  ) => assignHosts('byo', inv, base, hs, managers, existing);
  const names = (a: ReturnType<typeof assign>) => a.desired.map((d) => `${d.name}=${d.host.address}`);

  it('first M hosts are managers, the rest workers, managers first', () => {
    expect(names(assign(hosts('a', 'b', 'c'), 1))).toEqual([
      'byo-manager-1=a',
      'byo-worker-1=b',
      'byo-worker-2=c',
    ]);
    expect(names(assign([{ address: 'a' }, { address: 'b', role: 'manager' }, { address: 'c' }], 1))).toEqual(
      ['byo-manager-1=b', 'byo-worker-1=a', 'byo-worker-2=c'],
    );
  });

  it('keeps every host on its machine when hosts are added, removed or reordered', () => {
    const existing = [
      { name: 'byo-manager-1', role: 'manager' as const, key: 'a:22' },
      { name: 'byo-worker-1', role: 'worker' as const, key: 'b:22' },
      { name: 'byo-worker-2', role: 'worker' as const, key: 'c:22' },
    ];
    const longer = assign(hosts('d', 'a', 'c', 'b'), 1, existing);
    expect(names(longer)).toEqual(['byo-manager-1=a', 'byo-worker-3=d', 'byo-worker-2=c', 'byo-worker-1=b']);
    expect(longer.removed).toEqual([]);
    const shorter = assign(hosts('a', 'c'), 1, existing);
    expect(names(shorter)).toEqual(['byo-manager-1=a', 'byo-worker-2=c']);
    expect(shorter.removed).toEqual(['byo-worker-1']);
    // A new host never takes the name of a machine being removed in the same run.
    expect(names(assign(hosts('a', 'c', 'e'), 1, existing))).toEqual([
      'byo-manager-1=a',
      'byo-worker-2=c',
      'byo-worker-3=e',
    ]);
  });

  it('refuses duplicate hosts and role changes in place', () => {
    expect(() => assign(hosts('a', 'b', 'a'), 1)).toThrow(
      'host a is listed twice (hosts 1 and 3): each machine needs a host of its own',
    );
    // The same address on another SSH port is another host.
    expect(names(assign([{ address: 'a' }, { address: 'a', port: 2222 }], 1))).toEqual([
      'byo-manager-1=a',
      'byo-worker-1=a',
    ]);
    const existing = [{ name: 'byo-worker-1', role: 'worker' as const, key: 'b:22' }];
    expect(() =>
      assign(
        [
          { address: 'a', role: 'manager' },
          { address: 'b', role: 'manager' },
        ],
        1,
        existing,
      ),
    ).toThrow(/^host b is the worker byo-worker-1: a host cannot change role in place/);
    expect(() => assign(hosts('b'), 1, existing)).toThrow(/^the listed hosts make 0 manager\(s\), not 1/);
  });
});
