import type { Command } from 'commander';
import { UnsupportedOperation } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { waitForEngine } from '../engine/api.js';
import { engineEndpoint, loadMachine, saveMachine } from '../machine/machine.js';
import { upgradeEngine } from '../provision/engine-upgrade.js';
import { info } from '../util/log.js';
import { forEachMachine, namesOr, storeOf } from './common.js';

/**
 * `upgrade NAME...`: docker-machine's verb. A machine that is not running is started first; then its
 * engine is upgraded (see upgradeEngine) and restarted only if something changed.
 */
export async function upgrade(names: string[], _o: unknown, cmd: Command): Promise<void> {
  const store = storeOf(cmd);
  const list = namesOr(names);
  await forEachMachine(list, async (n) => {
    const log = (msg: string) => info(list.length > 1 ? `(${n}) ${msg}` : msg);
    const m = await loadMachine(store, n);
    if ((await m.driver.getState()) !== 'Running') {
      log('Starting machine so machine can be upgraded...');
      try {
        await m.driver.start();
      } catch (err) {
        if (err instanceof UnsupportedOperation) throw new UserError(err.message);
        throw err;
      }
      await saveMachine(m);
      if (m.cfg.Provisioned) await waitForEngine(await engineEndpoint(m), 120_000);
    }
    const r = await upgradeEngine(m, log);
    log(
      r.upgraded
        ? `Upgraded ${r.changes.join(', ')}; engine restarted, certificates and swarm state kept.`
        : `Docker is up to date (${r.version || 'version unknown'}); nothing changed.`,
    );
  });
}
