import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSupervisor } from '../../src/provision/engine-control.js';

describe("finding dockerd's supervisor from its pid file", () => {
  const procs: ChildProcess[] = [];
  let dir = '';
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('a reused pid running a shell whose script mentions the supervisor is not it; the supervisor is', async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmup-sup-'));
    const sup = join(dir, 'swarmup-dockerd-supervise');
    const pidFile = join(dir, 'sup.pid');
    await writeFile(sup, '#!/bin/sh\nsleep 60\n');
    await chmod(sup, 0o755);
    // After a container restart the old pid may be that of `sudo sh -c <the relaunch script>`.
    const impostor = spawn('sh', ['-c', `sleep 60; : SUP=${sup}`], { stdio: 'ignore' });
    // Or, pids being handed out again in the same order, the check's own `grep -qxF SUP` (CI saw
    // this: the supervisor was taken for running and dockerd never came back after a restart).
    const lastArg = spawn('tail', ['-f', sup], { stdio: 'ignore' });
    const shellArg = spawn('sh', ['-c', 'sleep 60', 'x', sup], { stdio: 'ignore' });
    const real = spawn(sup, [], { stdio: 'ignore' });
    procs.push(impostor, lastArg, shellArg, real);
    const found = async (pid: number) => {
      await writeFile(pidFile, `${pid}\n`);
      return execFileSync('sh', ['-c', `${findSupervisor(pidFile, sup)}\necho "$sup"`], {
        encoding: 'utf8',
      }).trim();
    };
    expect(await found(impostor.pid!)).toBe('');
    expect(await found(lastArg.pid!)).toBe('');
    expect(await found(shellArg.pid!)).toBe('');
    expect(await found(real.pid!)).toBe(String(real.pid));
    expect(await found(2 ** 22 + 1)).toBe(''); // no such process
  });
});
