import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { clusterMachines, clusterNodes, reachableManager } from '../cluster/access.js';
import { clusterUp, type UpResult } from '../cluster/converge.js';
import { destroyCluster, type DestroyResult } from '../cluster/destroy.js';
import { flagsFromEnv } from '../driver/flags.js';
import {
  listClusterRecords,
  loadClusterRecord,
  requireClusterRecord,
  validateClusterName,
} from '../cluster/record.js';
import {
  loadClusterFile,
  mergeSpec,
  parseDuration,
  type ClusterSpec,
  type SpecFromFile,
} from '../cluster/spec.js';
import { drivers, findDriver } from '../driver/registry.js';
import { dropWorkerHosts, inventorySpec, type HostSpec } from '../cluster/hosts.js';
import { UserError } from '../errors.js';
import { maxNodesFrom } from '../cluster/bounds.js';
import { isValidName } from '../store/names.js';
import { requireClientCertFiles } from '../machine/certs.js';
import { machineUrl } from '../machine/machine.js';
import { listNodes } from '../swarm/calls.js';
import { mapBounded } from '../util/async.js';
import { info } from '../util/log.js';
import { storeOf } from './common.js';
import { formatColumns } from '../ui/table.js';
import { engineOptionsFrom, type EngineFlagOptions } from './create.js';
import { driverFlagValues } from './driver-flags.js';
import { detectShell, formatEnv } from './env-format.js';

interface UpFlags extends EngineFlagOptions {
  driver?: string;
  managers?: number;
  workers?: number;
  parallel?: number;
  file?: string;
  /** Undefined unless --wait or --no-wait was given: waiting is the default. */
  wait?: boolean;
  timeout: string;
  retain?: boolean;
  rebuildSwarm?: boolean;
  ttl?: string;
  label: string[];
  maxNodes?: number;
  waitLock?: string | boolean;
  json?: boolean;
  [k: string]: unknown;
}

/** --wait-lock [duration]: not given = fail at once; given without a value = 30 minutes. */
export function waitLockMs(v: string | boolean | undefined): number {
  if (v === undefined || v === false) return 0;
  return parseDuration(v === true ? '30m' : v, '--wait-lock');
}

function labelsFrom(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (i < 1) throw new UserError(`invalid --label "${l}": expected key=value`);
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** Only what was given on the command line or through an environment variable beats the file. */
function givenFlags(cmd: Command, o: UpFlags, driver: string | undefined): SpecFromFile {
  const given = (k: string) => ['cli', 'env'].includes(cmd.getOptionValueSource(k) ?? '');
  const plugin = driver ? drivers.find((d) => d.name === driver) : undefined;
  return {
    driver: o.driver,
    managers: o.managers,
    workers: o.workers,
    parallel: o.parallel,
    ttl: o.ttl,
    maxNodes: maxNodesFrom(o.maxNodes),
    labels: labelsFrom(o.label),
    driverOptions: plugin
      ? Object.fromEntries(Object.entries(driverFlagValues(plugin, o)).filter(([, v]) => v !== undefined))
      : {},
    engine:
      given('engineInstallUrl') || Object.keys(o).some((k) => k.startsWith('engine') || k === 'tlsSan')
        ? engineOptionsFrom(o)
        : undefined,
  };
}

/** Driver flag defaults, lowest priority in the merge. */
function driverDefaults(driver: string): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const f of findDriver(driver).flags) if (f.default !== undefined) out[f.name] = f.default;
  return out;
}

