import type { ClusterMembership, DriverModule, DriverPlugin } from '../driver/contract.js';
import { findDriver } from '../driver/registry.js';
import { UserError, oneLine } from '../errors.js';
import { engineRequest } from '../engine/api.js';
import { engineEndpoint, loadMachine, saveMachine, type Machine } from '../machine/machine.js';
import { validateEngineOptions } from '../provision/engine-config.js';
import { provision } from '../provision/provisioner.js';
import type { Store } from '../store/store.js';
import { bootstrapSwarm } from '../swarm/bootstrap.js';
import { listNodes } from '../swarm/calls.js';
import type { MachineRef } from '../swarm/identity.js';
import type { SwarmMember } from '../swarm/membership.js';
import type { SwarmNode } from '../swarm/model.js';
import { waitNodesReady } from '../swarm/ready.js';
import { assignHosts, hostFlags, recordedHosts } from './hosts.js';
import { checkNewHosts, giveBackHost, hostedMachines } from './inventory.js';
import { machineNode, removeMachineNode } from './members.js';
import { runPhases, type Log, type Phase } from '../ui/progress.js';
import { clusterMachines } from './access.js';
import { BatchCreator } from './batch.js';
import { lockCluster } from './cluster-lock.js';
import { RunLedger } from './rollback.js';
import {
  loadClusterRecord,
  memberNames,
  rebuildStoreOf,
  recordNodeIds,
  recordedIds,
  remadeSinceRecorded,
  saveClusterRecord,
  validateClusterName,
  type ClusterRecord,
} from './record.js';
import { checkSpecBounds, parseDuration, type ClusterSpec } from './spec.js';
import { debug } from '../util/log.js';
import { interruptible, signalExitCode, type Interrupt } from '../util/interrupt.js';
import { requireDriverFlags, storableFlags } from '../driver/flags.js';

export interface UpOptions {
  store: Store;
  spec: ClusterSpec;
  wait: boolean;
  timeoutMs: number;
  retain: boolean;
  interactive?: boolean;
  log: Log;
  /** --wait-lock: wait this long for another run that changes the cluster (default: fail at once). */
  waitLockMs?: number;
  /** --rebuild-swarm: a new swarm with what the old one holds (src/swarm/steps/rebuild.ts). */
  rebuildSwarm?: boolean;
}

export interface UpResult {
  cluster: string;
  fresh: boolean;
  created: string[];
  repaired: string[];
  unchanged: string[];
  removed: string[];
  initialized: boolean;
  joined: string[];
  /** The swarm was rebuilt (--rebuild-swarm, or a quorum repair that had to): see src/swarm/steps/rebuild.ts. */
  swarmRebuilt: boolean;
  durations: Record<string, number>;
  nodes: SwarmNode[];
}

async function engineAnswers(m: Machine): Promise<boolean> {
  try {
    return (await engineRequest(await engineEndpoint(m), 'GET', '/_ping', 3_000)).status === 200;
  } catch {
    return false;
  }
}

/**
 * Bring a cluster to its spec: create missing machines, repair broken ones, leave healthy ones alone,
 * bootstrap or complete the swarm, remove machines beyond the spec, and wait until every node is Ready.
 * A fresh cluster that fails is removed again unless `retain` is set.
 */
