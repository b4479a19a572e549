import { describe, it, expect } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadClusterFile,
  mergeSpec,
  parseDuration,
  SAMPLE_CLUSTER_FILE,
  type ClusterSpec,
} from '../../src/cluster/spec.js';
import { memberNames, validateClusterName } from '../../src/cluster/record.js';
import { emptyEngineOptions } from '../../src/store/machine-config.js';
import { laterExpiry } from '../../src/driver/expiry.js';

const defaults = (): ClusterSpec => ({
  name: 'ci',
  driver: 'docker',
  managers: 1,
  workers: 0,
  parallel: 8,
  driverOptions: { 'docker-image': 'docker:dind' },
  engine: emptyEngineOptions(),
  labels: {},
});

async function fileWith(text: string): Promise<string> {
  const p = join(await mkdtemp(join(tmpdir(), 'swarmup-spec-')), 'cluster.yaml');
  await writeFile(p, text);
  return p;
}

describe('cluster file', () => {
  it('the sample from "config init" is valid and maps onto a spec', async () => {
    const f = await loadClusterFile(await fileWith(SAMPLE_CLUSTER_FILE));
    expect(f).toMatchObject({ name: 'ci', driver: 'docker', managers: 3, workers: 2, parallel: 8 });
    expect(f.driverOptions).toEqual({ 'docker-image': 'docker:dind' });
  });

  it('names the first schema problem on one line', async () => {
    const bad = (body: string) => fileWith(`apiVersion: swarmup.io/v1alpha1\nkind: Cluster\n${body}`);
    await expect(loadClusterFile(await bad('spec:\n  managers: two\n'))).rejects.toThrow(
      /spec\.managers must be integer/,
    );
    await expect(loadClusterFile(await bad('spec:\n  workerz: 2\n'))).rejects.toThrow(
      /must NOT have additional properties "workerz"/,
    );
    await expect(loadClusterFile(await bad('metadata:\n  name: Bad_Name\n'))).rejects.toThrow(
      /metadata\.name must match pattern/,
    );
    await expect(loadClusterFile(await fileWith('apiVersion: v2\nkind: Cluster\n'))).rejects.toThrow(
      /apiVersion must be equal to constant "swarmup.io\/v1alpha1"/,
    );
    await expect(loadClusterFile(await fileWith('a: [1,\n'))).rejects.toThrow(/not valid YAML/);
    await expect(loadClusterFile('/nonexistent.yaml')).rejects.toThrow(
      /cannot read \/nonexistent.yaml: it does not exist/,
    );
  });
});

describe('mergeSpec', () => {
  it('flags beat the file, the file beats defaults', () => {
    const s = mergeSpec(
      defaults(),
      { managers: 3, workers: 5, driverOptions: { 'docker-image': 'from-file' }, labels: { a: 'file' } },
      { workers: 2, driverOptions: { 'docker-image': 'from-flag' }, labels: { b: 'flag' } },
    );
    expect(s.managers).toBe(3);
    expect(s.workers).toBe(2);
    expect(s.driverOptions['docker-image']).toBe('from-flag');
    expect(s.labels).toEqual({ a: 'file', b: 'flag' });
  });

  it('keeps the recorded engine options on a re-run; the file and flags override them key by key', () => {
    const recorded = {
      ...emptyEngineOptions(),
      Labels: ['tier=ci'],
      RegistryMirror: ['https://mirror.example'],
      TlsSan: ['ci.example'],
    };
    const again = mergeSpec({ ...defaults(), engine: recorded }, {}, { workers: 3 });
    expect(again.engine).toEqual(recorded);
    const changed = mergeSpec(
      { ...defaults(), engine: recorded },
      { engine: { Labels: ['tier=file'] } },
      { engine: { ...emptyEngineOptions(), RegistryMirror: ['https://other.example'] } },
    );
    expect(changed.engine).toEqual({
      ...recorded,
      Labels: ['tier=file'],
      RegistryMirror: ['https://other.example'],
    });
  });

  it('keeps manager counts odd and refuses nonsense', () => {
    expect(() => mergeSpec(defaults(), {}, { managers: 2 })).toThrow(/odd number of managers/);
    expect(() => mergeSpec(defaults(), {}, { managers: 0 })).toThrow(/at least one manager/);
    expect(() => mergeSpec({ ...defaults(), driver: '' }, {}, {})).toThrow(/--driver is required/);
    expect(() => mergeSpec(defaults(), {}, { ttl: '2 hours' })).toThrow(/invalid --ttl/);
    expect(() => mergeSpec(defaults(), {}, { parallel: 0 })).toThrow(/--parallel 0: give at least 1/);
  });
});

describe('expiry from labels', () => {
  it("takes the latest valid expiry among a cluster's resources", () => {
    const early = '2026-01-01T00:00:00.000Z';
    const late = '2026-02-01T00:00:00.000Z';
    expect([early, late, undefined].reduce(laterExpiry, undefined)).toBe(late);
    expect([late, early].reduce(laterExpiry, undefined)).toBe(late);
    expect(laterExpiry(early, 'not a date')).toBe(early);
    expect(laterExpiry(undefined, undefined)).toBeUndefined();
  });
});

describe('names and durations', () => {
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(() => parseDuration('5')).toThrow(/invalid duration/);
    expect(() => parseDuration('5mx')).toThrow(/invalid duration/);
  });

  it('names members managers first and validates cluster names', () => {
    expect(memberNames('ci', 3, 2).map((m) => `${m.name}:${m.role}`)).toEqual([
      'ci-manager-1:manager',
      'ci-manager-2:manager',
      'ci-manager-3:manager',
      'ci-worker-1:worker',
      'ci-worker-2:worker',
    ]);
    expect(() => validateClusterName('CI')).toThrow(/Invalid cluster name/);
    expect(() => validateClusterName('a'.repeat(41))).toThrow(/Invalid cluster name/);
    expect(() => validateClusterName('ci-1')).not.toThrow();
  });
});
