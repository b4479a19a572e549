/**
 * Changes to node entries through a manager: labels, role, removal. A node is referred to by its ID
 * (swarmup always passes IDs) or by a hostname exactly one node has.
 */
import type { EngineEndpoint } from '../engine/api.js';
import { retryUntil } from '../util/async.js';
import { call, callRetrying, engineGet, rawNodes, swarmState, waitUntil } from './calls.js';
import { isNoSuchNode, isNotInRaft, isTransient } from './errors.js';
import { findNode } from './identity.js';
import { mergeLabels, type RawNode } from './model.js';

type NodeSpec = NonNullable<RawNode['Spec']>;

const UPDATE_DEADLINE_MS = 60_000;

/**
 * Versioned read-modify-write of a node spec; `change` returns undefined when there is nothing to do.
 * Retried on "update out of sequence" (another update won the race) and transient errors.
 */
async function updateNode(
  manager: EngineEndpoint,
  ref: string,
  action: string,
  change: (spec: NodeSpec) => NodeSpec | undefined,
): Promise<{ node: RawNode; updated: boolean }> {
  return retryUntil(
    async () => {
      const node = findNode(await rawNodes(manager), ref);
      const spec = change(structuredClone(node.Spec ?? {}));
      if (!spec) return { node, updated: false };
      await call(manager, action, (d) =>
        d.getNode(node.ID).update({ _query: { version: node.Version?.Index ?? 0 }, _body: spec }),
      );
      return { node, updated: true };
    },
    { deadlineMs: UPDATE_DEADLINE_MS, initialMs: 100, maxMs: 1_000, retryable: isTransient },
  );
}

/** Merge `labels` into the node's labels (no update when they are already there). */
export async function setNodeLabels(
  manager: EngineEndpoint,
  ref: string,
  labels: Record<string, string>,
): Promise<void> {
  await updateNode(manager, ref, `labelling node ${ref}`, (spec) => {
    const merged = mergeLabels(spec.Labels, labels);
    return merged ? { ...spec, Labels: merged } : undefined;
  });
}

/**
 * Promote or demote a node, then wait until raft agrees: a promoted node is a reachable manager, a
 * demoted one no longer has a manager status. Demoting the manager being talked to is fine: the wait
 * then watches that daemon give up control.
 */
export async function setNodeRole(
  manager: EngineEndpoint,
  ref: string,
  role: 'manager' | 'worker',
): Promise<void> {
  const verb = role === 'manager' ? 'promoting' : 'demoting';
  const { node } = await updateNode(manager, ref, `${verb} node ${ref}`, (spec) =>
    spec.Role === role ? undefined : { ...spec, Role: role },
  );
  // Wait even when the spec already had the role: a transition started earlier may be in flight.
  const self = role === 'worker' && (await swarmState(manager)).nodeId === node.ID;
  await waitUntil(
    `node ${ref} did not finish ${verb}`,
    async () => {
      if (self) return !(await swarmState(manager)).isManager;
      const n = (await rawNodes(manager)).find((x) => x.ID === node.ID);
      if (!n) return false;
      return role === 'manager' ? n.ManagerStatus?.Reachability === 'reachable' : !n.ManagerStatus;
    },
    UPDATE_DEADLINE_MS,
  );
}

/**
 * Force-remove a node entry (none is fine). A manager entry is demoted first, as Docker refuses to
 * remove a raft member. Draining and `swarm leave` are the caller's job.
 */
export async function removeNode(manager: EngineEndpoint, ref: string): Promise<void> {
  let n: RawNode;
  try {
    n = findNode(await rawNodes(manager), ref);
  } catch (err) {
    if (/no swarm node is named/.test((err as Error).message)) return;
    throw err;
  }
  if (n.Spec?.Role === 'manager' || n.ManagerStatus) {
    try {
      await setNodeRole(manager, n.ID, 'worker');
    } catch (err) {
      // A manager that a forced new cluster dropped from raft has nothing left to demote.
      if (!isNotInRaft(err)) throw err;
    }
  }
  try {
    await callRetrying(manager, `removing node ${n.ID}`, (d) => d.getNode(n.ID).remove({ force: true }));
  } catch (err) {
    if (!isNoSuchNode(err)) throw err;
  }
}

/**
 * Drain a node: swarm moves its tasks to other nodes. Waits (at most `timeoutMs`) until none of its
 * tasks still runs; a node whose tasks cannot move (nowhere else to go) is not waited for longer.
 */
export async function drainNode(manager: EngineEndpoint, ref: string, timeoutMs = 30_000): Promise<boolean> {
  const { node, updated } = await updateNode(manager, ref, `draining node ${ref}`, (spec) =>
    spec.Availability === 'drain' ? undefined : { ...spec, Availability: 'drain' },
  );
  const filters = encodeURIComponent(JSON.stringify({ node: [node.ID], 'desired-state': ['running'] }));
  try {
    await waitUntil(
      `node ${ref} still runs tasks`,
      async () => {
        const tasks = JSON.parse(await engineGet(manager, `/tasks?filters=${filters}`, 'listing tasks')) as {
          Status?: { State?: string };
        }[];
        return !tasks.some((t) => t.Status?.State === 'running');
      },
      timeoutMs,
    );
  } catch {
    // Best effort: the node goes anyway, and swarm reschedules what it ran.
  }
  return updated;
}
