import { clusterMachines, reachableManager } from '../cluster/access.js';
import { loadClusterRecord, recordedIds, type ClusterRecord } from '../cluster/record.js';
import { UserError } from '../errors.js';
import type { Machine } from '../machine/machine.js';
import { info } from '../util/log.js';
import type { SwarmNodeInfo, SwarmSnapshot } from './model.js';
import { readSwarm } from './published.js';
import type { Store } from '../store/store.js';

/**
 * Which machine each node is: the node ID recorded in the store, else its `swarmup.machine` label when
 * that names one of the cluster's machines, else its address; never its hostname alone (hosts may
 * share one). Nodes that are no machine's keep `machine` unset.
 */
async function mapNodesToMachines(
  nodes: SwarmNodeInfo[],
  machines: Machine[],
  record: ClusterRecord | undefined,
): Promise<SwarmNodeInfo[]> {
  const names = new Set(machines.map((m) => m.cfg.Name));
  const byId = new Map(machines.map((m) => [recordedIds(record, m.cfg.Name)[0], m.cfg.Name]));
  const byAddr = new Map<string, string>();
  for (const m of machines) byAddr.set(await m.driver.getInternalIP(), m.cfg.Name);
  const taken = new Set<string>();
  const pick = (n: SwarmNodeInfo) =>
    [byId.get(n.id), n.machine && names.has(n.machine) ? n.machine : undefined, byAddr.get(n.address)].find(
      (x): x is string => x !== undefined && !taken.has(x),
    );
  return nodes.map((n) => {
    const machine = pick(n);
    const out: SwarmNodeInfo = { ...n, machine };
    if (machine) taken.add(machine);
    else delete out.machine; // a label naming no machine of the cluster proves nothing
    return out;
  });
}

/** The swarm of a cluster as a load balancer sees it, read from the first manager that answers. */
export async function readClusterSwarm(store: Store, cluster: string, quiet = false): Promise<SwarmSnapshot> {
  const { machine, endpoint } = await reachableManager(store, cluster);
  if (!quiet) info(`Reading services, nodes and tasks from ${machine.cfg.Name}...`);
  const machines = await clusterMachines(store, cluster);
  let snap: SwarmSnapshot;
  try {
    snap = await readSwarm(endpoint, async (hostnames) => {
      const out = new Map<string, string>();
      for (const m of machines) {
        if (hostnames.includes(m.cfg.Name)) out.set(m.cfg.Name, await m.driver.getInternalIP());
      }
      return out;
    });
  } catch (err) {
    throw new UserError(`cannot read the swarm from ${machine.cfg.Name}: ${(err as Error).message}`);
  }
  const record = await loadClusterRecord(store, cluster);
  return { ...snap, nodes: await mapNodesToMachines(snap.nodes, machines, record) };
}
