/**
 * Ownership of instances a batch made. RunInstances gives every instance of a call the same tags, so
 * a batch-made instance carries no per-machine tag: its tags name the store, the cluster and the
 * batch (`swarmup-batch`), and its HostName (`HostNames.N`, one per instance) names the machine.
 */
import type { EcsInstance } from '../../src/cloud/aliyun/ecs.js';
import { TAG, tagsOf } from '../../src/cloud/aliyun/tags.js';

export const BATCH_TAG = TAG.batch;

/** Whether `i` is the batch-made instance of machine `name` of cluster `cluster` (the store is checked by the caller). */
export function batchMade(i: EcsInstance, name: string, cluster: string | undefined): boolean {
  const t = tagsOf(i);
  return (
    !!t[BATCH_TAG] &&
    t[TAG.machine] === undefined &&
    !!cluster &&
    t[TAG.cluster] === cluster &&
    i.HostName === name
  );
}
