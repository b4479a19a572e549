import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { spawnInherit } from '../ssh/openssh.js';
import { parseScpOperand } from './scp.js';
import { sshMachine } from './ssh.js';

/**
 * `mount [-u] MACHINE:PATH [MOUNTPOINT]`, docker-machine's: the machine's directory mounted here with
 * sshfs (the mount point defaults to the same path), with the store's key and the pinned host key;
 * `-u` unmounts it with fusermount (umount on macOS).
 */
export async function mount(
  src: string,
  dst: string | undefined,
  opts: { unmount?: boolean },
  cmd: Command,
): Promise<void> {
  const op = parseScpOperand(src);
  if (!op.machine) throw new UserError('mount needs MACHINE:PATH, e.g. swarmup mount web-1:/srv/data ./data');
  const mountpoint = dst || op.path;
  if (!mountpoint) throw new UserError('mount needs a path on the machine or a mount point');
  if (opts.unmount) {
    process.exitCode =
      process.platform === 'darwin'
        ? await spawnInherit('umount', [mountpoint])
        : await spawnInherit('fusermount', ['-u', mountpoint]);
    return;
  }
  const m = await sshMachine(cmd, op.machine);
  if (!m.driver.sshTarget) {
    throw new UserError(
      `the ${m.cfg.DriverName} driver has no SSH, which sshfs needs; copy with swarmup scp -r`,
    );
  }
  const t = m.driver.sshTarget();
  const o = [
    'IdentitiesOnly=yes',
    `IdentityFile=${t.keyPath}`,
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile=${t.knownHostsPath}`,
    `Port=${t.port}`,
    'PasswordAuthentication=no',
    'LogLevel=ERROR',
  ];
  if (o.some((v) => v.includes(',')))
    throw new UserError('mount cannot pass a store path with a comma to sshfs');
  process.exitCode = await spawnInherit('sshfs', [
    '-F',
    '/dev/null',
    '-o',
    o.join(','),
    `${op.user ?? t.user}@${t.host}:${op.path}`,
    mountpoint,
  ]);
}
