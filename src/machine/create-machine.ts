import type { ClusterMembership, Driver, DriverPlugin, FlagValues } from '../driver/contract.js';
import { UserError, oneLine } from '../errors.js';
import { provision } from '../provision/provisioner.js';
import {
  CONFIG_VERSION,
  defaultAuthOptions,
  type EngineOptions,
  type MachineConfig,
} from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import { checkAborted } from '../util/interrupt.js';
import { driverContext, saveMachine, type Machine } from './machine.js';

export interface CreateRequest {
  store: Store;
  plugin: DriverPlugin;
  name: string;
  flags: FlagValues;
  engine: EngineOptions;
  log: (msg: string) => void;
  cluster?: ClusterMembership;
  /** Say how to finish or remove a half-made machine (callers that roll back say otherwise). */
  repairHint?: boolean;
  /** Called once the name is claimed: from here on, what is made under the name is this run's. */
  onClaimed?: () => void;
  /** Called just before the driver starts making things (instance, container, shared resources). */
  onDriverCreate?: () => void;
  /** Aborted by SIGINT/SIGTERM: stop at the next step and remove what was made. */
  signal?: AbortSignal;
  /**
   * A driver from a batch create (src/cluster/batch.ts): its instance exists and the batch ran the
   * pre-create checks; its create() finishes the machine.
   */
  prepared?: Driver;
}

/** Wait for `p`, or stop waiting when `signal` aborts (p's late failure is then ignored). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  checkAborted(signal);
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function runPreCreateCheck(driver: Driver): Promise<void> {
  try {
    await driver.preCreateCheck?.();
  } catch (err) {
    throw new UserError(`Error with pre-create check: ${oneLine(err)}`, 3);
  }
}

/**
 * The driver's pre-create checks for a machine that does not exist yet, making nothing: a cluster
 * runs them for every new machine before it creates any.
 */
export async function checkBeforeCreate(
  req: Pick<CreateRequest, 'store' | 'plugin' | 'name' | 'flags' | 'log' | 'cluster'>,
): Promise<void> {
  const mod = await req.plugin.load();
  const ctx = {
    ...driverContext(req.store, req.name),
    log: req.log,
    cluster: req.cluster,
    storeId: await req.store.id(),
  };
  await runPreCreateCheck(await mod.fromFlags(ctx, req.flags));
}

/**
 * Create a machine and provision it. A failure before the driver made anything leaves nothing behind;
 * a failure after it keeps the machine record so that `provision` or `rm` can finish the job.
 */
export async function createMachine(req: CreateRequest): Promise<Machine> {
  const { store, plugin, name, log } = req;
  const mod = await plugin.load();
  await store.reserve(name);
  req.onClaimed?.();
  let driver: Driver | undefined;
  let created = false;
  try {
    checkAborted(req.signal);
    const ctx = { ...driverContext(store, name), log, cluster: req.cluster, storeId: await store.id() };
    driver = req.prepared ?? (await mod.fromFlags(ctx, req.flags));
    if (!req.prepared) {
      log('Running pre-create checks...');
      await runPreCreateCheck(driver);
    }
    checkAborted(req.signal);
    log('Creating machine...');
    req.onDriverCreate?.();
    await driver.create();
    created = true;
    checkAborted(req.signal);
    const cfg: MachineConfig = {
      ConfigVersion: CONFIG_VERSION,
      Name: name,
      DriverName: plugin.name,
      Driver: driver.state,
      HostOptions: { EngineOptions: req.engine, AuthOptions: defaultAuthOptions(name) },
      CreatedAt: new Date().toISOString(),
      Provisioned: false,
      ...(req.cluster ? { Cluster: { Name: req.cluster.name, Role: req.cluster.role } } : {}),
    };
    const m: Machine = { store, cfg, driver };
    await saveMachine(m);
    await unlessAborted(provision(m, { log }), req.signal);
    return m;
  } catch (err) {
    if (req.signal?.aborted) {
      // Interrupted: what this create made goes, and so does its claim.
      log('interrupted: removing what this create made');
      await driver?.remove().catch(() => undefined);
      await store.release(name);
      throw err;
    }
    if (!created) {
      await driver?.remove().catch(() => undefined);
      await store.release(name);
      throw err;
    }
    if (req.repairHint === false) throw err;
    throw new UserError(
      `${oneLine(err)}. The machine "${name}" exists but is not fully provisioned: fix the cause and run ` +
        `"swarmup provision ${name}", or remove it with "swarmup rm -y ${name}"`,
      err instanceof UserError ? err.exitCode : 1,
    );
  }
}
