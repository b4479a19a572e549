/**
 * The OpenSSH client (ssh, scp, rsync's ssh) pointed at machines with the store's keys and the pinned
 * host keys only: never the user's known_hosts, agent keys or ~/.ssh/config.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../driver/contract.js';
import { UserError } from '../errors.js';

/** Settings every connection gets; the first value OpenSSH sees for an option wins, so these come first. */
function settings(t: SshTarget): Array<[string, string]> {
  return [
    ['IdentitiesOnly', 'yes'],
    ['IdentityFile', t.keyPath],
    ['StrictHostKeyChecking', 'yes'],
    ['UserKnownHostsFile', t.knownHostsPath],
    ['PasswordAuthentication', 'no'],
    ['KbdInteractiveAuthentication', 'no'],
    // A shared master connection would keep an old login session (and its groups) alive.
    ['ControlMaster', 'no'],
    ['ControlPath', 'none'],
    ['LogLevel', 'ERROR'],
    ['ConnectTimeout', '10'],
  ];
}

/** `-o` options for `ssh` to one machine (the port and user@host are the caller's). */
export function sshOptions(t: SshTarget): string[] {
  return ['-F', '/dev/null', ...settings(t).flatMap(([k, v]) => ['-o', `${k}=${v}`])];
}

/** A value in ssh_config: quoted, with `%` (a token there) doubled. */
const confValue = (v: string) => `"${v.replace(/%/g, '%%')}"`;

/**
 * An ssh_config with one `Host` block per machine, so that one scp or rsync command reaches two
 * machines with each one's port, user, key and pinned host key (command-line `-o` options apply to
 * every host, and OpenSSH keeps the first UserKnownHostsFile given). Removed by `cleanup`.
 */
export async function sshConfigFile(
  hosts: Array<{ alias: string; target: SshTarget }>,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  for (const { target } of hosts) {
    for (const p of [target.keyPath, target.knownHostsPath]) {
      if (/["\n]/.test(p)) throw new UserError(`cannot use the path ${JSON.stringify(p)} in an ssh config`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'swarmup-ssh-'));
  const path = join(dir, 'config');
  const text = hosts
    .map(({ alias, target: t }) =>
      [
        `Host ${alias}`,
        `  HostName ${t.host}`,
        `  Port ${t.port}`,
        `  User ${t.user}`,
        ...settings(t).map(([k, v]) => `  ${k} ${/File$/.test(k) ? confValue(v) : v}`),
      ].join('\n'),
    )
    .join('\n\n');
  await writeFile(path, `${text}\n`, { mode: 0o600 });
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Run a local program with this process's stdio; resolves with its exit code. */
export function spawnInherit(cmd: string, args: string[]): Promise<number> {
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

/** Whether a program is on this host's PATH. */
export async function onPath(program: string): Promise<boolean> {
  const { access, constants } = await import('node:fs/promises');
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (
      await access(join(dir, program), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}
