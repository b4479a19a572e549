import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { requireClientCertFiles } from '../machine/certs.js';
import { machineUrl } from '../machine/machine.js';
import { detectShell, formatEnv, noProxy, styleOf, typedCommandLine } from './env-format.js';
import { runningMachine } from './info.js';
import { nameOr } from './common.js';
import { classicSwarm } from './classic-swarm.js';

const VARS = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];

export async function run(
  names: string[],
  opts: { shell?: string; unset?: boolean; proxy?: boolean; swarm?: boolean },
  cmd: Command,
): Promise<void> {
  if (opts.swarm) throw classicSwarm('--swarm', 'env');
  const shell = detectShell(opts.shell);
  const given = !!opts.shell;
  styleOf(shell, given); // a bad --shell is refused before any work
  const hint = typedCommandLine();
  // commander turns --no-proxy into proxy === false
  const withProxy = opts.proxy === false;
  if (opts.unset) {
    // docker-machine's exact words: scripts match on them.
    if (names.length) throw new UserError('Error: Expected no machine name when the -u flag is present');
    const vars: Array<[string, string | undefined]> = VARS.map((k) => [k, undefined]);
    if (withProxy) vars.push([noProxy(undefined)[0], undefined]);
    process.stdout.write(formatEnv(shell, vars, hint, given));
    return;
  }
  if (names.length > 1) throw new UserError('Error: Expected one machine name as an argument');
  const n = nameOr(names[0]);
  const m = await runningMachine(cmd, n);
  const vars: Array<[string, string | undefined]> = [
    ['DOCKER_TLS_VERIFY', '1'],
    ['DOCKER_HOST', await machineUrl(m)],
    ['DOCKER_CERT_PATH', await requireClientCertFiles(m.store, n)],
    ['DOCKER_MACHINE_NAME', n],
  ];
  if (withProxy) vars.push(noProxy(await m.driver.getIP()));
  process.stdout.write(formatEnv(shell, vars, hint, given));
}
