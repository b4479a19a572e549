/**
 * A cluster machine's place in the swarm, found by identity (see src/swarm/identity.ts), and taking it
 * out again: used when a machine leaves the cluster (scale down, a host removed from the list).
 */
import type { EngineEndpoint } from '../engine/api.js';
import { oneLine } from '../errors.js';
import { engineEndpoint, type Machine } from '../machine/machine.js';
import { rawNodes, readSwarmState } from '../swarm/calls.js';
import { MACHINE_LABEL, identifyNodes } from '../swarm/identity.js';
import { leaveSwarm } from '../swarm/membership.js';
import type { RawNode } from '../swarm/model.js';
import { drainNode, removeNode, setNodeRole } from '../swarm/nodes.js';
import type { Log } from '../ui/progress.js';

export interface MachineNodes {
  /** The node the machine is now (its daemon's node ID, else the best evidence). */
  current?: RawNode;
  /** Older entries the store recorded or labelled for it. */
  leftovers: RawNode[];
}

/** The machine's node and its leftovers in the swarm `manager` belongs to. */
export async function machineNode(
  m: Machine,
  manager: EngineEndpoint,
  recordedIds: readonly string[] = [],
): Promise<MachineNodes> {
  let nodeId: string | null | undefined;
  try {
    const st = await readSwarmState(await engineEndpoint(m));
    nodeId = st.state === 'active' ? (st.nodeId ?? null) : null;
  } catch {
    nodeId = undefined; // its daemon does not answer: the record, labels and address speak for it
  }
  const name = m.cfg.Name;
  const nodes = await rawNodes(manager);
  const ref = { name, nodeId, recordedIds, address: await m.driver.getInternalIP() };
  const id = identifyNodes(nodes, [ref]);
  const leftovers = id.others.filter(
    (n) => recordedIds.includes(n.ID) || n.Spec?.Labels?.[MACHINE_LABEL] === name,
  );
  return { current: id.nodes.get(name), leftovers };
}

/**
 * Take a machine out of the swarm: drain its node (its tasks move), demote it if it is a manager,
 * make its daemon leave, and remove its node entries by ID. A machine whose daemon is gone is removed
 * from the swarm all the same.
 */
export async function removeMachineNode(
  m: Machine,
  manager: EngineEndpoint,
  nodes: MachineNodes,
  log: Log,
): Promise<void> {
  const name = m.cfg.Name;
  const n = nodes.current;
  try {
    if (n && (n.Status?.State ?? '') === 'ready') await drainNode(manager, n.ID);
    if (n && (n.Spec?.Role === 'manager' || n.ManagerStatus)) await setNodeRole(manager, n.ID, 'worker');
    await leaveSwarm(await engineEndpoint(m), true).catch(() => undefined);
  } catch (err) {
    log(`${name}: could not leave the swarm cleanly (${oneLine(err)}); removing it anyway`);
  }
  for (const x of [...(n ? [n] : []), ...nodes.leftovers]) await removeNode(manager, x.ID);
}
