/**
 * Bring-your-own-hosts clusters: a host inventory (`spec.hosts` in the cluster file, or the driver's
 * host flags repeated on `cluster up`) and which machine each host is. Pure: no network here.
 *
 * A host stays the same machine for the cluster's life (matched by address and SSH port), so that
 * adding, removing or reordering hosts never moves a machine to another host. New hosts take the
 * manager places still open (in list order, "first M are managers"), then worker places.
 */
import type { FlagValues, HostInventory } from '../driver/contract.js';
import { UserError } from '../errors.js';

export interface HostSpec {
  address: string;
  role?: 'manager' | 'worker';
  user?: string;
  port?: number;
  /** Private key that logs in to the host (default: the driver's key flag). */
  key?: string;
  /** The address other members reach it on (default: `address`). */
  internalAddress?: string;
  /** Swarm node labels. */
  labels?: Record<string, string>;
}

const list = (v: FlagValues[string]): string[] =>
  v === undefined || v === '' ? [] : (Array.isArray(v) ? v : [v]).map((x) => String(x).trim());

function portOf(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new UserError(`invalid --${flag} ${v}: expected 1 to 65535`); // the words of requireDriverFlags
  return n;
}

/**
 * The hosts the repeated flags give (undefined when no address is given), and the other flags. The
 * N-th address is the N-th host; the user and the port apply to every host when given once, or go one
 * per address; internal addresses go one per address.
 */
export function hostsFromFlags(
  inv: HostInventory,
  flags: FlagValues,
): { hosts?: HostSpec[]; rest: FlagValues } {
  const rest: FlagValues = { ...flags };
  const addrs = list(flags[inv.address]).filter(Boolean);
  delete rest[inv.address];
  const per = (flag: string | undefined, onceForAll: boolean): (string | undefined)[] => {
    const none = addrs.map(() => undefined);
    if (!flag || flags[flag] === undefined) return none;
    const vs = list(flags[flag]);
    if (onceForAll && vs.length <= 1) {
      rest[flag] = vs[0];
      return none;
    }
    delete rest[flag];
    if (vs.length !== addrs.length)
      throw new UserError(
        `--${flag} is given ${vs.length} times for ${addrs.length} host${addrs.length === 1 ? '' : 's'}: ` +
          `give it ${onceForAll ? 'once (for every host) or ' : ''}once per --${inv.address}`,
      );
    return vs;
  };
  const users = per(inv.user, true);
  const ports = per(inv.port, true);
  if (inv.port && typeof rest[inv.port] === 'string')
    rest[inv.port] = portOf(rest[inv.port] as string, inv.port);
  if (!addrs.length) return { rest };
  const internal = per(inv.internalAddress, false);
  const hosts = addrs.map((address, i): HostSpec => {
    const h: HostSpec = { address };
    if (users[i]) h.user = users[i];
    if (ports[i]) h.port = portOf(ports[i]!, inv.port!);
    if (internal[i]) h.internalAddress = internal[i];
    return h;
  });
  return { hosts, rest };
}

/** Where a cluster's hosts can come from, strongest first. */
export interface HostSources {
  /** Flags given on the command line (or their environment variables). */
  flags: FlagValues;
  file?: { hosts?: HostSpec[]; driverOptions?: FlagValues };
  record?: { hosts?: HostSpec[]; driverOptions?: FlagValues };
}

/**
 * The cluster's hosts — from the command line, else the file (`spec.hosts`), else the record — the
 * driver flags without the per-host ones, and the machine counts fitted to the hosts (see fitCounts).
 */
export function inventorySpec(
  inv: HostInventory,
  src: HostSources,
  merged: { driverOptions: FlagValues; managers: number; workers: number },
  given: { managers: boolean; workers: boolean },
): { hosts?: HostSpec[]; driverOptions: FlagValues; managers: number; workers: number } {
  const hosts =
    hostsFromFlags(inv, src.flags).hosts ??
    src.file?.hosts ??
    hostsFromFlags(inv, src.file?.driverOptions ?? {}).hosts ??
    src.record?.hosts ??
    hostsFromFlags(inv, src.record?.driverOptions ?? {}).hosts;
  const driverOptions = hostsFromFlags(inv, merged.driverOptions).rest;
  if (!hosts?.length) return { driverOptions, managers: merged.managers, workers: merged.workers };
  return { hosts, driverOptions, ...fitCounts(inv, hosts, merged, given) };
}

/** The hosts as they were assigned, managers first, each with its role: what the record keeps. */
export const recordedHosts = (a: HostAssignment): HostSpec[] =>
  a.desired.map((d) => ({ ...d.host, role: d.role }));

/** `hosts` with `n` worker hosts fewer, the last ones first (what `cluster scale --workers` drops). */
export function dropWorkerHosts(hosts: readonly HostSpec[], managers: number, n: number): HostSpec[] {
  const isWorker = hosts.map((h, i) => h.role === 'worker' || (!h.role && i >= managers));
  const out = [...hosts];
  for (let i = out.length - 1; i >= 0 && n > 0; i--) {
    if (!isWorker[i]) continue;
    out.splice(i, 1);
    n--;
  }
  return out;
}

