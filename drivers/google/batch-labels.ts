/**
 * Ownership of instances a batch made. One bulkInsert gives every instance the same labels, so a
 * batch-made instance carries no per-machine label: its labels name the store, the cluster and the
 * batch (`swarmup-batch`), and its name, chosen by the request and immutable, names the machine.
 */
import type { Instance } from '../../src/cloud/gce/api.js';
import { LABEL, encodeLabelValue } from '../../src/cloud/gce/labels.js';

export const BATCH_LABEL = 'swarmup-batch';

/** Whether `i` is the batch-made instance of machine `name` of cluster `cluster` (the store is checked by the caller). */
export function batchMade(i: Instance, name: string, cluster: string): boolean {
  const l = i.labels ?? {};
  return (
    !!l[BATCH_LABEL] &&
    l[LABEL.machine] === undefined &&
    !!cluster &&
    l[LABEL.cluster] === encodeLabelValue(cluster) &&
    i.name === name
  );
}

/** The machine an instance is: its machine label, or (batch-made) its name. */
export const machineOf = (i: Instance): string => i.labels?.[LABEL.machine] || String(i.name);
