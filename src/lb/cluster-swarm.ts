import { clusterMachines, reachableManager } from '../cluster/access.js';
import { UserError } from '../errors.js';
import { info } from '../util/log.js';
import type { SwarmSnapshot } from './model.js';
import { readSwarm } from './published.js';
import type { Store } from '../store/store.js';

/** The swarm of a cluster as a load balancer sees it, read from the first manager that answers. */
export async function readClusterSwarm(store: Store, cluster: string, quiet = false): Promise<SwarmSnapshot> {
  const { machine, endpoint } = await reachableManager(store, cluster);
  if (!quiet) info(`Reading services, nodes and tasks from ${machine.cfg.Name}...`);
  try {
    return await readSwarm(endpoint, async (hostnames) => {
      const out = new Map<string, string>();
      for (const m of await clusterMachines(store, cluster)) {
        if (hostnames.includes(m.cfg.Name)) out.set(m.cfg.Name, await m.driver.getInternalIP());
      }
      return out;
    });
  } catch (err) {
    throw new UserError(`cannot read the swarm from ${machine.cfg.Name}: ${(err as Error).message}`);
  }
}
