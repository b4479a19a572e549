/**
 * The lab's own fault: an engine that is alive and never answers. Seen once in CI, where every test
 * file after it waited in `lab up` (an unbounded `docker version`) until its hook timed out, and the
 * run outlived its time limit. `lab up` now bounds every check, and restarts a dockerd or containerd
 * that stays silent (stopped here with SIGSTOP, which is what a deadlock looks like from outside):
 * every daemon and container process of the lab goes, the containers are left exited, and a new VM
 * starts at once. The bounds are shortened through LAB_CALL_LIMIT/LAB_WEDGE_WAIT (defaults 20 s/60 s).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { labDocker, labScript, labUp, removeVm, startVm, vmContainer, vmExec } from '../lab/lab.js';
import { eventually } from '../e2e/helpers.js';

const VM = 'wedge-1';
const RUN_DIR = '/run/swarmup-lab';

/** A lock the caller holds around `lab up`, as the suite's helpers do with `flock FILE …`. */
const CALLER_LOCK = '/tmp/swarmup-lab-wedge-test.lock';

/** `lab up` with short bounds, under the caller's lock; resolves with its exit code and output. */
function labUpShort(): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, LAB_CALL_LIMIT: '3', LAB_WEDGE_WAIT: '5' };
    execFile('flock', [CALLER_LOCK, labScript, 'up'], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? -1) : 0, out: stdout + stderr }),
    );
  });
}

/** Files a process holds open. */
const openFiles = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });

const pidOf = (daemon: 'dockerd' | 'containerd') =>
  Number(readFileSync(join(RUN_DIR, `${daemon}.pid`), 'utf8').trim());

/** Pids in the cgroup subtree the lab's containers run in (cgroup v1 pids hierarchy, or v2). */
function containerPids(): number[] {
  const roots = ['/sys/fs/cgroup/pids/swarmup-lab', '/sys/fs/cgroup/swarmup-lab'].filter(existsSync);
  const pids: number[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name === 'cgroup.procs')
        for (const l of readFileSync(join(dir, e.name), 'utf8').split('\n')) if (l) pids.push(Number(l));
    }
  };
  roots.forEach(walk);
  return pids;
}

const alive = (pid: number) => {
  try {
    // a zombie has no cmdline: it is gone for every purpose here
    return readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  await labUp();
});

describe('lab up restarts a lab engine that stopped answering', () => {
  for (const daemon of ['containerd', 'dockerd'] as const) {
    it(`a silent ${daemon}: restarted, the lab's container processes gone, a new VM starts`, async () => {
      await removeVm(VM);
      await startVm(VM, { image: 'node', dockerd: true });
      // its own dockerd runs: a container with an engine nested in it, like the suite's nodes
      await eventually(
        async () => (await vmExec(VM, 'pgrep -x dockerd')).code === 0,
        30_000,
        'nested dockerd',
      );
      const before = containerPids();
      expect(before.length).toBeGreaterThan(1);
      const silent = pidOf(daemon);
      process.kill(silent, 'SIGSTOP');
      try {
        const r = await labUpShort();
        expect(r.code, r.out).toBe(0);
        expect(r.out).toMatch(/the lab engine is wedged/);
        expect(r.out).toMatch(/lab up: ok .*dockerd restarted after a wedge/);
      } finally {
        if (alive(silent)) process.kill(silent, 'SIGCONT');
      }
      expect(alive(silent)).toBe(false);
      expect(pidOf(daemon)).not.toBe(silent);
      // the daemons it started keep no descriptor of the caller's: its lock is free again
      for (const d of ['dockerd', 'containerd'] as const)
        expect(openFiles(pidOf(d))).not.toContain(CALLER_LOCK);
      expect(before.filter(alive)).toEqual([]);
      const st = await labDocker(['inspect', '-f', '{{.State.Status}}', vmContainer(VM)]);
      expect(st.stdout.trim()).toBe('exited');
      // the engine serves again: the VM starts anew and answers
      await removeVm(VM);
      await startVm(VM, { image: 'vm' });
      expect((await vmExec(VM, 'echo ok')).stdout.trim()).toBe('ok');
      await removeVm(VM);
    });
  }

  it('a healthy engine is left alone', async () => {
    const pids = [pidOf('dockerd'), pidOf('containerd')];
    const r = await labUpShort();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/dockerd already running/);
    expect([pidOf('dockerd'), pidOf('containerd')]).toEqual(pids);
  });
});
