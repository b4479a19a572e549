// Thin TypeScript wrapper around test/lab/lab (the bash script owns all the logic).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the lab bash script: beside this file in the source tree, or there when run from dist/. */
export const labScript = [
  new URL('./lab', import.meta.url),
  new URL('../../../test/lab/lab', import.meta.url),
]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p))!;
/** Socket of the lab's private dockerd. */
export const labSocket = '/run/swarmup-lab/docker.sock';
/** DOCKER_HOST value for the lab's private dockerd. */
export const labDockerHost = `unix://${labSocket}`;
/** Docker network every lab VM is attached to (subnet 172.29.0.0/16, gateway = the host). */
export const labNetwork = 'swarmup-lab';
export const labImages = {
  /** Debian bookworm "cloud VM": sshd, no Docker. */
  vm: 'swarmup-lab/vm:bookworm',
  /** vm + docker.io installed (not started unless LAB_DOCKERD=1). */
  node: 'swarmup-lab/node:bookworm',
  /** vm with systemd as PID 1 (ssh.service; no Docker): a cloud VM as most are. */
  vmSystemd: 'swarmup-lab/vm-systemd:bookworm',
  /** busybox httpd on :80 serving "swarmup-lab httpd OK" (and /cgi-bin/host -> hostname). */
  httpd: 'swarmup-lab/httpd:latest',
  /** vm + Debian's haproxy; CMD `haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg` like the official image. */
  haproxy: 'swarmup-lab/haproxy:bookworm',
} as const;

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface StartVmOptions {
  image?: 'vm' | 'node' | 'vm-systemd';
  /** Public key text (one or more lines) installed for root (and `user`). */
  authorizedKey?: string;
  /** Extra user with passwordless sudo and the same authorized keys. */
  user?: string;
  /** The VM's hostname (default: its name); several VMs may share one. */
  hostname?: string;
  /** Start the image's dockerd at boot (the node image): a host whose own Docker already runs. */
  dockerd?: boolean;
}

function vmArgs(opts: StartVmOptions): string[] {
  const args = ['--image', opts.image ?? 'vm'];
  if (opts.authorizedKey !== undefined) args.push('--authorized-key', '-');
  if (opts.user !== undefined) args.push('--user', opts.user);
  if (opts.hostname !== undefined) args.push('--hostname', opts.hostname);
  if (opts.dockerd) args.push('--dockerd');
  return args;
}

/**
 * Every call is bounded: a lab engine that stops answering makes the call fail with a line that says
 * so, instead of holding the test (and each later test file's `lab up`) until vitest's hook timeout.
 */
const CALL_LIMIT_MS = 300_000;
/** `lab up` may build the images on a fresh machine (a few minutes). */
const UP_LIMIT_MS = 1_800_000;
/** Removing or stopping a container takes seconds (`stop -t 10` at most ten more). */
const REMOVE_LIMIT_MS = 120_000;
const removal = (args: string[]) =>
  ['rm', 'stop', 'kill'].includes(args[0]) || args.slice(0, 2).join(' ') === 'vm rm';

function run(
  file: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  input?: string,
  limitMs = CALL_LIMIT_MS,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const opts = { env, maxBuffer: 256 * 1024 * 1024, timeout: limitMs, killSignal: 'SIGKILL' as const };
    const child = execFile(file, args, opts, (err, stdout, stderr) => {
      if (err && err.killed && err.signal === 'SIGKILL') {
        const what = [file, ...args].join(' ').slice(0, 200);
        reject(new Error(`${what} did not finish within ${limitMs / 1000} s (is the lab engine wedged?)`));
        return;
      }
      if (err && typeof err.code !== 'number') {
        reject(err); // could not spawn, killed by a signal, or output too large
        return;
      }
      resolve({ stdout, stderr, code: err ? (err.code as number) : 0 });
    });
    // docker may exit before it reads its input (EPIPE): its exit code says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** Run test/lab/lab with arguments; rejects with the script's last lines on failure. */
export async function lab(args: string[], input?: string): Promise<string> {
  const r = await run(
    labScript,
    args,
    process.env,
    input,
    args[0] === 'up' ? UP_LIMIT_MS : removal(args) ? REMOVE_LIMIT_MS : CALL_LIMIT_MS,
  );
  if (r.code !== 0) {
    const msg = r.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(`test/lab/lab ${args.join(' ')} failed (exit ${r.code}): ${msg}`);
  }
  return r.stdout;
}

/** Name of the docker container backing a lab VM. */
export const vmContainer = (name: string): string => `swarmup-lab-${name}`;

/** Start the private dockerd, network and images (idempotent; fast when cached). */
export async function labUp(): Promise<void> {
  const out = await lab(['up']);
  // A recovered engine is worth a line in the test output (test/lab/lab prints why on its stderr).
  if (out.includes('restarted after a wedge')) console.warn(out.trim());
}

/** Start a VM container and wait until its sshd answers. */
export async function startVm(
  name: string,
  opts: StartVmOptions = {},
): Promise<{ name: string; ip: string }> {
  const ip = (await lab(['vm', 'start', name, ...vmArgs(opts)], opts.authorizedKey)).trim();
  return { name, ip };
}

/**
 * Make a VM without starting it (`docker create` with a fixed address from 172.29.192.0/18, or `ip`):
 * it answers nothing until `docker start`; its address and disk stay across stop/start.
 */
export async function createVm(
  name: string,
  opts: StartVmOptions & { ip?: string } = {},
): Promise<{ name: string; ip: string }> {
  const args = ['vm', 'create', name, ...vmArgs(opts)];
  if (opts.ip !== undefined) args.push('--ip', opts.ip);
  const ip = (await lab(args, opts.authorizedKey)).trim();
  return { name, ip };
}

/** Force-remove a VM and its anonymous volumes (no error if it does not exist). */
export async function removeVm(name: string): Promise<void> {
  await lab(['vm', 'rm', name]);
}

/** Run the docker CLI against the lab engine. Never rejects on a non-zero exit code. */
export function labDocker(
  args: string[],
  limitMs = removal(args) ? REMOVE_LIMIT_MS : CALL_LIMIT_MS,
): Promise<ExecResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: labDockerHost };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  return run('docker', args, env, undefined, limitMs);
}

/** Run a shell command (bash -lc) inside a lab VM as root. */
export function vmExec(name: string, cmd: string): Promise<ExecResult> {
  return labDocker(['exec', vmContainer(name), 'bash', '-lc', cmd]);
}
