/** `cluster down` removes the in-cluster controller first, so that nothing re-creates what goes next. */
import { loadClusterRecord } from '../../cluster/record.js';
import { oneLine } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { debug } from '../../util/log.js';
import type { Log } from '../backend.js';
import { LB_OF_DRIVER } from '../backends.js';
import { managerClient } from '../engine.js';
import { clusterTarget } from '../target.js';
import { removeController } from './install.js';

/**
 * Remove the controller of a cloud cluster when one of its managers answers; what went. A cluster
 * whose managers are gone has no controller left to stop (its failures are debug lines only).
 */
export async function removeClusterController(
  store: Store,
  cluster: string,
  driver: string | undefined,
  log: Log,
): Promise<string[]> {
  if (!driver || (LB_OF_DRIVER[driver] ?? 'local') === 'local') return [];
  if (!(await loadClusterRecord(store, cluster))) return [];
  try {
    const t = await clusterTarget(store, cluster);
    const m = await t.manager();
    return await removeController(managerClient(m.endpoint), log);
  } catch (err) {
    debug(`load-balancer controller of ${cluster}: ${oneLine(err)}`);
    return [];
  }
}