/** The driver flags that make a machine of `host`: the cluster's flags, then the host's own. */
export function hostFlags(inv: HostInventory, base: FlagValues, host: HostSpec): FlagValues {
  const out: FlagValues = { ...base, [inv.address]: host.address };
  if (inv.user && host.user) out[inv.user] = host.user;
  if (inv.port && host.port) out[inv.port] = host.port;
  if (inv.key && host.key) out[inv.key] = host.key;
  if (inv.internalAddress) out[inv.internalAddress] = host.internalAddress;
  return out;
}

/** `address:port`, the identity of a host (hosts behind one address differ by SSH port). */
export function hostKey(inv: HostInventory, base: FlagValues, host: HostSpec): string {
  const port = host.port ?? (inv.port ? base[inv.port] : undefined);
  return `${host.address}:${port ?? ''}`;
}

/**
 * Fit the machine counts to the hosts. The managers: as given (flag or file), else as many as hosts
 * say `role: manager`, else as before (record or 1). The workers: the other hosts, unless given; given
 * counts that the hosts cannot fill are refused before anything is touched.
 */
export function fitCounts(
  inv: HostInventory,
  hosts: readonly HostSpec[],
  counts: { managers: number; workers: number },
  given: { managers: boolean; workers: boolean },
): { managers: number; workers: number } {
  const roleManagers = hosts.filter((h) => h.role === 'manager').length;
  const managers = given.managers || !roleManagers ? counts.managers : roleManagers;
  const workers = given.workers ? counts.workers : Math.max(0, hosts.length - managers);
  const machines = managers + workers;
  const say = `${machines} machine${machines === 1 ? '' : 's'} (${managers} manager${managers === 1 ? '' : 's'}, ${workers} worker${workers === 1 ? '' : 's'})`;
  const todo = `give --${inv.address} once per machine (managers first), or spec.hosts in the cluster file`;
  if (hosts.length < machines)
    throw new UserError(`${say} but ${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${todo}`);
  if (hosts.length > machines)
    throw new UserError(`${hosts.length} hosts but ${say}: each host is one machine; ${todo}`);
  const roleWorkers = hosts.filter((h) => h.role === 'worker').length;
  if (roleManagers > managers || roleWorkers > workers)
    throw new UserError(
      `the hosts say ${roleManagers} manager(s) and ${roleWorkers} worker(s), but the cluster has ${managers} and ${workers}`,
    );
  return { managers, workers };
}

/** A machine of the cluster as the host assignment sees it. */
export interface HostedMachine {
  name: string;
  role: 'manager' | 'worker';
  /** `hostKey` of the host it runs on. */
  key: string;
}

export interface HostAssignment {
  /** Machines to have, managers first, each with its host. */
  desired: Array<{ name: string; role: 'manager' | 'worker'; host: HostSpec }>;
  /** Existing machines whose host is no longer listed. */
  removed: string[];
}

/**
 * Which machine each host is: a host that already is a machine stays that machine (its role cannot
 * change in place: refused with what to do); new hosts take names no machine has, and roles as said
 * or by the places left (managers first). Duplicate hosts are refused.
 */
export function assignHosts(
  cluster: string,
  inv: HostInventory,
  base: FlagValues,
  hosts: readonly HostSpec[],
  managers: number,
  existing: readonly HostedMachine[],
): HostAssignment {
  const seen = new Map<string, number>();
  hosts.forEach((h, i) => {
    const k = hostKey(inv, base, h);
    const first = seen.get(k);
    if (first !== undefined)
      throw new UserError(
        `host ${h.address} is listed twice (hosts ${first + 1} and ${i + 1}): each machine needs a host of its own`,
      );
    seen.set(k, i);
  });
  const byKey = new Map(existing.map((m) => [m.key, m]));
  const kept = hosts.map((h) => byKey.get(hostKey(inv, base, h)));
  hosts.forEach((h, i) => {
    const m = kept[i];
    if (m && h.role && h.role !== m.role)
      throw new UserError(
        `host ${h.address} is the ${m.role} ${m.name}: a host cannot change role in place; ` +
          `remove it from the list, run "swarmup cluster up", then add it back as a ${h.role}`,
      );
  });
  let openManagers =
    managers -
    kept.filter((m) => m?.role === 'manager').length -
    hosts.filter((h, i) => !kept[i] && h.role === 'manager').length;
  const taken = new Set(existing.map((m) => m.name));
  const nextName = (role: string) => {
    for (let n = 1; ; n++) {
      const name = `${cluster}-${role}-${n}`;
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const assigned = hosts.map((host, i) => {
    const m = kept[i];
    if (m) return { name: m.name, role: m.role, host };
    let role = host.role;
    if (!role) {
      role = openManagers > 0 ? 'manager' : 'worker';
      if (role === 'manager') openManagers--;
    }
    return { name: nextName(role), role, host };
  });
  const have = assigned.filter((a) => a.role === 'manager').length;
  if (have !== managers)
    throw new UserError(
      `the listed hosts make ${have} manager(s), not ${managers}: managers already on hosts stay managers; ` +
        `give new hosts for new managers, or remove a manager's host to have fewer`,
    );
  const listed = new Set(assigned.map((a) => a.name));
  return {
    desired: [
      ...assigned.filter((a) => a.role === 'manager'),
      ...assigned.filter((a) => a.role === 'worker'),
    ],
    removed: existing.filter((m) => !listed.has(m.name)).map((m) => m.name),
  };
}
