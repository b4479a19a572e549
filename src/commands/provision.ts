import type { Command } from 'commander';
import { hostNotRunning } from '../errors.js';
import { ensureStoreCerts } from '../machine/certs.js';
import { loadMachine } from '../machine/machine.js';
import { provision } from '../provision/provisioner.js';
import { info } from '../util/log.js';
import { confirm, forEachMachine, namesOr, storeOf } from './common.js';

async function provisionAll(cmd: Command, names: string[], regenerateCerts: boolean): Promise<void> {
  const store = storeOf(cmd);
  await forEachMachine(namesOr(names), async (n) => {
    const m = await loadMachine(store, n);
    if ((await m.driver.getState()) !== 'Running') throw hostNotRunning();
    const log = (msg: string) => info(names.length > 1 ? `(${n}) ${msg}` : msg);
    const r = await provision(m, { log, regenerateCerts });
    log(
      r.changedFiles.length
        ? `Updated ${r.changedFiles.length} file(s); engine restarted.`
        : 'Already up to date; nothing changed.',
    );
  });
}

export async function provisionCmd(names: string[], _o: unknown, cmd: Command): Promise<void> {
  await provisionAll(cmd, names, false);
}

export async function regenerateCerts(
  names: string[],
  opts: { force?: boolean; clientCerts?: boolean },
  cmd: Command,
): Promise<void> {
  if (!opts.force && !(await confirm('Regenerate TLS machine certs? Warning: this is irreversible.', '-f')))
    return;
  if (opts.clientCerts) {
    info(
      'Regenerating the CA and client certificates; every machine needs "swarmup regenerate-certs" afterwards.',
    );
    await ensureStoreCerts(storeOf(cmd), true);
  }
  info('Regenerating TLS certificates');
  await provisionAll(cmd, names, true);
}