async function specFrom(name: string | undefined, o: UpFlags, cmd: Command): Promise<ClusterSpec> {
  const file = o.file ? await loadClusterFile(o.file) : {};
  if (name && file.name && name !== file.name) {
    throw new UserError(`the name "${name}" differs from metadata.name "${file.name}" in ${o.file}`);
  }
  const clusterName = name ?? file.name ?? 'default';
  validateClusterName(clusterName);
  // What an earlier `cluster up` was asked for is the starting point of a re-run.
  const record = await loadClusterRecord(storeOf(cmd), clusterName);
  // The built-in default is a local cluster: the docker driver.
  const driver = o.driver ?? file.driver ?? record?.Driver ?? 'docker';
  const flags = givenFlags(cmd, o, driver);
  const defaults: ClusterSpec = {
    name: clusterName,
    driver,
    managers: record?.Managers ?? 1,
    workers: record?.Workers ?? 0,
    parallel: record?.Parallel ?? 8,
    driverOptions: { ...driverDefaults(driver), ...record?.DriverOptions },
    engine: record?.Engine ?? engineOptionsFrom(o),
    labels: record?.Labels ?? {},
  };
  const inv = findDriver(driver).inventory;
  if (!inv) return mergeSpec(defaults, file, { ...flags, name: clusterName });
  // Existing hosts: the machine counts follow the hosts unless given.
  const merged = mergeSpec(defaults, file, { ...flags, name: clusterName });
  const inventory = inventorySpec(
    inv,
    {
      flags: flags.driverOptions ?? {},
      file,
      record: record && { hosts: record.Hosts, driverOptions: record.DriverOptions },
    },
    merged,
    {
      managers: o.managers !== undefined || file.managers !== undefined,
      workers: o.workers !== undefined || file.workers !== undefined,
    },
  );
  return mergeSpec({ ...merged, ...inventory }, {}, {});
}

function printUpSummary(r: UpResult, spec: ClusterSpec, seconds: number): void {
  const ready = r.nodes.filter((n) => n.state === 'ready').length;
  const lead = r.nodes.find((n) => n.leader);
  const leader = lead?.machine ?? lead?.hostname ?? '?';
  info(
    `Cluster "${r.cluster}" is up: ${spec.managers} manager(s), ${spec.workers} worker(s), ${ready}/${r.nodes.length} Ready, leader ${leader} (${seconds.toFixed(1)} s; created ${r.created.length}, repaired ${r.repaired.length}, unchanged ${r.unchanged.length}${r.removed.length ? `, removed ${r.removed.length}` : ''}).`,
  );
  info(`Use it:
  eval "$(swarmup cluster env ${r.cluster})"     # point docker at a manager
  docker node ls
  swarmup image load --cluster ${r.cluster} IMAGE  # copy local images into every node
  swarmup lb sync --cluster ${r.cluster}           # expose published ports
  swarmup cluster down ${r.cluster}                # remove everything`);
}

async function runUp(
  store: ReturnType<typeof storeOf>,
  spec: ClusterSpec,
  o: {
    wait?: boolean;
    timeout: string;
    retain?: boolean;
    rebuildSwarm?: boolean;
    json?: boolean;
    waitLock?: string | boolean;
  },
) {
  const t0 = Date.now();
  const result = await clusterUp({
    waitLockMs: waitLockMs(o.waitLock),
    store,
    spec,
    wait: o.wait !== false,
    timeoutMs: parseDuration(o.timeout, '--timeout'),
    retain: !!o.retain,
    rebuildSwarm: !!o.rebuildSwarm,
    interactive: o.json ? false : undefined,
    log: info,
  });
  const seconds = (Date.now() - t0) / 1000;
  if (o.json) process.stdout.write(JSON.stringify({ ...result, seconds }, null, 2) + '\n');
  else printUpSummary(result, spec, seconds);
}

export async function up(name: string | undefined, o: UpFlags, cmd: Command): Promise<void> {
  await runUp(storeOf(cmd), await specFrom(name, o, cmd), o);
}

