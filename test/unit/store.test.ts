import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtemp, readFile, readdir, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/store.js';
import { writeFileAtomic } from '../../src/store/atomic.js';
import { withLock } from '../../src/store/lock.js';
import {
  CONFIG_VERSION,
  defaultAuthOptions,
  emptyEngineOptions,
  type MachineConfig,
} from '../../src/store/machine-config.js';

const cfgFor = (name: string): MachineConfig => ({
  ConfigVersion: CONFIG_VERSION,
  Name: name,
  DriverName: 'generic',
  Driver: { MachineName: name, IPAddress: '10.0.0.1', SSHKeyPath: 'id_ssh' },
  HostOptions: { EngineOptions: emptyEngineOptions(), AuthOptions: defaultAuthOptions(name) },
  CreatedAt: new Date(0).toISOString(),
  Provisioned: true,
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'swarmup-store-'));
});

describe('writeFileAtomic', () => {
  it('writes with the mode asked and leaves no temp file', async () => {
    const p = join(root, 'f.json');
    await writeFileAtomic(p, 'one', 0o600);
    await writeFileAtomic(p, 'two', 0o600);
    expect(await readFile(p, 'utf8')).toBe('two');
    expect((await stat(p)).mode & 0o777).toBe(0o600);
    expect(await readdir(root)).toEqual(['f.json']);
  });

  it('keeps the old content, and leaves no temp file, when a write to the same path fails', async () => {
    const p = join(root, 'f.json');
    await writeFileAtomic(p, 'old');
    // Data the file cannot take: the write fails after the temp file was opened.
    await expect(writeFileAtomic(p, 42 as unknown as string)).rejects.toThrow();
    expect(await readFile(p, 'utf8')).toBe('old');
    expect(await readdir(root)).toEqual(['f.json']);
  });

  it('readers racing a writer never see a torn file', async () => {
    const p = join(root, 'big.json');
    const a = JSON.stringify({ v: 'a'.repeat(200_000) });
    const b = JSON.stringify({ v: 'b'.repeat(200_000) });
    await writeFileAtomic(p, a);
    const writes = (async () => {
      for (let i = 0; i < 30; i++) await writeFileAtomic(p, i % 2 ? a : b);
    })();
    let reads = 0;
    let done = false;
    void writes.then(() => (done = true));
    while (!done) {
      const text = await readFile(p, 'utf8');
      expect(text === a || text === b).toBe(true);
      reads++;
    }
    expect(reads).toBeGreaterThan(0);
  });
});

describe('withLock', () => {
  it('serializes concurrent critical sections', async () => {
    const lock = join(root, '.lock');
    const events: string[] = [];
    const section = (id: string) =>
      withLock(lock, async () => {
        events.push(`in:${id}`);
        await new Promise((r) => setImmediate(r));
        events.push(`out:${id}`);
      });
    await Promise.all([section('a'), section('b'), section('c')]);
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i].slice(3)).toBe(events[i + 1].slice(4));
    }
  });

  it('takes over a lock left by a dead process', async () => {
    const lock = join(root, '.lock');
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    await writeFile(lock, `${pid} ${(await import('node:os')).hostname()}\n`);
    expect(await withLock(lock, async () => 'got it', 2_000)).toBe('got it');
  });

  it('lets exactly one of several processes take over the same dead lock', async () => {
    const lockModule = fileURLToPath(new URL('../../dist/src/store/lock.js', import.meta.url));
    const worker = join(root, 'worker.mjs');
    // Each worker enters the critical section once and marks it with a file only one may hold.
    await writeFile(
      worker,
      `import { withLock } from ${JSON.stringify(lockModule)};
import { open, rm } from 'node:fs/promises';
const [lock, inside] = process.argv.slice(2);
await withLock(lock, async () => {
  const fh = await open(inside, 'wx').catch(() => process.exit(3));
  await fh.close();
  await new Promise((r) => setTimeout(r, 20));
  await rm(inside);
}, 20_000);
`,
    );
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const host = (await import('node:os')).hostname();
    const lock = join(root, '.lock');
    for (let round = 0; round < 8; round++) {
      await writeFile(lock, `${dead.pid} ${host}\n`);
      const codes = await Promise.all(
        Array.from({ length: 4 }, () => {
          const p = spawn(process.execPath, [worker, lock, join(root, 'inside')], { stdio: 'ignore' });
          return new Promise<number | null>((r) => p.on('exit', r));
        }),
      );
      expect(codes, `round ${round}: 3 means two processes held the lock at once`).toEqual([0, 0, 0, 0]);
    }
  });

  it('takes over an empty lock file (its maker was killed before it wrote its line), not a fresh one', async () => {
    const lock = join(root, '.lock');
    await writeFile(lock, '');
    // Just made: its maker may be writing its line right now.
    await expect(withLock(lock, async () => 1, 300)).rejects.toThrow(/locked by another swarmup process/);
    const old = new Date(Date.now() - 6_000);
    await utimes(lock, old, old);
    expect(await withLock(lock, async () => 'got it', 2_000)).toBe('got it');
  });

  it('times out with a clear error while a live process holds it', async () => {
    const lock = join(root, '.lock');
    await writeFile(lock, `${process.pid} ${(await import('node:os')).hostname()}\n`);
    await expect(withLock(lock, async () => 1, 300)).rejects.toThrow(/locked by another swarmup process/);
  });
});

