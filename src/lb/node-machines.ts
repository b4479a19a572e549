/** Which cluster machine each swarm node is, for load-balancer backends (never by hostname alone). */
import type { DriverState } from '../driver/contract.js';
import type { EngineEndpoint } from '../engine/api.js';
import type { SwarmNodeInfo } from './model.js';

/** A stored machine as a load balancer needs it: where it is (its driver state) and its address. */
export interface NodeMachine {
  name: string;
  driver: string;
  state: DriverState;
  internalIp(): Promise<string>;
  /** The swarm node ID recorded when it joined (a cluster's record), when known. */
  nodeId?: string;
  /** Its Engine API over TLS, when this process holds the store (not inside the cluster). */
  engine?(): Promise<EngineEndpoint>;
}

/**
 * Which machine each node is: the node ID recorded in the store, else its `swarmup.machine` label when
 * that names one of the swarm's machines, else its address; never its hostname alone (hosts may share
 * one). Nodes that are no machine's keep `machine` unset. With no machine list (a controller inside a
 * cluster, which finds the machines through the cloud) the label swarmup set on the node is kept.
 */
export async function mapNodesToMachines(
  nodes: SwarmNodeInfo[],
  machines: NodeMachine[],
): Promise<SwarmNodeInfo[]> {
  if (!machines.length) return nodes;
  const names = new Set(machines.map((m) => m.name));
  const byId = new Map(machines.flatMap((m) => (m.nodeId ? [[m.nodeId, m.name] as const] : [])));
  const byAddr = new Map<string, string>();
  for (const m of machines) byAddr.set(await m.internalIp().catch(() => ''), m.name);
  const taken = new Set<string>();
  const pick = (n: SwarmNodeInfo) =>
    [byId.get(n.id), n.machine && names.has(n.machine) ? n.machine : undefined, byAddr.get(n.address)].find(
      (x): x is string => x !== undefined && !taken.has(x),
    );
  return nodes.map((n) => {
    const machine = pick(n);
    const out: SwarmNodeInfo = { ...n, machine };
    if (machine) taken.add(machine);
    else delete out.machine; // a label naming no machine of the swarm proves nothing
    return out;
  });
}