export async function scale(
  name: string,
  o: {
    workers?: number;
    managers?: number;
    maxNodes?: number;
    waitLock?: string | boolean;
    json?: boolean;
    [k: string]: unknown;
  },
  cmd: Command,
): Promise<void> {
  const store = storeOf(cmd);
  validateClusterName(name);
  const rec = await requireClusterRecord(store, name);
  const inv = findDriver(rec.Driver).inventory;
  const added = inv ? hostsToAdd(inv.address, o) : [];
  if (o.workers === undefined && o.managers === undefined && !added.length)
    throw new UserError(
      `give --workers and/or --managers${inv ? ` (or --${inv.address} for each host to add)` : ''}`,
    );
  const spec = mergeSpec(
    {
      name,
      driver: rec.Driver,
      managers: rec.Managers,
      workers: rec.Workers,
      parallel: rec.Parallel,
      driverOptions: {
        ...driverDefaults(rec.Driver),
        ...rec.DriverOptions,
        // Credentials and settings given through the environment, never the flags' defaults.
        ...flagsFromEnv(findDriver(rec.Driver), {}, false),
      },
      engine: rec.Engine,
      labels: rec.Labels,
    },
    {},
    { managers: o.managers, workers: o.workers, maxNodes: maxNodesFrom(o.maxNodes) },
  );
  if (inv && (rec.Hosts?.length || added.length)) {
    // Hosts given here are added; fewer workers drop the last worker hosts of the list.
    let hosts: HostSpec[] = [...(rec.Hosts ?? []), ...added.map((address) => ({ address }))];
    const workerHosts = Math.max(0, hosts.length - spec.managers);
    if (o.workers !== undefined && o.workers < workerHosts)
      hosts = dropWorkerHosts(hosts, spec.managers, workerHosts - o.workers);
    const fitted = inventorySpec(inv, { flags: {}, record: { hosts } }, spec, {
      managers: o.managers !== undefined,
      workers: o.workers !== undefined,
    });
    await runUp(store, mergeSpec({ ...spec, ...fitted }, {}, {}), {
      timeout: '5m',
      json: o.json,
      waitLock: o.waitLock,
    });
    return;
  }
  await runUp(store, spec, { timeout: '5m', json: o.json, waitLock: o.waitLock });
}

/** The hosts `cluster scale` adds: its repeated host address flag. */
function hostsToAdd(flag: string, o: Record<string, unknown>): string[] {
  const v = o[flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
}

export async function down(
  name: string | undefined,
  o: { all?: boolean; driver?: string; json?: boolean; waitLock?: string | boolean },
  cmd: Command,
) {
  const store = storeOf(cmd);
  if (!name && !o.all) throw new UserError('name a cluster, or pass --all');
  if (name) validateClusterName(name);
  if (o.driver) findDriver(o.driver);
  const waitMs = waitLockMs(o.waitLock);
  const names = new Set<string>(name ? [name] : []);
  if (o.all) {
    for (const r of await listClusterRecords(store)) names.add(r.Name);
    for (const plugin of o.driver ? [findDriver(o.driver)] : drivers) {
      const mod = await plugin.load();
      const found = await mod
        .discoverClusters?.(flagsFromEnv(plugin), { storeRoot: store.root, recorded: [] })
        .catch(() => []);
      for (const c of found ?? []) if (isValidName('cluster', c.name)) names.add(c.name);
    }
  }
  const results: Record<string, DestroyResult> = {};
  for (const n of names) {
    info(`Removing cluster "${n}"...`);
    results[n] = await destroyCluster(store, n, { log: info, driver: o.driver, waitLockMs: waitMs });
  }
  if (o.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  const errors = Object.entries(results).flatMap(([n, r]) => r.errors.map((e) => `${n}: ${e}`));
  if (errors.length) throw new UserError(`some resources could not be removed: ${errors.join('; ')}`);
  for (const [n, r] of Object.entries(results)) {
    info(
      `Cluster "${n}" removed: ${r.machines.length} machine(s), ${r.swept.length} resource(s) found by label.`,
    );
  }
}

export async function ls(o: { json?: boolean }, cmd: Command): Promise<void> {
  const store = storeOf(cmd);
  const records = await listClusterRecords(store);
  const rows = await mapBounded(records, 8, async (r) => {
    const machines = await clusterMachines(store, r.Name);
    let ready = '?';
    try {
      const nodes = await listNodes((await reachableManager(store, r.Name)).endpoint);
      ready = `${nodes.filter((n) => n.state === 'ready').length}/${nodes.length}`;
    } catch {
      ready = 'unreachable';
    }
    return {
      name: r.Name,
      driver: r.Driver,
      managers: r.Managers,
      workers: r.Workers,
      machines: machines.length,
      ready,
      createdAt: r.CreatedAt,
      expiresAt: r.ExpiresAt ?? null,
    };
  });
  if (o.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const table = [
    ['NAME', 'DRIVER', 'MANAGERS', 'WORKERS', 'READY', 'EXPIRES'],
    ...rows.map((r) => [
      r.name,
      r.driver,
      String(r.managers),
      String(r.workers),
      r.ready,
      r.expiresAt ?? '-',
    ]),
  ];
  process.stdout.write(formatColumns(table));
}

export async function status(name: string, o: { json?: boolean }, cmd: Command): Promise<void> {
  const store = storeOf(cmd);
  const { via, nodes } = await clusterNodes(store, name);
  if (o.json) {
    process.stdout.write(JSON.stringify({ cluster: name, via: via.cfg.Name, nodes }, null, 2) + '\n');
    return;
  }
  // MACHINE "-": a node that is none of the cluster's machines (a leftover "cluster up" removes).
  const table = [
    ['MACHINE', 'HOSTNAME', 'ROLE', 'LEADER', 'AVAILABILITY', 'STATE', 'ENGINE', 'ADDRESS'],
    ...nodes.map((n) => [
      n.machine ?? '-',
      n.hostname,
      n.role,
      n.leader ? 'Leader' : n.role === 'manager' ? 'Reachable' : '-',
      n.availability,
      n.state,
      n.engineVersion,
      n.addr,
    ]),
  ];
  process.stdout.write(formatColumns(table));
}

export async function env(
  name: string,
  o: { shell?: string; unset?: boolean; dockerContext?: boolean },
  cmd: Command,
): Promise<void> {
  const shell = detectShell(o.shell);
  const command = `swarmup cluster env${o.shell ? ` --shell ${o.shell}` : ''}${o.unset ? ' --unset' : ''} ${name}`;
  const keys = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];
  if (o.unset) {
    process.stdout.write(
      formatEnv(
        shell,
        keys.map((k) => [k, undefined]),
        command,
      ),
    );
    return;
  }
  const store = storeOf(cmd);
  const { machine } = await reachableManager(store, name);
  const dir = await requireClientCertFiles(store, machine.cfg.Name);
  const host = await machineUrl(machine);
  if (o.dockerContext) {
    const ctx = `swarmup-${name}`;
    const docker = `host=${host},ca=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem`;
    const exists = (await runDocker(['context', 'inspect', ctx])) === 0;
    const code = await runDocker(['context', exists ? 'update' : 'create', ctx, '--docker', docker]);
    if (code !== 0) throw new UserError(`docker context ${exists ? 'update' : 'create'} ${ctx} failed`);
    info(`docker context "${ctx}" points at ${machine.cfg.Name}: docker --context ${ctx} node ls`);
  }
  process.stdout.write(
    formatEnv(
      shell,
      [
        ['DOCKER_TLS_VERIFY', '1'],
        ['DOCKER_HOST', host],
        ['DOCKER_CERT_PATH', dir],
        ['DOCKER_MACHINE_NAME', machine.cfg.Name],
      ],
      command,
    ),
  );
}

function runDocker(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, { stdio: 'ignore' });
    p.on('error', () => resolve(127));
    p.on('exit', (code) => resolve(code ?? 1));
  });
}

