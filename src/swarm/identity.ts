/**
 * Which swarm node is which machine, without trusting hostnames: hosts keep their own hostnames, and
 * several may share one (cloud images all call themselves `ubuntu`). Strongest evidence first:
 *
 * 1. the node ID the machine's own daemon reports now (`GET /info`);
 * 2. a node ID recorded in the store when the machine joined;
 * 3. the node label `swarmup.machine=<name>`, set on every node swarmup converges;
 * 4. the machine's swarm address (one daemon per address);
 * 5. its hostname, only when no other machine and no other node shares it.
 *
 * A machine whose daemon answered is matched by its ID alone: an older entry that carries its label or
 * address is then a leftover, never the machine. Pure: no network here.
 */
import { UserError } from '../errors.js';
import { toSwarmNode, type RawNode } from './model.js';

/** The node label naming the machine a node is. */
export const MACHINE_LABEL = 'swarmup.machine';
/** The node label naming the cluster a node belongs to. */
export const CLUSTER_LABEL = 'swarmup.cluster';
/** The node label with the role the cluster wants for it. */
export const ROLE_LABEL = 'swarmup.role';

/** What swarmup knows about a machine when it looks for its node. */
export interface MachineRef {
  name: string;
  /**
   * The node ID the machine's daemon reports now; `null` when its daemon says it is in no swarm;
   * undefined when it was not asked (then the weaker evidence below is used).
   */
  nodeId?: string | null;
  /** Node IDs the store recorded for it, newest first. */
  recordedIds?: readonly string[];
  /** The address it advertises to the swarm (its internal IP). */
  address?: string;
  /** The host's own hostname, when known. */
  hostname?: string;
}

export type MatchedBy = 'id' | 'recorded' | 'label' | 'address' | 'hostname';

export interface Identified {
  /** Machine name → its node. */
  nodes: Map<string, RawNode>;
  /** How each machine's node was found. */
  matchedBy: Map<string, MatchedBy>;
  /** Nodes that are no machine's: leftovers or strangers (see `classifyOthers`). */
  others: RawNode[];
}

export const isReadyNode = (n: RawNode): boolean => n.Status?.State === 'ready';
const labelOf = (n: RawNode, key: string): string | undefined => n.Spec?.Labels?.[key] ?? undefined;
const addrOf = (n: RawNode): string => toSwarmNode(n).addr;

/** The best of several candidates: a Ready one, then the newest. */
function best(candidates: RawNode[]): RawNode | undefined {
  return [...candidates].sort(
    (a, b) =>
      Number(isReadyNode(b)) - Number(isReadyNode(a)) || (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''),
  )[0];
}

/** Match every machine to at most one node, and every node to at most one machine. */
export function identifyNodes(nodes: readonly RawNode[], machines: readonly MachineRef[]): Identified {
  const found = new Map<string, RawNode>();
  const matchedBy = new Map<string, MatchedBy>();
  const taken = new Set<string>();
  const assign = (m: MachineRef, n: RawNode | undefined, how: MatchedBy) => {
    if (!n || found.has(m.name) || taken.has(n.ID)) return;
    found.set(m.name, n);
    matchedBy.set(m.name, how);
    taken.add(n.ID);
  };
  const free = () => nodes.filter((n) => !taken.has(n.ID));
  for (const m of machines)
    if (m.nodeId)
      assign(
        m,
        nodes.find((n) => n.ID === m.nodeId),
        'id',
      );
  // Machines whose daemon did not say: the store's record, then labels, addresses, hostnames.
  const unasked = () => machines.filter((m) => m.nodeId === undefined && !found.has(m.name));
  for (const m of unasked()) {
    for (const id of m.recordedIds ?? [])
      assign(
        m,
        free().find((n) => n.ID === id),
        'recorded',
      );
  }
  for (const m of unasked())
    assign(m, best(free().filter((n) => labelOf(n, MACHINE_LABEL) === m.name)), 'label');
  for (const m of unasked()) {
    if (m.address) assign(m, best(free().filter((n) => addrOf(n) === m.address)), 'address');
  }
  for (const m of unasked()) {
    if (!m.hostname || machines.filter((x) => x.hostname === m.hostname).length > 1) continue;
    const same = free().filter((n) => n.Description?.Hostname === m.hostname);
    if (same.length === 1) assign(m, same[0], 'hostname');
  }
  return { nodes: found, matchedBy, others: free() };
}

export type StaleReason = 'recorded' | 'label' | 'address' | 'hostname' | 'never registered';

/** A node that has not said who it is this long after it was made never will (a join lasts seconds). */
export const UNREGISTERED_MS = 60_000;

