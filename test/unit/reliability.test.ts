import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidName, validateName } from '../../src/store/names.js';
import { ensureDir, resolveInside } from '../../src/store/paths.js';
import { acquireLock } from '../../src/store/lock.js';
import { parseOwner } from '../../src/store/owner.js';
import { checkLabels, checkNodeCounts, maxNodesFrom } from '../../src/cluster/bounds.js';
import { lockCluster } from '../../src/cluster/cluster-lock.js';
import { Store } from '../../src/store/store.js';
import { UserError } from '../../src/errors.js';

describe('one name validator', () => {
  it('machine names are RFC 1123 host names of at most 63 characters', () => {
    for (const ok of ['a', 'web-1', 'a.b.c', 'A9', 'x'.repeat(63)])
      expect(isValidName('machine', ok), ok).toBe(true);
    for (const bad of ['', 'h4x..y', '.a', 'a.', '-a', 'a-', 'a.-b', 'a_b', 'a/b', '..', 'x'.repeat(64), 'ü'])
      expect(isValidName('machine', bad), bad).toBe(false);
  });
  it('cluster names are one lowercase label of at most 40', () => {
    for (const bad of ['(', '../x', 'A', 'a.b', 'x'.repeat(41), '', 'a\nb'])
      expect(() => validateName('cluster', bad)).toThrow(/^Invalid cluster name/);
    expect(validateName('cluster', 'ci-1')).toBe('ci-1');
  });
  it('shows a hostile name escaped and shortened, on one line', () => {
    expect(() => validateName('machine', `a\n${'b'.repeat(500)}`)).toThrow(
      /^Invalid machine name "a\\nb{78}…"/,
    );
  });
});

describe('paths from the store', () => {
  it('resolve inside the base or are refused naming the file and field', () => {
    expect(resolveInside('/s', 'machines/a/server.pem', 'X', 'f')).toBe('/s/machines/a/server.pem');
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '.', '', 'a\0b'])
      expect(() => resolveInside('/s', bad, 'AuthOptions.ServerCertPath', '/s/f.json'), bad).toThrow(
        UserError,
      );
  });
  it('ensureDir under /proc fails at once instead of hanging', async () => {
    await expect(ensureDir('/proc/self/swarmup-unit/x')).rejects.toThrow(
      /cannot create \/proc\/self\/swarmup-unit/,
    );
  });
  it('ensureDir below a file names the file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'swarmup-unit-'));
    await writeFile(join(d, 'f'), '');
    await expect(ensureDir(join(d, 'f', 'x'))).rejects.toThrow(
      /a part of its path is a file|is a file, not a directory/,
    );
  });
});

describe('locks', () => {
  it('a held lock fails at once with the holder; a dead one is taken over', async () => {
    const d = await mkdtemp(join(tmpdir(), 'swarmup-unit-'));
    const store = new Store(d);
    const release = await lockCluster(store, 'c1', { what: 'cluster up' });
    await expect(lockCluster(store, 'c1', { what: 'cluster down' })).rejects.toThrow(
      new RegExp(
        `^cluster "c1" is being changed by pid ${process.pid} on ${hostname()} \\(cluster up\\): wait for it to finish, or pass --wait-lock$`,
      ),
    );
    await release();
    await writeFile(join(d, 'clusters', 'c1.lock'), `4194303 ${hostname()} cluster up\n`);
    const again = await lockCluster(store, 'c1', { what: 'cluster up' });
    await again();
  });
  it('waits for a live holder when asked', async () => {
    const d = await mkdtemp(join(tmpdir(), 'swarmup-unit-'));
    const path = join(d, 'l');
    const first = await acquireLock(path, { waitMs: 0, busy: () => new UserError('busy') });
    const waited: string[] = [];
    const second = acquireLock(path, {
      waitMs: 5_000,
      busy: () => new UserError('busy'),
      onWait: (h) => waited.push(String(h?.pid)),
    });
    setTimeout(() => void first(), 50);
    await (
      await second
    )();
    expect(waited).toEqual([String(process.pid)]);
  });
  it('owner lines parse with or without what', () => {
    expect(parseOwner('12 host cluster up\n')).toEqual({ pid: 12, host: 'host', what: 'cluster up' });
    expect(parseOwner('12 host')).toEqual({ pid: 12, host: 'host', what: '' });
    expect(parseOwner('garbage')).toBeUndefined();
  });
});

describe('bounds', () => {
  it('node counts', () => {
    expect(() => checkNodeCounts(1, 100000, 100)).toThrow(/100001 nodes is more than the limit of 100/);
    expect(() => checkNodeCounts(9, 0, 100)).toThrow(/at most 7/);
    expect(() => checkNodeCounts(3, 200, 300)).not.toThrow();
    expect(maxNodesFrom(undefined, '250')).toBe(250);
    expect(() => maxNodesFrom(undefined, 'x')).toThrow(/SWARMUP_MAX_NODES/);
  });
  it('labels', () => {
    expect(() => checkLabels('cluster', { k: 'v'.repeat(2000) })).toThrow(/too long/);
    expect(() =>
      checkLabels(
        'engine',
        Array.from({ length: 65 }, (_, i) => `k${i}=v`),
      ),
    ).toThrow(/65 engine labels/);
  });
});

describe('the store lists interrupted creates', () => {
  it('a claim of a dead process, with no config, is interrupted; a live one is not', async () => {
    const d = await mkdtemp(join(tmpdir(), 'swarmup-unit-'));
    await mkdir(join(d, 'machines', 'dead'), { recursive: true });
    await writeFile(join(d, 'machines', 'dead', '.creating'), `4194303 ${hostname()} create\n`);
    await mkdir(join(d, 'machines', 'live'), { recursive: true });
    await writeFile(join(d, 'machines', 'live', '.creating'), `${process.pid} ${hostname()} create\n`);
    const s = new Store(d);
    expect(await s.interrupted()).toEqual(['dead']);
    expect(await s.list()).toEqual([]);
    await s.remove('dead');
    expect(await s.interrupted()).toEqual([]);
  });
});
