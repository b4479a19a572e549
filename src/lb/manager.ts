/**
 * `--manager MACHINE`: the swarm a stored machine manages, made by hand (`docker swarm init` on it,
 * `docker swarm join` on the others). Its nodes are mapped to stored machines by the engine's node ID
 * and address, never by hostname (hosts keep their own hostnames), and every node must be a machine
 * of one driver.
 */
import { loadClusterRecord } from '../cluster/record.js';
import { flagsFromEnv } from '../driver/flags.js';
import { findDriver } from '../driver/registry.js';
import type { EngineEndpoint } from '../engine/api.js';
import { hostEngine } from '../engine/host.js';
import { oneLine, UserError } from '../errors.js';
import { engineEndpoint, loadMachine, type Machine } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { engineClient } from '../swarm/client.js';
import { mapBounded, withTimeout } from '../util/async.js';
import { nodeMachine, type LbTarget } from './target.js';

/** Load-balancer names become cloud resource names: the cluster-name rule applies to a manager too. */
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { Addr?: string };
  ManagerStatus?: { Addr?: string };
}

/** `10.0.0.5:2377` or `[fd00::5]:2377` → the host part. */
const hostOf = (hostPort: string | undefined) =>
  hostPort ? (/^\[(.*)\]:\d+$/.exec(hostPort) ?? /^(.*):\d+$/.exec(hostPort))?.[1] : undefined;

export interface NodeMapping {
  /** Node ID → machine. */
  byNode: Map<string, Machine>;
  /** Nodes that are no stored machine (hostname or ID). */
  unknown: string[];
}

/** Addresses a machine is known by: its saved IPs, then what the driver says (errors ignored). */
async function addressesOf(m: Machine): Promise<string[]> {
  const d = m.cfg.Driver as Record<string, unknown>;
  const out = new Set<string>();
  for (const k of ['InternalIPAddress', 'IPAddress', 'PrivateIPAddress'])
    if (typeof d[k] === 'string' && d[k]) out.add(d[k]);
  for (const f of [() => m.driver.getInternalIP(), () => m.driver.getIP()]) {
    const ip = await withTimeout(f(), 10_000, 'address').catch(() => undefined);
    if (ip) out.add(ip);
  }
  return [...out];
}

/** The engine's swarm node ID of a machine, when its engine answers. */
async function nodeIdOf(m: Machine): Promise<string | undefined> {
  try {
    const info = (await withTimeout(
      engineClient(await engineEndpoint(m)).info(),
      10_000,
      `engine of ${m.cfg.Name}`,
    )) as { Swarm?: { NodeID?: string } };
    return info.Swarm?.NodeID || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Map the swarm's nodes to stored machines: by swarm address first (one machine with that address),
 * then, for the nodes left, by the node ID each remaining machine's engine reports.
 */
export async function mapNodes(nodes: RawNode[], machines: Machine[]): Promise<NodeMapping> {
  const byNode = new Map<string, Machine>();
  const addrs = await mapBounded(machines, 8, async (m) => ({ m, addrs: await addressesOf(m) }));
  const left: RawNode[] = [];
  for (const n of nodes) {
    const addr =
      n.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : hostOf(n.ManagerStatus?.Addr);
    const hits = addr ? addrs.filter((a) => a.addrs.includes(addr)) : [];
    if (hits.length === 1) byNode.set(n.ID, hits[0].m);
    else left.push(n);
  }
  if (left.length) {
    const used = new Set([...byNode.values()]);
    const ids = await mapBounded(
      machines.filter((m) => !used.has(m)),
      8,
      async (m) => ({ m, id: await nodeIdOf(m) }),
    );
    for (const n of left) {
      const hit = ids.find((x) => x.id === n.ID);
      if (hit) byNode.set(n.ID, hit.m);
    }
  }
  const unknown = nodes.filter((n) => !byNode.has(n.ID)).map((n) => n.Description?.Hostname || n.ID);
  return { byNode, unknown };
}

/** Every stored machine that loads (one that does not is no node of ours). */
async function storedMachines(store: Store): Promise<Machine[]> {
  const loaded = await mapBounded(await store.list(), 16, (n) =>
    loadMachine(store, n).catch(() => undefined),
  );
  return loaded.filter((m): m is Machine => !!m);
}

/** The target of `--manager NAME`. */
export async function managerTarget(store: Store, name: string): Promise<LbTarget> {
  const machine = await loadMachine(store, name);
  if (!NAME_RE.test(name)) {
    throw new UserError(
      `machine "${name}" cannot name a load balancer: --manager takes a machine named with 1-40 lowercase letters, digits and "-"`,
    );
  }
  if (await loadClusterRecord(store, name)) {
    throw new UserError(`"${name}" is a cluster of this store: use --cluster ${name}`);
  }
  const driver = machine.cfg.DriverName;
  let endpoint: Promise<EngineEndpoint> | undefined;
  const manager = async () => {
    endpoint ??= (async () => {
      let ep: EngineEndpoint;
      let info: { Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string } };
      try {
        if ((await machine.driver.getState()) !== 'Running') throw new Error('Host is not running');
        ep = await engineEndpoint(machine);
        info = (await withTimeout(engineClient(ep).info(), 15_000, 'the engine')) as typeof info;
      } catch (err) {
        throw new UserError(`manager ${name} does not answer: ${oneLine(err)}`);
      }
      if (!info.Swarm?.ControlAvailable) {
        throw new UserError(
          `machine "${name}" is not a swarm manager (swarm state: ${info.Swarm?.LocalNodeState || 'inactive'}): run "docker swarm init" on it, or name a manager`,
        );
      }
      return ep;
    })();
    return { name, endpoint: await endpoint };
  };
  let mapped: Promise<Machine[]> | undefined;
  const machines = () =>
    (mapped ??= (async () => {
      const { endpoint: ep } = await manager();
      const nodes = (await engineClient(ep).listNodes()) as RawNode[];
      const { byNode } = await mapNodes(nodes, await storedMachines(store));
      const all = [...new Set(byNode.values())];
      const drivers = new Map<string, string[]>();
      for (const m of all)
        drivers.set(m.cfg.DriverName, [...(drivers.get(m.cfg.DriverName) ?? []), m.cfg.Name]);
      if (drivers.size > 1 || (drivers.size === 1 && !drivers.has(driver))) {
        throw new UserError(
          `the swarm of ${name} spans drivers ${[...drivers].map(([d, ms]) => `${d} (${ms.join(', ')})`).join(', ')}: a load balancer serves machines of one driver`,
        );
      }
      return all;
    })());
  const flags = flagsFromEnv(findDriver(driver));
  return {
    kind: 'manager',
    name,
    driver,
    flags,
    machine: machine.cfg.Driver,
    labels: {},
    storeId: () => store.id(),
    manager,
    machines: async () => (await machines()).map((m) => nodeMachine(m)),
    hostEngine: async () => hostEngine({ storeRoot: store.root, recorded: [machine.cfg.Driver] }),
  };
}