export async function prune(o: { expired?: boolean; dryRun?: boolean }, cmd: Command): Promise<void> {
  if (!o.expired) throw new UserError('say what to prune: swarmup cluster prune --expired');
  const store = storeOf(cmd);
  const now = Date.now();
  const expired = new Map<string, string>();
  // The store's record is the truth where there is one (a re-run may have moved the expiry, which
  // labels fixed at creation cannot follow); labels speak for clusters this store does not know.
  const records = await listClusterRecords(store);
  for (const r of records) {
    if (r.ExpiresAt && Date.parse(r.ExpiresAt) <= now) expired.set(r.Name, r.Driver);
  }
  const known = new Set(records.map((r) => r.Name));
  for (const plugin of drivers) {
    const mod = await plugin.load();
    const found = await mod
      .discoverClusters?.(flagsFromEnv(plugin), { storeRoot: store.root, recorded: [] })
      .catch(() => []);
    for (const c of found ?? [])
      if (
        isValidName('cluster', c.name) &&
        !known.has(c.name) &&
        c.expiresAt &&
        Date.parse(c.expiresAt) <= now
      )
        expired.set(c.name, c.driver);
  }
  if (expired.size === 0) {
    info('No expired clusters.');
    return;
  }
  for (const [n, driver] of expired) {
    if (o.dryRun) {
      process.stdout.write(`${n}\n`);
      continue;
    }
    info(`Removing expired cluster "${n}"...`);
    const r = await destroyCluster(store, n, { log: info, driver });
    if (r.errors.length) throw new UserError(`pruning "${n}" failed: ${r.errors.join('; ')}`);
    process.stdout.write(`${n}\n`);
  }
}