export async function clusterUp(o: UpOptions): Promise<UpResult> {
  const { store, spec } = o;
  validateClusterName(spec.name);
  checkSpecBounds(spec);
  const plugin = findDriver(spec.driver);
  const inv = plugin.inventory;
  if (spec.hosts && !inv)
    throw new UserError(`spec.hosts lists existing hosts: the ${spec.driver} driver makes its own machines`);
  if (inv && spec.hosts)
    for (const h of spec.hosts) requireDriverFlags(plugin, hostFlags(inv, spec.driverOptions, h));
  else requireDriverFlags(plugin, spec.driverOptions);
  validateEngineOptions(spec.engine);
  if (o.rebuildSwarm && !(await loadClusterRecord(store, spec.name)))
    throw new UserError(
      `Cluster "${spec.name}" does not exist: --rebuild-swarm rebuilds the swarm of an existing cluster`,
    );
  const mod = await plugin.load();
  const release = await lockCluster(store, spec.name, {
    what: 'cluster up',
    waitMs: o.waitLockMs,
    log: o.log,
  });
  const interrupt = interruptible((sig) =>
    o.log(`${sig}: stopping after the steps under way; a second ${sig} exits at once`),
  );
  try {
    return await converge(o, plugin, mod, interrupt);
  } finally {
    // The handler stays until the lock is released: a signal that comes once the work is done lets the
    // run finish (and print its result) instead of killing it halfway through the release.
    await release();
    interrupt.dispose();
  }
}

