/**
 * The last step of a cluster's life cycle: wait until every machine's node is Ready, and report the
 * swarm healthy only when its node list is exactly the machines — a stale entry is repaired before
 * (pruneStaleNodes) or reported here, never hidden.
 */
import type { EngineEndpoint } from '../engine/api.js';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import { readNodes } from './calls.js';
import { isTransient } from './errors.js';
import { classifyOthers, describeNode, nodeReadiness, type MachineRef } from './identity.js';
import { toSwarmNode, type RawNode, type SwarmNode } from './model.js';

export interface ReadyOptions {
  /**
   * Also require that the swarm has no node besides the machines' (a cluster's own swarm). Leftovers
   * and strangers are named in the error.
   */
  exact?: boolean;
  /** The cluster's name, to tell its leftovers from strangers in that error. */
  cluster?: string;
}

const asRef = (m: string | MachineRef): MachineRef => (typeof m === 'string' ? { name: m, hostname: m } : m);

/** Each machine's node with its `machine` name, in machine order. */
export function machineNodes(ready: Map<string, RawNode>, machines: readonly MachineRef[]): SwarmNode[] {
  return machines.flatMap((m) => {
    const n = ready.get(m.name);
    return n ? [{ ...toSwarmNode(n), machine: m.name }] : [];
  });
}

function extrasError(others: RawNode[], machines: readonly MachineRef[], cluster?: string): UserError {
  const { stale, strangers } = classifyOthers(others, machines, cluster, { now: Date.now() });
  const parts = [
    ...stale.map((s) => `${describeNode(s.node)} is a leftover of this cluster`),
    ...strangers.map((n) => `${describeNode(n)} is not one of its machines`),
  ];
  const todo = stale.length
    ? 'run "swarmup cluster up" again to remove leftovers'
    : 'remove a node that is gone with "docker node rm --force ID"';
  return new UserError(
    `every machine is Ready, but the swarm has ${others.length} more node${others.length === 1 ? '' : 's'}: ` +
      `${parts.join('; ')}; ${todo}`,
  );
}

/**
 * Poll `GET /nodes` until every machine has a node that is Ready and active (machines given as names
 * are found by label, then by hostname). On timeout the error names each machine that is not, with
 * its state, availability and the daemon's message.
 */
export async function waitNodesReady(
  manager: EngineEndpoint,
  machines: ReadonlyArray<string | MachineRef>,
  timeoutMs: number,
  opts: ReadyOptions = {},
): Promise<SwarmNode[]> {
  const refs = machines.map(asRef);
  const end = Date.now() + timeoutMs;
  let wait = 250;
  let nodes: RawNode[] = [];
  let lastErr = '';
  for (;;) {
    try {
      nodes = await readNodes(manager);
      lastErr = '';
    } catch (err) {
      if (!isTransient(err)) throw err;
      lastErr = (err as Error).message;
    }
    const { ready, notReady, others } = nodeReadiness(nodes, refs);
    if (!notReady.length && !lastErr) {
      if (opts.exact && others.length) throw extrasError(others, refs, opts.cluster);
      return machineNodes(ready, refs);
    }
    const left = end - Date.now();
    if (left <= 0)
      throw new UserError(
        `swarm nodes not Ready after ${Math.round(timeoutMs / 1000)} s: ` +
          (notReady.length ? notReady.join(', ') : lastErr),
      );
    await delay(Math.min(wait, left));
    wait = Math.min(Math.round(wait * 1.5), 2_000);
  }
}
