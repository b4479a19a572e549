// Shared insert/delete/list/setLabels plumbing for the simple resources (firewalls, addresses, health
// checks, target pools, forwarding rules): created on insert but usable only once the operation is
// DONE; deleted when the delete operation is DONE.
import { alreadyExists, fingerprintMismatch, notReady } from './errors.js';
import { listResponse } from './list.js';
import type { OperationJson, OperationWork } from './operations.js';
import type { Call } from './router.js';
import type { Collection, State, Stored } from './state.js';
import type { Scope } from './urls.js';
import { checkLabels, fingerprint } from './validate.js';

export const EMPTY_FINGERPRINT = '42WmSpB8rSM=';
export const labelFingerprint = (labels: Record<string, string>) =>
  Object.keys(labels).length ? fingerprint(labels) : EMPTY_FINGERPRINT;

export function checkNew<S extends Stored>(coll: Collection<S>, scope: Scope, name: string): void {
  if (coll.find(scope, name)) throw alreadyExists(coll.path(scope, name));
}

/** Store `rec` (not ready) and start its insert operation. */
export function insertResource<S extends Stored>(
  state: State,
  coll: Collection<S>,
  rec: S,
  work: OperationWork = {},
): OperationJson {
  coll.add(rec);
  return state.operation(rec.scope, 'insert', rec, {
    run: work.run,
    commit: () => {
      rec.ready = true;
      work.commit?.();
    },
    rollback: async () => {
      coll.remove(rec);
      await work.rollback?.();
    },
  });
}

/** Start the delete operation of a resource; `check` throws when something still uses it. */
export function deleteResource<S extends Stored>(
  state: State,
  coll: Collection<S>,
  scope: Scope,
  name: string,
  opts: { check?: (rec: S) => void; commit?: (rec: S) => void } = {},
): OperationJson {
  const rec = coll.get(scope, name);
  if (!rec.ready || rec.deleting) throw notReady(coll.path(scope, name));
  opts.check?.(rec);
  rec.deleting = true;
  return state.operation(scope, 'delete', rec, {
    commit: () => {
      coll.remove(rec);
      opts.commit?.(rec);
    },
    rollback: () => {
      rec.deleting = false;
    },
  });
}

export function listResource<S extends Stored>(
  state: State,
  coll: Collection<S>,
  scope: Scope,
  query: URLSearchParams,
  kind: string,
  render: (s: S) => unknown = (s) => s.json,
) {
  return listResponse(
    coll.inScope(scope).map(render),
    query,
    kind,
    state.links.path(`${scope}/${coll.name}`),
    state.links.url(`${scope}/${coll.name}`),
  );
}

/** POST …/{resource}/setLabels with `{labels, labelFingerprint}` (addresses, forwarding rules). */
export function setLabels<S extends Stored>(state: State, coll: Collection<S>, scope: Scope, call: Call) {
  const rec = coll.mutable(scope, call.params.resource);
  const current = (rec.json.labels ?? {}) as Record<string, string>;
  if ((call.body?.labelFingerprint ?? '') !== (rec.json.labelFingerprint ?? labelFingerprint(current)))
    throw fingerprintMismatch('labels');
  const labels = checkLabels(call.body?.labels, 'labels');
  const old = { labels: rec.json.labels, fp: rec.json.labelFingerprint };
  if (Object.keys(labels).length) rec.json.labels = labels;
  else delete rec.json.labels;
  rec.json.labelFingerprint = labelFingerprint(labels);
  return state.operation(scope, 'setLabels', rec, {
    rollback: () => {
      rec.json.labels = old.labels;
      rec.json.labelFingerprint = old.fp;
    },
  });
}
