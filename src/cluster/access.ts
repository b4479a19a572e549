import { UserError } from '../errors.js';
import type { EngineEndpoint } from '../engine/api.js';
import { engineEndpoint, loadMachine, type Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { toSwarmNode, type SwarmNode } from '../swarm/model.js';
import { mapBounded } from '../util/async.js';
import { recordedIds, requireClusterRecord } from './record.js';

/** The cluster's machines found in the store (by their Cluster field), managers first. */
export async function clusterMachines(store: Store, cluster: string): Promise<Machine[]> {
  const names = await store.list();
  const loaded = await mapBounded(names, 16, async (n) => {
    try {
      return await loadMachine(store, n);
    } catch {
      return undefined;
    }
  });
  return loaded
    .filter((m): m is Machine => m?.cfg.Cluster?.Name === cluster)
    .sort((a, b) =>
      a.cfg.Cluster!.Role === b.cfg.Cluster!.Role
        ? a.cfg.Name.localeCompare(b.cfg.Name, undefined, { numeric: true })
        : a.cfg.Cluster!.Role === 'manager'
          ? -1
          : 1,
    );
}

/** A manager that answers over TLS right now: the first that does, in name order. */
export async function reachableManager(
  store: Store,
  cluster: string,
): Promise<{ machine: Machine; endpoint: EngineEndpoint }> {
  await requireClusterRecord(store, cluster);
  const managers = (await clusterMachines(store, cluster)).filter((m) => m.cfg.Cluster?.Role === 'manager');
  if (managers.length === 0)
    throw new UserError(`Cluster "${cluster}" has no manager machines in this store`);
  const { engineRequest } = await import('../engine/api.js');
  const errors: string[] = [];
  for (const m of managers) {
    try {
      if ((await m.driver.getState()) !== 'Running') throw new Error('not running');
      const ep = await engineEndpoint(m);
      const r = await engineRequest(ep, 'GET', '/_ping', 5_000);
      if (r.status === 200) return { machine: m, endpoint: ep };
      throw new Error(`engine answered ${r.status}`);
    } catch (err) {
      errors.push(`${m.cfg.Name}: ${(err as Error).message}`);
    }
  }
  throw new UserError(`no manager of cluster "${cluster}" answers (${errors.join('; ')})`);
}

/**
 * The cluster's swarm nodes, each with the machine it is (`machine`), read from the first manager that
 * answers. Machines are found by the node IDs the store recorded, then the `swarmup.machine` label,
 * then their address; a node that is no machine's has no `machine` (a leftover or a stranger).
 */
export async function clusterNodes(
  store: Store,
  cluster: string,
): Promise<{ via: Machine; nodes: SwarmNode[] }> {
  const { machine, endpoint } = await reachableManager(store, cluster);
  const record = await requireClusterRecord(store, cluster);
  const { rawNodes } = await import('../swarm/calls.js');
  const { identifyNodes } = await import('../swarm/identity.js');
  const raw = await rawNodes(endpoint);
  const refs = await Promise.all(
    (await clusterMachines(store, cluster)).map(async (m) => ({
      name: m.cfg.Name,
      recordedIds: recordedIds(record, m.cfg.Name),
      address: await m.driver.getInternalIP(),
    })),
  );
  const byId = new Map([...identifyNodes(raw, refs).nodes].map(([name, n]) => [n.ID, name]));
  const nodes = raw.map((n) => {
    const name = byId.get(n.ID);
    return { ...toSwarmNode(n), ...(name ? { machine: name } : {}) };
  });
  const key = (n: SwarmNode) => n.machine ?? `~${n.hostname}`;
  return {
    via: machine,
    nodes: nodes.sort(
      (a, b) => key(a).localeCompare(key(b), undefined, { numeric: true }) || a.id.localeCompare(b.id),
    ),
  };
}