describe('Store', () => {
  it('saves config.json 0600 with store-relative paths and loads it back', async () => {
    const s = new Store(root);
    await s.reserve('m1');
    await s.save(cfgFor('m1'));
    const file = join(root, 'machines', 'm1', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(root);
    const loaded = await s.load('m1');
    expect(loaded.HostOptions.AuthOptions.CaCertPath).toBe('certs/ca.pem');
    expect(await s.list()).toEqual(['m1']);
  });

  it('refuses a second machine of the same name', async () => {
    const s = new Store(root);
    await s.reserve('m1');
    await s.save(cfgFor('m1'));
    await expect(s.reserve('m1')).rejects.toThrow('Docker machine "m1" already exists');
  });

  it('takes over a claim left by a killed create', async () => {
    const s = new Store(root);
    await mkdir(join(root, 'machines', 'm2'), { recursive: true });
    await writeFile(
      join(root, 'machines', 'm2', '.creating'),
      `999999999 ${(await import('node:os')).hostname()}\n`,
    );
    await expect(s.reserve('m2')).resolves.toBeUndefined();
  });

  it('reports a missing machine with the docker-machine message', async () => {
    await expect(new Store(root).load('nope')).rejects.toThrow('Docker machine "nope" does not exist');
  });

  it('names the file when config.json is corrupt', async () => {
    const s = new Store(root);
    await mkdir(s.machineDir('bad'), { recursive: true });
    await writeFile(join(s.machineDir('bad'), 'config.json'), '{"ConfigVersion": 1, "Name": ');
    await expect(s.load('bad')).rejects.toThrow(/config\.json is corrupt/);
    await writeFile(join(s.machineDir('bad'), 'config.json'), '{"ConfigVersion": 1}');
    await expect(s.load('bad')).rejects.toThrow(/corrupt: missing Name/);
    await writeFile(
      join(s.machineDir('bad'), 'config.json'),
      JSON.stringify({ ...cfgFor('bad'), ConfigVersion: 99 }),
    );
    await expect(s.load('bad')).rejects.toThrow(/newer swarmup/);
  });

  it('a machine removed while another command works on it stays removed', async () => {
    const s = new Store(root);
    await s.reserve('m3');
    await s.save(cfgFor('m3'));
    await s.remove('m3');
    await expect(s.save(cfgFor('m3'))).rejects.toThrow(/"m3" was removed while this command was working/);
    expect(await s.list()).toEqual([]);
  });

  it('no machine name reaches outside machines/', async () => {
    const s = new Store(root);
    await expect(s.load('../../etc')).rejects.toThrow(/Invalid machine name "..\/..\/etc"/);
    expect(await s.exists('../x')).toBe(false);
  });

  it('rejects invalid machine names before touching the disk', async () => {
    const s = new Store(root);
    for (const bad of ['', '-x', 'a_b', 'a b', 'x'.repeat(64), 'a/b']) {
      await expect(s.reserve(bad)).rejects.toThrow(/Invalid machine name/);
    }
    expect(await readdir(root)).toEqual([]);
  });
});