async function converge(
  o: UpOptions,
  plugin: DriverPlugin,
  mod: DriverModule,
  interrupt: Interrupt,
): Promise<UpResult> {
  const { store, spec } = o;
  const ledger = new RunLedger();
  const previous = await loadClusterRecord(store, spec.name);
  if (previous && previous.Driver !== spec.driver) {
    throw new UserError(
      `Cluster "${spec.name}" exists with the ${previous.Driver} driver, not ${spec.driver}`,
    );
  }
  // Existing hosts: which machine each is; new ones must all answer before anything is made.
  const inv = plugin.inventory;
  const existing = await clusterMachines(store, spec.name);
  const assignment =
    inv && spec.hosts
      ? assignHosts(
          spec.name,
          inv,
          spec.driverOptions,
          spec.hosts,
          spec.managers,
          await hostedMachines(existing),
        )
      : undefined;
  const hostOf = new Map(assignment?.desired.map((d) => [d.name, d.host]));
  const flagsFor = (name: string) => {
    const h = hostOf.get(name);
    return inv && h ? hostFlags(inv, spec.driverOptions, h) : spec.driverOptions;
  };
  if (assignment) {
    const had = new Set(existing.map((m) => m.cfg.Name));
    const fresh = assignment.desired.filter((d) => !had.has(d.name));
    await checkNewHosts(
      store,
      plugin,
      fresh.map((d) => ({ name: d.name, address: d.host.address, flags: flagsFor(d.name) })),
      spec.parallel,
    );
  }
  const now = new Date();
  const record: ClusterRecord = {
    ConfigVersion: 1,
    Name: spec.name,
    Driver: spec.driver,
    DriverOptions: storableFlags(plugin, spec.driverOptions),
    Managers: spec.managers,
    Workers: spec.workers,
    Parallel: spec.parallel,
    Engine: spec.engine,
    Labels: spec.labels,
    CreatedAt: previous?.CreatedAt ?? now.toISOString(),
    ExpiresAt: spec.ttl
      ? new Date(now.getTime() + parseDuration(spec.ttl)).toISOString()
      : previous?.ExpiresAt,
    Nodes: previous?.Nodes,
    Leader: previous?.Leader,
    Hosts: assignment ? recordedHosts(assignment) : previous?.Hosts,
  };
  await saveClusterRecord(store, record);
  ledger.recordCreated = !previous;

  const result: UpResult = {
    cluster: spec.name,
    fresh: !previous,
    created: [],
    repaired: [],
    unchanged: [],
    removed: [],
    initialized: false,
    swarmRebuilt: false,
    joined: [],
    durations: {},
    nodes: [],
  };
  const desired = assignment?.desired ?? memberNames(spec.name, spec.managers, spec.workers);
  const wanted = new Set(desired.map((d) => d.name));
  const machines = new Map<string, Machine>();
  const extraLabels: Record<string, string> = { ...spec.labels };
  if (record.ExpiresAt) extraLabels['swarmup.expires'] = record.ExpiresAt;

  // The machines to make: one batch when the driver can (src/cluster/batch.ts), else one by one.
  const missing: typeof desired = [];
  for (const d of desired) if (!(await store.exists(d.name))) missing.push(d);
  const creator = new BatchCreator({
    store,
    plugin,
    mod,
    flags: spec.driverOptions,
    flagsOf: flagsFor,
    engine: spec.engine,
    cluster: spec.name,
    membership: (role): ClusterMembership => ({ name: spec.name, role, labels: extraLabels }),
    missing,
    onClaimed: (name) => ledger.noteMachine(name),
    onDriverCreate: () => (ledger.driverCreated = true),
    signal: interrupt.signal,
    log: o.log,
  });

  const ensure = async (name: string, role: 'manager' | 'worker', log: Log): Promise<void> => {
    if (await store.exists(name)) {
      const m = await loadMachine(store, name);
      const state = await m.driver.getState();
      if (state === 'Error' || state === 'None') {
        log(`the machine is gone (${state}); making it again`);
        await m.driver.remove().catch(() => undefined);
        await store.remove(name);
      } else {
        if (state !== 'Running') {
          log(`Starting (was ${state})...`);
          await m.driver.start();
          await saveMachine(m);
        }
        if (!m.cfg.Provisioned || state !== 'Running' || !(await engineAnswers(m))) {
          await provision(m, { log });
          result.repaired.push(name);
        } else {
          log('healthy; left alone');
          result.unchanged.push(name);
        }
        machines.set(name, m);
        return;
      }
    }
    const m = await creator.create(name, role, log);
    machines.set(name, m);
    result.created.push(name);
  };

  const members = async (): Promise<SwarmMember[]> =>
    Promise.all(
      desired.map(async (d) => {
        const m = machines.get(d.name)!;
        return {
          name: d.name,
          role: d.role,
          endpoint: await engineEndpoint(m),
          advertiseAddr: await m.driver.getInternalIP(),
          recordedNodeIds: recordedIds(record, d.name),
          fresh: result.created.includes(d.name) || remadeSinceRecorded(record, d.name, m.cfg.CreatedAt),
          labels: {
            'swarmup.cluster': spec.name,
            'swarmup.driver': spec.driver,
            ...(typeof m.cfg.Driver.Zone === 'string' ? { 'swarmup.zone': m.cfg.Driver.Zone } : {}),
            ...hostOf.get(d.name)?.labels,
          },
        };
      }),
    );

  let nodeIds: Record<string, string> = {};
  const machineRef = async (name: string): Promise<MachineRef> => ({
    name,
    nodeId: nodeIds[name],
    recordedIds: recordedIds(record, name),
    address: await machines.get(name)!.driver.getInternalIP(),
  });

  let extras: Machine[] = [];
  const phases: Phase[] = [
    {
      key: 'machines',
      title: `Machines (${desired.length})`,
      concurrency: spec.parallel,
      run: () => creator.start(),
      steps: desired.map((d) => ({ title: d.name, run: (log) => ensure(d.name, d.role, log) })),
    },
    {
      key: 'swarm',
      title: 'Swarm',
      run: async (log) => {
        const r = await bootstrapSwarm(await members(), {
          log,
          parallel: spec.parallel,
          repair: true,
          cluster: spec.name,
          lastLeader: record.Leader,
          raftRestartedOn: record.RaftRestartedOn,
          rebuild: o.rebuildSwarm,
          rebuildStore: rebuildStoreOf(store, spec.name),
          onRaftRestart: async (member) => {
            record.RaftRestartedOn = member;
            await saveClusterRecord(store, record);
          },
          // A restarted raft that names no leader: the engine, restarted through the driver, reloads it.
          restartEngine: async (member) => {
            await provision(machines.get(member)!, { log: (l) => debug(`${member}: ${l}`), restart: true });
            debug(`swarm: ${member}: Docker Engine restarted`);
          },
          // Recorded as soon as known: a run killed later still tells these nodes from leftovers.
          onNodeIds: async (ids) => {
            const createdAt = Object.fromEntries([...machines].map(([n, m]) => [n, m.cfg.CreatedAt]));
            if (recordNodeIds(record, ids, createdAt)) await saveClusterRecord(store, record);
          },
        });
        result.initialized = r.initialized;
        result.joined = r.joined;
        result.swarmRebuilt = !!r.rebuilt;
        nodeIds = r.nodeIds;
      },
    },
    {
      key: 'firewall',
      title: 'Swarm ports between members only',
      skip: () => !mod.ensureClusterFirewall,
      run: (log) => {
        ledger.firewall = true;
        return mod.ensureClusterFirewall!(spec.name, spec.driverOptions, log);
      },
    },
    {
      key: 'scaleDown',
      title: 'Remove machines beyond the spec',
      skip: () => extras.length === 0,
      run: async (log) => {
        result.removed = await removeMembers(extras, await managerOf(machines, desired), log, record);
      },
    },
    {
      key: 'ready',
      title: 'Nodes Ready',
      skip: () => !o.wait,
      run: async (log) => {
        log(`waiting up to ${Math.round(o.timeoutMs / 1000)} s`);
        const refs = await Promise.all(desired.map((d) => machineRef(d.name)));
        // Healthy only when the node list is exactly the machines: a leftover is reported, never hidden.
        result.nodes = await waitNodesReady(await managerOf(machines, desired), refs, o.timeoutMs, {
          exact: true,
          cluster: spec.name,
        });
        const leader = result.nodes.find((n) => n.leader)?.machine;
        if ((leader && leader !== record.Leader) || record.RaftRestartedOn) {
          if (leader) record.Leader = leader;
          // Converged: a raft restart of this or an earlier run is done with.
          delete record.RaftRestartedOn;
          await saveClusterRecord(store, record);
        }
      },
    },
  ];
  extras = existing.filter((m) => !wanted.has(m.cfg.Name));
  try {
    const r = await runPhases(phases, { interactive: o.interactive, signal: interrupt.signal });
    result.durations = r.durations;
  } catch (err) {
    await creator.settle();
    const sig = interrupt.received;
    const code = signalExitCode(sig);
    const what = sig ? `cluster up interrupted by ${sig}` : oneLine(err);
    if (result.fresh && !o.retain) {
      o.log(
        `${sig ? 'interrupted' : 'cluster up failed'}; removing what this run made (pass --retain to keep it for debugging)`,
      );
      const problems = await ledger.undo({
        store,
        cluster: spec.name,
        mod,
        flags: spec.driverOptions,
        log: o.log,
      });
      const left = problems.length
        ? ` Cleanup problems: ${problems.join('; ')}; run "swarmup cluster down ${spec.name}"`
        : ' Nothing was left behind.';
      throw new UserError(`${what}.${left}`, sig ? code : 1);
    }
    throw new UserError(
      `${what}. Run "swarmup cluster up" again to converge, or "swarmup cluster down ${spec.name}".`,
      sig ? code : 1,
    );
  }
  if (!o.wait) result.nodes = await listNodes(await managerOf(machines, desired));
  return result;
}

async function managerOf(machines: Map<string, Machine>, desired: Array<{ name: string; role: string }>) {
  const first = desired.find((d) => d.role === 'manager' && machines.has(d.name))!;
  return engineEndpoint(machines.get(first.name)!);
}

/** Take machines out of the swarm (demote, leave, remove the node) and delete them. */
export async function removeMembers(
  extras: Machine[],
  manager: Awaited<ReturnType<typeof engineEndpoint>>,
  log: Log,
  record?: ClusterRecord,
) {
  const removed: string[] = [];
  for (const m of extras) {
    const name = m.cfg.Name;
    log(`removing ${name}`);
    const node = await machineNode(m, manager, recordedIds(record, name));
    await removeMachineNode(m, manager, node, log);
    await giveBackHost(m, log);
    await m.driver.remove();
    await m.store.remove(name);
    removed.push(name);
  }
  return removed;
}
