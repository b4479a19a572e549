import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { SshTarget } from '../driver/contract.js';
import { UserError, hostNotRunning } from '../errors.js';
import { loadMachine } from '../machine/machine.js';
import { loadPrivateKey } from '../ssh/keys.js';
import { SshTransport } from '../ssh/transport.js';
import { nameOr, storeOf } from './common.js';

function targetOf(m: Awaited<ReturnType<typeof loadMachine>>): SshTarget {
  if (!m.driver.sshTarget) {
    throw new UserError(
      `the ${m.cfg.DriverName} driver has no SSH access; run a command with: swarmup ssh NAME -- CMD`,
    );
  }
  return m.driver.sshTarget();
}

/** OpenSSH options that use the store's key and pinned host key, never the user's known_hosts. */
function sshOptions(t: SshTarget): string[] {
  return [
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${t.knownHostsPath}`,
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
    '-i',
    t.keyPath,
  ];
}

function spawnWait(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'inherit' });
    p.on('error', (err) =>
      reject(
        new UserError(
          `cannot run ${cmd}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : err.message}`,
        ),
      ),
    );
    p.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function ssh(
  name: string | undefined,
  command: string[],
  _o: unknown,
  cmd: Command,
): Promise<void> {
  const m = await loadMachine(storeOf(cmd), nameOr(name));
  if ((await m.driver.getState()) !== 'Running') throw hostNotRunning();
  if (!m.driver.sshTarget && command.length > 0) {
    // No SSH (e.g. the docker driver): run the command through the driver's own transport.
    const t = await m.driver.transport();
    try {
      const r = await t.exec(command.join(' '));
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    } finally {
      await t.close();
    }
    return;
  }
  const t = targetOf(m);
  if (command.length > 0) {
    // Non-interactive: ssh2 with the pinned host key; exit code passed through.
    const { key } = await loadPrivateKey(t.keyPath);
    const conn = await SshTransport.connect({ ...t, privateKey: key });
    try {
      process.exitCode = await conn.execStreaming(command.join(' '));
    } finally {
      await conn.close();
    }
    return;
  }
  process.exitCode = await spawnWait('ssh', [
    ...sshOptions(t),
    '-t',
    '-p',
    String(t.port),
    `${t.user}@${t.host}`,
  ]);
}

export async function scp(
  src: string,
  dst: string,
  opts: { recursive?: boolean; quiet?: boolean },
  cmd: Command,
): Promise<void> {
  const store = storeOf(cmd);
  const targets: SshTarget[] = [];
  const convert = async (arg: string): Promise<string> => {
    const m = /^([a-zA-Z0-9][a-zA-Z0-9.-]*):(.*)$/.exec(arg);
    if (!m) return arg;
    const machine = await loadMachine(store, m[1]);
    if ((await machine.driver.getState()) !== 'Running') throw hostNotRunning();
    const t = targetOf(machine);
    targets.push(t);
    return `${t.user}@${t.host}:${m[2]}`;
  };
  const from = await convert(src);
  const to = await convert(dst);
  if (targets.length === 0) throw new UserError('scp needs a machine on one side: NAME:path');
  if (targets.length === 2 && targets[0].port !== targets[1].port) {
    throw new UserError(
      'scp between two machines needs them on the same SSH port; copy through this host instead',
    );
  }
  const t = targets[0];
  const args = [
    ...sshOptions(t),
    ...(targets[1]
      ? [
          '-i',
          targets[1].keyPath,
          '-o',
          `UserKnownHostsFile=${t.knownHostsPath} ${targets[1].knownHostsPath}`,
          '-3',
        ]
      : []),
    '-P',
    String(t.port),
    ...(opts.recursive ? ['-r'] : []),
    ...(opts.quiet ? ['-q'] : []),
    from,
    to,
  ];
  process.exitCode = await spawnWait('scp', args);
}
