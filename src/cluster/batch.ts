/**
 * Batch creation for `cluster up` and `cluster scale`: the machines a run must make are claimed
 * together and, when the driver can (`createMachines`), their instances are made with one call per
 * zone and role instead of one per machine. Each machine is then finished in its own step (wait for
 * it, log in, pin the host key, its own SSH key, certificates, provisioning) under the phase's bound.
 * A machine the batch could not make is created on its own, as without a batch.
 */
import type {
  BatchOutcome,
  BatchResult,
  ClusterMembership,
  Driver,
  DriverContext,
  DriverModule,
  DriverPlugin,
  FlagValues,
} from '../driver/contract.js';
import { oneLine } from '../errors.js';
import { createMachine } from '../machine/create-machine.js';
import { driverContext, type Machine } from '../machine/machine.js';
import type { EngineOptions } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import type { Log } from '../ui/progress.js';
import { batchJournal } from './batch-journal.js';

export interface BatchCreatorOptions {
  store: Store;
  plugin: DriverPlugin;
  mod: DriverModule;
  flags: FlagValues;
  /** A machine's own flags when it is made on its own (a host of an inventory); else `flags`. */
  flagsOf?: (name: string) => FlagValues;
  engine: EngineOptions;
  cluster: string;
  membership: (role: 'manager' | 'worker') => ClusterMembership;
  /** The machines this run must make (no config in the store), with their roles. */
  missing: Array<{ name: string; role: 'manager' | 'worker' }>;
  onClaimed: (name: string) => void;
  onDriverCreate: () => void;
  signal?: AbortSignal;
  log: Log;
}

/**
 * Creates the machines of one `cluster up` run: `create(name)` is called by each machine's step.
 * The first call starts the batch for every missing machine; each step then finishes its own.
 */
export class BatchCreator {
  private batch?: Promise<Map<string, BatchOutcome>>;
  private result?: BatchResult;
  private pending: Set<string>;
  private logs = new Map<string, Log>();
  private settled = false;
  /** Machines whose batch-made driver went to their own create (which removes it on failure). */
  private handed = new Set<string>();

  constructor(private readonly o: BatchCreatorOptions) {
    this.pending = new Set(o.missing.map((m) => m.name));
  }

  /** Batch only when the driver can and there is more than one machine to make. */
  get batched(): boolean {
    return !!this.o.mod.createMachines && this.o.missing.length > 1;
  }

  /**
   * Run the batch (the machines phase calls this before its steps): a failure as a whole, such as a
   * quota too small for the machines, fails the phase once, and the claims go again.
   */
  async start(): Promise<void> {
    if (!this.batched || this.batch) return;
    this.batch = this.run();
    try {
      await this.batch;
    } catch (err) {
      for (const m of this.o.missing)
        if (!(await this.o.store.exists(m.name))) await this.o.store.release(m.name).catch(() => undefined);
      throw err;
    }
  }

  async create(name: string, role: 'manager' | 'worker', log: Log): Promise<Machine> {
    const o = this.o;
    this.logs.set(name, log);
    // On its own (prepared: finishing an instance the batch made, which made the driver's create).
    const single = (prepared?: Driver) =>
      createMachine({
        store: o.store,
        plugin: o.plugin,
        name,
        flags: o.flagsOf?.(name) ?? o.flags,
        engine: o.engine,
        log,
        cluster: o.membership(role),
        repairHint: false,
        onClaimed: () => o.onClaimed(name),
        onDriverCreate: prepared ? undefined : o.onDriverCreate,
        signal: o.signal,
        prepared,
      });
    if (!this.batched || !this.pending.has(name)) return single();
    try {
      const outcome = (await (this.batch ??= this.run())).get(name);
      if (!outcome) return await single();
      if ('error' in outcome) {
        log(`not made by the batch (${oneLine(outcome.error)}); creating it on its own`);
        return await single();
      }
      this.handed.add(name);
      return await single(outcome.driver);
    } finally {
      this.pending.delete(name);
      if (this.pending.size === 0) await this.settle();
    }
  }

  /** Claim every missing machine, then one batch create; a batch that fails as a whole fails each step. */
  private async run(): Promise<Map<string, BatchOutcome>> {
    const o = this.o;
    const storeId = await o.store.id();
    const contexts: DriverContext[] = [];
    for (const m of o.missing) {
      await o.store.reserve(m.name);
      o.onClaimed(m.name);
      contexts.push({
        ...driverContext(o.store, m.name),
        // Each machine's lines go to its own step once that step runs.
        log: (msg) => (this.logs.get(m.name) ?? ((s: string) => o.log(`[${m.name}] ${s}`)))(msg),
        cluster: o.membership(m.role),
        storeId,
      });
    }
    o.log(`making ${contexts.length} machines in a batch`);
    o.onDriverCreate();
    this.result = await o.mod.createMachines!({
      machines: contexts,
      flags: o.flags,
      journal: batchJournal(o.store, o.cluster),
      log: o.log,
      signal: o.signal,
    });
    return new Map(this.result.outcomes.map((x) => [x.name, x]));
  }

  /**
   * Called once every step is over (or the phase failed or was interrupted): an instance the batch
   * made for a machine whose step never ran is removed (nothing else would: it has no config), then
   * the driver drops what only the batch needed (a bootstrap key). Never throws.
   */
  async settle(): Promise<void> {
    if (this.settled || !this.result) return;
    this.settled = true;
    for (const x of this.result.outcomes) {
      if (!('driver' in x) || this.handed.has(x.name)) continue;
      this.o.log(`[${x.name}] not finished in this run: removing its instance`);
      await x.driver.remove().catch((err) => this.o.log(`[${x.name}] ${oneLine(err)}`));
      if (!(await this.o.store.exists(x.name))) await this.o.store.release(x.name).catch(() => undefined);
    }
    await this.result.done().catch((err) => this.o.log(`batch cleanup: ${oneLine(err)}`));
  }
}
