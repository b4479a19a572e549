import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const hook = join(root, 'test/fixtures/trace-loads.mjs');

/** Module URLs a CLI invocation loads (needs the build: npm run build). */
function loaded(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'swarmup-trace-'));
  const trace = join(dir, 'trace.txt');
  const r = spawnSync(process.execPath, ['--import', hook, join(root, 'bin/swarmup'), ...args], {
    env: { ...process.env, TRACE_FILE: trace, SWARMUP_STORAGE_PATH: join(dir, 'store') },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter(Boolean) : [];
}

const HEAVY = ['@google-cloud', '@alicloud', 'google-gax', 'ssh2', '@peculiar', 'dockerode', 'listr2', 'ajv'];

describe('start-up stays light', () => {
  it.each([
    [['--help']],
    [['ls']],
    [['cluster', '--help']],
    ...['generic', 'docker', 'google', 'aliyunecs', 'virtualbox'].map((d) => [
      ['create', '--driver', d, '--help'],
    ]),
  ])('swarmup %j loads no SDK or heavy library', (args) => {
    const urls = loaded(args);
    expect(urls.length).toBeGreaterThan(5);
    expect(urls.some((u) => u.includes('/dist/src/cli.js'))).toBe(true);
    for (const h of HEAVY)
      expect(
        urls.filter((u) => u.includes(`node_modules/${h}`)),
        h,
      ).toEqual([]);
  });
});

describe('a fresh clone before the build', () => {
  it('bin/swarmup says in one line to run npm run build, instead of a module-not-found stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmup-clone-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(root, 'bin/swarmup'), join(dir, 'bin/swarmup'));
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    const r = spawnSync(process.execPath, [join(dir, 'bin/swarmup'), 'ls'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('swarmup is not built yet: run "npm run build" in the swarmup folder first\n');
  });
});
