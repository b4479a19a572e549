/**
 * The impure half of a cluster of existing hosts (hosts.ts is the pure one): which host each machine
 * of the store runs on, checking new hosts before anything is made on any of them, and giving a host
 * back when its machine goes.
 */
import type { DriverPlugin, FlagValues } from '../driver/contract.js';
import { findDriver } from '../driver/registry.js';
import { UserError, oneLine } from '../errors.js';
import { checkBeforeCreate } from '../machine/create-machine.js';
import type { Machine } from '../machine/machine.js';
import { releaseHost } from '../provision/release.js';
import type { Store } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import type { HostedMachine } from './hosts.js';

/** The cluster's machines with the host each runs on (`address:ssh-port`, as hostKey says). */
export function hostedMachines(machines: readonly Machine[]): Promise<HostedMachine[]> {
  return Promise.all(
    machines.map(async (m) => ({
      name: m.cfg.Name,
      role: m.cfg.Cluster?.Role ?? 'worker',
      key: `${await m.driver.getIP()}:${m.driver.sshTarget?.().port ?? ''}`,
    })),
  );
}

/**
 * Every new host must answer (SSH, the key, sudo) before any is provisioned: one line names each
 * host that does not.
 */
export async function checkNewHosts(
  store: Store,
  plugin: DriverPlugin,
  machines: ReadonlyArray<{ name: string; address: string; flags: FlagValues }>,
  parallel: number,
): Promise<void> {
  const failed: string[] = [];
  await mapBounded(machines, parallel, async (m) => {
    try {
      await checkBeforeCreate({ store, plugin, name: m.name, flags: m.flags, log: () => undefined });
    } catch (err) {
      failed.push(`${m.address} (${m.name}): ${oneLine(err).replace(/^Error with pre-create check: /, '')}`);
    }
  });
  if (failed.length)
    throw new UserError(
      `${failed.length} of ${machines.length} new host${machines.length === 1 ? '' : 's'} cannot be used, nothing was changed on any: ${failed.sort().join('; ')}`,
      3,
    );
}

/**
 * Before a machine is removed (`cluster down`, scale down, a rollback): a machine on a host that exists
 * without swarmup (a driver with a host inventory) gives the host back; others have nothing to give.
 */
export async function giveBackHost(m: Machine, log: (msg: string) => void): Promise<void> {
  if (findDriver(m.cfg.DriverName).inventory) log(`${m.cfg.Name}: ${await releaseHost(m)}`);
}
