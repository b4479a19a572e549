import type { Driver, DriverModule, DriverState, FlagValues } from '../driver/contract.js';
import { oneLine } from '../errors.js';
import { loadMachine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { clusterMachines } from './access.js';
import { giveBackHost } from './inventory.js';
import { removeClusterRecord } from './record.js';

/**
 * What one `cluster up` made, noted as it goes, so that a failed or interrupted new cluster is
 * rolled back by removing exactly that: never "everything with the cluster's label", which would
 * take another run's machines with it (a second store on the same engine or cloud project).
 */
export class RunLedger {
  /** Machines whose create this run started (claimed), in order. */
  readonly machines: string[] = [];
  /** This run wrote the cluster record (the cluster was new). */
  recordCreated = false;
  /** This run opened the cluster's swarm ports (a cloud firewall or security group). */
  firewall = false;
  /** A driver create ran in this run (it may have made what the cluster's machines share). */
  driverCreated = false;

  noteMachine(name: string): void {
    if (!this.machines.includes(name)) this.machines.push(name);
  }

  /**
   * Remove what this run made. Machines go by their own saved state (the driver removes only its own
   * container or instance, whose labels it checks); claims without a config are released. The
   * cluster's firewall goes only when no machine of the cluster is left anywhere the driver looks.
   * Returns the problems, one line each; never throws.
   */
  async undo(o: {
    store: Store;
    cluster: string;
    mod: DriverModule;
    flags: FlagValues;
    log: (msg: string) => void;
  }): Promise<string[]> {
    const { store, cluster, log } = o;
    const errors: string[] = [];
    let last: Driver | undefined;
    // Where the removed machines were (the docker driver's engine), for the sweep below.
    const recorded: DriverState[] = [];
    await mapBounded(this.machines, 8, async (name) => {
      try {
        if (await store.exists(name)) {
          const m = await loadMachine(store, name);
          recorded.push(m.cfg.Driver);
          log(`Removing machine ${name}...`);
          await giveBackHost(m, log);
          await m.driver.remove();
          await store.remove(name);
          last = m.driver;
        } else {
          await store.release(name);
        }
      } catch (err) {
        errors.push(`${name}: ${oneLine(err)}`);
      }
    });
    // Removed in parallel, each machine saw the others still using what they share (the docker
    // driver's network): a second remove() of one of them, now alone, takes that too (remove is
    // idempotent).
    if (last && errors.length === 0)
      await last.remove().catch((err) => errors.push(`shared: ${oneLine(err)}`));
    // What the cluster's machines share and the driver makes on the first create or in the firewall
    // phase (a security group, firewall rules, a network) goes only when no machine of the cluster
    // is left anywhere the driver looks: then nothing of anyone else's can go with it.
    if ((this.firewall || this.driverCreated) && o.mod.destroyCluster && o.mod.discoverClusters) {
      try {
        const scope = { storeRoot: store.root, recorded };
        const found = await o.mod.discoverClusters(o.flags, scope);
        const others = found.find((c) => c.name === cluster)?.machines.length ?? 0;
        if (others === 0) await o.mod.destroyCluster(cluster, o.flags, log, scope);
        else
          log(
            `keeping what the cluster's machines share: ${others} machine(s) of "${cluster}" made elsewhere use it`,
          );
      } catch (err) {
        errors.push(`cluster resources: ${oneLine(err)}`);
      }
    }
    if (this.recordCreated && errors.length === 0 && (await clusterMachines(store, cluster)).length === 0) {
      await removeClusterRecord(store, cluster);
    }
    return errors;
  }
}
