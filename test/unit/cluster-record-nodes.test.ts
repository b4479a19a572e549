import { describe, it, expect } from 'vitest';
import {
  recordNodeIds,
  recordedIds,
  remadeSinceRecorded,
  type ClusterRecord,
} from '../../src/cluster/record.js';

const base = (): ClusterRecord => ({
  ConfigVersion: 1,
  Name: 'c',
  Driver: 'docker',
  DriverOptions: {},
  Managers: 1,
  Workers: 0,
  Parallel: 8,
  Engine: { ArbitraryFlags: [], Env: [], InsecureRegistry: [], Labels: [], RegistryMirror: [], TlsSan: [] },
  Labels: {},
  CreatedAt: '2026-01-01T00:00:00Z',
});

describe('node IDs in the cluster record', () => {
  it('keeps each machine’s IDs newest first, a few of them, and says when something changed', () => {
    const rec = base();
    expect(recordNodeIds(rec, { m1: 'a' }, { m1: 't1' })).toBe(true);
    expect(recordNodeIds(rec, { m1: 'a' }, { m1: 't1' })).toBe(false);
    for (const id of ['b', 'c', 'd', 'e']) recordNodeIds(rec, { m1: id }, { m1: 't2' });
    expect(recordedIds(rec, 'm1')).toEqual(['e', 'd', 'c', 'b']);
    expect(recordNodeIds(rec, { m1: 'c' }, { m1: 't2' })).toBe(true);
    expect(recordedIds(rec, 'm1')).toEqual(['c', 'e', 'd', 'b']);
    expect(recordedIds(rec, 'nope')).toEqual([]);
    expect(recordedIds(undefined, 'm1')).toEqual([]);
  });

  it('tells a machine made again since its node was recorded', () => {
    const rec = base();
    recordNodeIds(rec, { m1: 'a' }, { m1: 't1' });
    expect(remadeSinceRecorded(rec, 'm1', 't1')).toBe(false);
    expect(remadeSinceRecorded(rec, 'm1', 't2')).toBe(true);
    expect(remadeSinceRecorded(rec, 'm2', 't2')).toBe(false);
  });
});
