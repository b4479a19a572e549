/**
 * What a load balancer is for: the swarm of a cluster made by `cluster up` (`--cluster`), or the swarm
 * a stored machine manages, made by hand with `docker swarm init`/`join` (`--manager`). Either way the
 * load balancer is named after the target and its resources carry that name as their owner.
 */
import { clusterMachines, reachableManager } from '../cluster/access.js';
import {
  loadClusterRecord,
  recordedIds,
  requireClusterRecord,
  validateClusterName,
} from '../cluster/record.js';
import type { DriverState, FlagValues } from '../driver/contract.js';
import { flagsFromEnv } from '../driver/flags.js';
import { findDriver } from '../driver/registry.js';
import { oneLine, UserError } from '../errors.js';
import { hostEngine, type EngineAddress } from '../engine/host.js';
import { engineEndpoint, type Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import type { Log } from './backend.js';
import type { ManagerEngine } from './engine.js';
import type { SwarmSnapshot } from './model.js';
import { mapNodesToMachines, type NodeMachine } from './node-machines.js';
import { readSwarm } from './published.js';

export interface LbTarget {
  kind: 'cluster' | 'manager';
  /** The cluster, or the manager machine: names the load balancer and owns what it makes. */
  name: string;
  /** The driver of the swarm's machines. */
  driver: string;
  /** Driver flags: a cluster's saved options, then the environment (credentials come from there). */
  flags: FlagValues;
  /** `--manager`: the manager machine's saved driver state (where its cloud resources are). */
  machine?: DriverState;
  /** Labels for what the load balancer makes: the cluster's `--label`s and `swarmup.expires`. */
  labels: Record<string, string>;
  /** The identity of the store that made the swarm (a label on what the load balancer makes). */
  storeId(): Promise<string | undefined>;
  /** A manager of the swarm that answers now. */
  manager(): Promise<{ name: string; endpoint: ManagerEngine }>;
  /** The stored machines that are the swarm's nodes. */
  machines(): Promise<NodeMachine[]>;
  /**
   * The Docker Engine that hosts the swarm's machines as they recorded it (docker driver), else this
   * host's (src/engine/host.ts): where a local load balancer runs.
   */
  hostEngine(): Promise<EngineAddress>;
}

export type { NodeMachine } from './node-machines.js';

export const nodeMachine = (m: Machine, nodeId?: string): NodeMachine => ({
  name: m.cfg.Name,
  ...(nodeId ? { nodeId } : {}),
  driver: m.cfg.DriverName,
  state: m.cfg.Driver,
  internalIp: () => m.driver.getInternalIP(),
  engine: () => engineEndpoint(m),
});

/** How the user names the target on the command line: `--cluster prod`, `--manager swarm-manager`. */
export const targetFlag = (t: Pick<LbTarget, 'kind' | 'name'>): string => `--${t.kind} ${t.name}`;

/** The target of `--cluster NAME` (the cluster must have a record). */
export async function clusterTarget(store: Store, cluster: string): Promise<LbTarget> {
  validateClusterName(cluster);
  const record = await requireClusterRecord(store, cluster);
  return {
    kind: 'cluster',
    name: cluster,
    driver: record.Driver,
    flags: flagsFromEnv(findDriver(record.Driver), record.DriverOptions),
    labels: { ...record.Labels, ...(record.ExpiresAt ? { 'swarmup.expires': record.ExpiresAt } : {}) },
    storeId: () => store.id(),
    manager: async () => {
      const { machine, endpoint } = await reachableManager(store, cluster);
      return { name: machine.cfg.Name, endpoint };
    },
    machines: async () => {
      const ids = await loadClusterRecord(store, cluster);
      return (await clusterMachines(store, cluster)).map((m) =>
        nodeMachine(m, recordedIds(ids, m.cfg.Name)[0]),
      );
    },
    hostEngine: async () =>
      hostEngine({
        storeRoot: store.root,
        recorded: (await clusterMachines(store, cluster)).map((m) => m.cfg.Driver),
      }),
  };
}

/**
 * The target `cluster down` removes a load balancer of: the cluster's record when there is one, else
 * the driver's flags from the environment (a sweep by labels); no swarm is read. `recorded`: the saved
 * driver states of the cluster's machines, read before they were removed.
 */
export async function teardownTarget(
  store: Store,
  cluster: string,
  driver: string,
  recorded: readonly DriverState[] = [],
): Promise<LbTarget> {
  const record = await loadClusterRecord(store, cluster);
  const own = record?.Driver === driver;
  return {
    kind: 'cluster',
    name: cluster,
    driver,
    flags: flagsFromEnv(findDriver(driver), own ? record.DriverOptions : {}),
    labels: own ? record.Labels : {},
    storeId: () => store.id(),
    manager: () => Promise.reject(new UserError(`cluster "${cluster}" is being removed`)),
    machines: async () => [],
    hostEngine: async () => hostEngine({ storeRoot: store.root, recorded }),
  };
}

/**
 * The swarm as a load balancer sees it, read from a manager, each node mapped to the machine it is (by
 * recorded node ID, `swarmup.machine` label, then address). Nodes without a usable swarm address get
 * the internal IP of the stored machine of that hostname.
 */
export async function readTargetSwarm(t: LbTarget, log?: Log): Promise<SwarmSnapshot> {
  const m = await t.manager();
  log?.(`Reading services, nodes and tasks from ${m.name}...`);
  const machines = await t.machines();
  let snap: SwarmSnapshot;
  try {
    snap = await readSwarm(m.endpoint, async (hostnames) => {
      const out = new Map<string, string>();
      for (const machine of machines) {
        if (hostnames.includes(machine.name)) out.set(machine.name, await machine.internalIp());
      }
      return out;
    });
  } catch (err) {
    throw new UserError(`cannot read the swarm from ${m.name}: ${oneLine(err)}`);
  }
  return { ...snap, nodes: await mapNodesToMachines(snap.nodes, machines) };
}
