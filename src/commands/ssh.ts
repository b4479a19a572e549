import type { Command } from 'commander';
import type { SshTarget } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { loadMachine, type Machine } from '../machine/machine.js';
import { loadPrivateKey } from '../ssh/keys.js';
import { onPath, sshOptions, spawnInherit } from '../ssh/openssh.js';
import { SshTransport } from '../ssh/transport.js';
import { debug } from '../util/log.js';
import { nameOr, nativeSsh, storeOf } from './common.js';
import { remoteCommand, requireNoSshOptions, splitSshArgs } from './ssh-args.js';

/** docker-machine's words for a machine that is not running, which scripts match on. */
export const notRunningForSsh = (name: string) =>
  new UserError(`Error: Cannot run SSH command: Host "${name}" is not running`);

/** The machine, running, for ssh and scp. */
export async function sshMachine(cmd: Command, name: string): Promise<Machine> {
  const m = await loadMachine(storeOf(cmd), name);
  if ((await m.driver.getState()) !== 'Running') throw notRunningForSsh(name);
  return m;
}

/**
 * `swarmup ssh NAME [ssh options] [CMD ARGS...]`; `words` are everything after NAME, unparsed (see
 * splitVerbatim). A command runs through ssh2 (or the docker driver's engine API) with its exit code
 * passed through; an interactive login, or ssh(1) options, use the OpenSSH client, unless --native-ssh.
 */
export async function ssh(name: string | undefined, words: string[], cmd: Command): Promise<void> {
  const args = splitSshArgs(words);
  const n = nameOr(name);
  const native = nativeSsh(cmd);
  const m = await sshMachine(cmd, n);
  const command = remoteCommand(args.command);
  if (!m.driver.sshTarget) {
    // No SSH (the docker driver): the command runs through the driver's own transport.
    requireNoSshOptions(args, `the ${m.cfg.DriverName} driver does not use (it has no SSH)`);
    if (!command) {
      throw new UserError(
        `the ${m.cfg.DriverName} driver has no SSH login; run a command with: swarmup ssh ${n} CMD ARGS...`,
      );
    }
    const t = await m.driver.transport();
    try {
      if (!t.execStreaming) throw new UserError(`the ${m.cfg.DriverName} driver cannot run commands`);
      process.exitCode = await t.execStreaming(command);
    } finally {
      await t.close();
    }
    return;
  }
  const target = m.driver.sshTarget();
  const noClient = !args.options.length && !command && !(await onPath('ssh'));
  if (native || noClient || (command && args.options.length === 0)) {
    if (args.options.length) requireNoSshOptions(args, '--native-ssh does not use');
    if (args.letters.length) debug(`ignoring ssh options ${args.options.join(' ')} (no OpenSSH client)`);
    const { key } = await loadPrivateKey(target.keyPath);
    const conn = await SshTransport.connect({ ...target, privateKey: key });
    try {
      process.exitCode = command ? await conn.execStreaming(command) : await conn.shell();
    } finally {
      await conn.close();
    }
    return;
  }
  process.exitCode = await spawnInherit('ssh', opensshArgs(target, args.options, args.command));
}

/** The ssh(1) command line: pinned options first (the first value wins), then the user's, then the command. */
export function opensshArgs(t: SshTarget, userOptions: string[], command: string[]): string[] {
  const tty = command.length === 0 && process.stdin.isTTY ? ['-t'] : [];
  return [
    ...sshOptions(t),
    '-p',
    String(t.port),
    ...tty,
    ...userOptions,
    `${t.user}@${t.host}`,
    ...(command.length ? ['--', ...command] : []),
  ];
}
