/**
 * Helpers for tests that run swarmup's virtualbox driver against the VBoxManage simulator: build it, an
 * environment that puts it on PATH, its call log, its state, and a cleanup that leaves nothing behind.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDocker } from '../lab/lab.js';
import { homeTag, readState, type SimState } from './state.js';

export const simDir = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ stdout, stderr, code: code ?? 255 }));
  });
}

/** Check that `npm run build` compiled the simulator, and clear what killed runs left behind. */
export async function buildSimulator(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'test', 'vbox-sim', 'cli.js'))) {
    throw new Error('the VBoxManage simulator is not built: run npm run build first');
  }
  await removeStaleSimHomes();
}

/** Make a simulator home owned by this process: once the process is gone, the home counts as stale. */
export async function makeSimHome(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, OWNER), `${process.pid}\n`);
  return dir;
}

/** Environment that makes `VBoxManage` the simulator with state in `home`. */
export function simEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${simDir}:${process.env.PATH ?? ''}`, VBOXSIM_HOME: home, ...extra };
}

/** Run the simulated VBoxManage as the test (these calls are left out of `calls()`). */
export function vbox(home: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  return run(join(simDir, 'VBoxManage'), args, {
    ...process.env,
    ...simEnv(home, { VBOXSIM_CALLER: 'test', ...extra }),
  });
}

export interface Call {
  argv: string[];
  exit: number;
  caller?: string;
}

/** Every VBoxManage invocation so far by anyone but the test itself, in order. */
export function calls(home: string): Call[] {
  const file = join(home, 'calls.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Call)
    .filter((c) => c.caller !== 'test');
}

export const simState = (home: string): SimState => readState(home);

function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, (_err, stdout) => resolve(stdout ?? '')));
}

/** Lab VMs (containers) that back this simulator's VMs. */
export async function simGuests(home: string): Promise<string[]> {
  const r = await labDocker([
    'ps',
    '-a',
    '--format',
    '{{.Names}}',
    '--filter',
    `name=swarmup-lab-vbs${homeTag(home)}-`,
  ]);
  return r.stdout.split('\n').filter(Boolean);
}

/** Host interfaces (bridges, veths) this simulator made. */
export async function simLinks(home: string): Promise<string[]> {
  const out = await sh('ip', ['-o', 'link', 'show']);
  const tag = `vbs${homeTag(home)}`;
  return [...out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]).filter((n) => n.startsWith(tag));
}

/** True while some process listens on 127.0.0.1:port (a NAT port forward of a running VM). */
export async function listening(port: number): Promise<boolean> {
  const out = await sh('ss', ['-Htln', `sport = :${port}`]);
  return out.trim() !== '';
}

const OWNER = 'owner.pid';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Whether a simulator home is still in use: its directory exists and its owner (the test process that
 * made it) runs, or, for a home made by hand, one of its VM processes runs.
 */
function homeInUse(home: string): boolean {
  if (!existsSync(home)) return false;
  const owner = join(home, OWNER);
  if (existsSync(owner)) return alive(Number(readFileSync(owner, 'utf8').trim()));
  return readState(home).vms.some((vm) => vm.session?.pid !== undefined && alive(vm.session.pid));
}

/**
 * Clear what simulator homes no longer in use left on the host (a test run that was killed, or a
 * session that ended under it): their VM processes, guest containers, bridges and veths. Such a bridge
 * keeps its host-only network's address and route after its last port is gone, and the next run's
 * network would be routed to it. Returns the homes cleared.
 */
export async function removeStaleSimHomes(): Promise<string[]> {
  const out = await sh('ip', ['-o', 'link', 'show']);
  const homes = new Set([...out.matchAll(/\balias vboxsim:(\S+)/g)].map((m) => m[1]));
  const stale = [...homes].filter((h) => !homeInUse(h));
  for (const h of stale) await cleanupSim(h);
  return stale;
}

/** Kill every VM process, remove every guest container and host interface of this simulator home. */
export async function cleanupSim(home: string): Promise<void> {
  for (const vm of readState(home).vms) {
    const pid = vm.session?.pid;
    if (pid === undefined) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (cmdline.includes('vm-process')) process.kill(-pid, 'SIGKILL'); // not a reused pid
  }
  const guests = await simGuests(home);
  if (guests.length) await labDocker(['rm', '-f', '-v', ...guests]);
  for (const l of await simLinks(home)) await sh('ip', ['link', 'del', l]);
}