/** What tells a join that never finished from one under way. */
export interface JoinEvidence {
  /** Node IDs the swarm had before this run's joins: a newer one came from one of them. */
  before?: ReadonlySet<string>;
  /** Now, in ms since the epoch. */
  now?: number;
}

/**
 * A node entry no daemon ever registered (no hostname, not Ready): made by a join this run retried,
 * or older than any join lasts. Either way no machine, ours or not, is that node.
 */
function neverRegistered(n: RawNode, ev: JoinEvidence): boolean {
  if (n.Description?.Hostname || isReadyNode(n)) return false;
  if (ev.before && !ev.before.has(n.ID)) return true;
  const made = Date.parse(n.CreatedAt ?? '');
  return ev.now !== undefined && Number.isFinite(made) && ev.now - made > UNREGISTERED_MS;
}

/**
 * Split the nodes that are no machine's into leftovers that are provably the cluster's own (safe to
 * remove) and strangers (to report, never to touch). A leftover is a node whose ID the store recorded
 * for a machine, or labelled with a machine's name; labelled with the cluster and not Ready (a machine
 * removed earlier); at a machine's address while that machine's daemon says it is another node (one
 * daemon per address: an entry of a join killed before it was recorded, still Ready until the leader's
 * heartbeat says otherwise), or not Ready there; or not Ready with a hostname only that machine has;
 * or never registered by any daemon (see `neverRegistered`, with the evidence given).
 */
export function classifyOthers(
  others: readonly RawNode[],
  machines: readonly MachineRef[],
  cluster?: string,
  joins: JoinEvidence = {},
): { stale: Array<{ node: RawNode; reason: StaleReason }>; strangers: RawNode[] } {
  const names = new Set(machines.map((m) => m.name));
  const stale: Array<{ node: RawNode; reason: StaleReason }> = [];
  const strangers: RawNode[] = [];
  for (const n of others) {
    const down = !isReadyNode(n);
    const host = n.Description?.Hostname;
    const reason: StaleReason | undefined = machines.some((m) => m.recordedIds?.includes(n.ID))
      ? 'recorded'
      : names.has(labelOf(n, MACHINE_LABEL) ?? '') ||
          (down && cluster !== undefined && labelOf(n, CLUSTER_LABEL) === cluster)
        ? 'label'
        : machines.some((m) => m.address && m.address === addrOf(n) && (down || typeof m.nodeId === 'string'))
          ? 'address'
          : down && host && machines.filter((m) => m.hostname === host).length === 1
            ? 'hostname'
            : neverRegistered(n, joins)
              ? 'never registered'
              : undefined;
    if (reason) stale.push({ node: n, reason });
    else strangers.push(n);
  }
  return { stale, strangers };
}

/** `ID (hostname, state, address)` for messages. */
export function describeNode(n: RawNode): string {
  const v = toSwarmNode(n);
  return `${v.id} (${v.hostname || '?'}, ${v.state}${v.addr ? `, ${v.addr}` : ''})`;
}

/**
 * The one node a reference means, for the low-level calls: a node ID, or a hostname that exactly one
 * node has. Several nodes with that hostname: refused (give the ID).
 */
export function findNode(nodes: readonly RawNode[], ref: string): RawNode {
  const byId = nodes.find((n) => n.ID === ref);
  if (byId) return byId;
  const all = nodes.filter((n) => n.Description?.Hostname === ref);
  if (all.length === 1) return all[0];
  if (all.length === 0) throw new UserError(`no swarm node is named "${ref}"`);
  throw new UserError(
    `${all.length} swarm nodes are named "${ref}" (${all.map((n) => `${n.ID} ${n.Status?.State ?? '?'}`).join(', ')}): use a node ID`,
  );
}

/**
 * For each machine, whether its node is Ready and active; for the others a reason, e.g.
 * `w2 (down, active: heartbeat failure)` or `w3 (not in the swarm)`. `others` are the nodes that are
 * no machine's.
 */
export function nodeReadiness(
  nodes: readonly RawNode[],
  machines: readonly MachineRef[],
): { ready: Map<string, RawNode>; notReady: string[]; others: RawNode[] } {
  const id = identifyNodes(nodes, machines);
  const ready = new Map<string, RawNode>();
  const notReady: string[] = [];
  for (const m of machines) {
    const n = id.nodes.get(m.name);
    if (!n) notReady.push(`${m.name} (not in the swarm)`);
    else if (isReadyNode(n) && n.Spec?.Availability === 'active') ready.set(m.name, n);
    else {
      const msg = n.Status?.Message ? `: ${n.Status.Message}` : '';
      notReady.push(
        `${m.name} (${n.Status?.State ?? 'unknown'}, ${n.Spec?.Availability ?? 'unknown'}${msg})`,
      );
    }
  }
  return { ready, notReady, others: id.others };
}
