import type { Command } from 'commander';
import { requireClientCertFiles } from '../machine/certs.js';
import { machineUrl } from '../machine/machine.js';
import { detectShell, formatEnv } from './env-format.js';
import { runningMachine } from './info.js';
import { nameOr } from './common.js';

const VARS = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];

export async function run(
  name: string | undefined,
  opts: { shell?: string; unset?: boolean; proxy?: boolean },
  cmd: Command,
): Promise<void> {
  const shell = detectShell(opts.shell);
  const n = nameOr(name);
  const command = `swarmup env${opts.shell ? ` --shell ${opts.shell}` : ''}${opts.unset ? ' --unset' : ''}${name ? ` ${name}` : ''}`;
  if (opts.unset) {
    const vars: Array<[string, string | undefined]> = VARS.map((k) => [k, undefined]);
    if (opts.proxy === false) vars.push(['NO_PROXY', undefined]);
    process.stdout.write(formatEnv(shell, vars, command));
    return;
  }
  const m = await runningMachine(cmd, n);
  const vars: Array<[string, string | undefined]> = [
    ['DOCKER_TLS_VERIFY', '1'],
    ['DOCKER_HOST', await machineUrl(m)],
    ['DOCKER_CERT_PATH', await requireClientCertFiles(m.store, n)],
    ['DOCKER_MACHINE_NAME', n],
  ];
  // commander turns --no-proxy into proxy === false
  if (opts.proxy === false) {
    const ip = await m.driver.getIP();
    const current = (process.env.NO_PROXY ?? process.env.no_proxy ?? '').split(',').filter(Boolean);
    vars.push(['NO_PROXY', [...new Set([...current, ip])].join(',')]);
  }
  process.stdout.write(formatEnv(shell, vars, command));
}
