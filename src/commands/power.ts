import type { Command } from 'commander';
import { UnsupportedOperation, type MachineState } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { waitForEngine } from '../engine/api.js';
import { engineEndpoint, loadMachine, saveMachine } from '../machine/machine.js';
import { info } from '../util/log.js';
import { forEachMachine, namesOr, storeOf } from './common.js';

export type PowerVerb = 'start' | 'stop' | 'restart' | 'kill';

const PAST: Record<PowerVerb, string> = {
  start: 'started',
  stop: 'stopped',
  restart: 'restarted',
  kill: 'killed',
};
const ING: Record<PowerVerb, string> = {
  start: 'Starting',
  stop: 'Stopping',
  restart: 'Restarting',
  kill: 'Killing',
};

/** The state a verb leads to: asking for it when the machine is already there is an error. */
const ALREADY: Partial<Record<PowerVerb, MachineState>> = {
  start: 'Running',
  stop: 'Stopped',
  kill: 'Stopped',
};

export async function power(verb: PowerVerb, names: string[], cmd: Command): Promise<void> {
  const store = storeOf(cmd);
  await forEachMachine(namesOr(names), async (n) => {
    const m = await loadMachine(store, n);
    info(`${ING[verb]} "${n}"...`);
    // docker-machine's state errors (exit 1), which scripts match on; restart of a stopped machine starts it.
    const desired = ALREADY[verb];
    const state = desired || verb === 'restart' ? await m.driver.getState() : undefined;
    if (desired && state === desired) {
      throw new UserError(`Machine "${n}" is already ${desired.toLowerCase()}.`);
    }
    try {
      await m.driver[verb === 'restart' && state === 'Stopped' ? 'start' : verb]();
    } catch (err) {
      if (err instanceof UnsupportedOperation) throw new UserError(err.message);
      throw err;
    }
    if (verb === 'start' || verb === 'restart') {
      // A start can change what the driver knows (a new published port or IP address).
      await saveMachine(m);
      // Done means usable: `swarmup start X && docker ps` must work.
      if (m.cfg.Provisioned) await waitForEngine(await engineEndpoint(m), 120_000);
    }
    info(`Machine "${n}" was ${PAST[verb]}.`);
  });
  if (verb === 'start' || verb === 'restart') {
    info(
      'Started machines may have new IP addresses; "swarmup provision NAME" renews their certificates if so.',
    );
  }
}
