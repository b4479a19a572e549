import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { UserError } from '../../src/errors.js';
import { withLock } from '../../src/store/lock.js';
import { VBoxManageError, type VBoxManage } from './vboxmanage.js';

const ipToInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const maskOf = (prefix: number): number => (prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix));
const prefixOf = (mask: string): number | undefined => {
  const n = ipToInt(mask);
  for (let p = 0; p <= 32; p++) if (maskOf(p) === n) return p;
  return undefined;
};
const isIPv4 = (s: string): boolean =>
  /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255);

/** The host-only network of `--virtualbox-hostonly-cidr`, with the DHCP server's address and range. */
export interface HostOnlyNet {
  /** The host's address on the network (the host-only interface's). */
  ip: string;
  prefix: number;
  netmask: string;
  network: string;
  broadcast: string;
  dhcp: { server: string; lower: string; upper: string };
}

/**
 * Parse `--virtualbox-hostonly-cidr` (docker-machine's 192.168.99.1/24): a host address, not the network
 * address. The DHCP server gets the first free address after the network's, leases go from .100 (or the
 * upper half of a small network) to the last address before the broadcast.
 */
export function parseHostOnlyCidr(cidr: string): HostOnlyNet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) {
    throw new UserError(
      `invalid --virtualbox-hostonly-cidr "${cidr}": expected an IPv4 address/prefix, e.g. 192.168.99.1/24`,
    );
  }
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 29) {
    throw new UserError(
      `invalid --virtualbox-hostonly-cidr "${cidr}": the prefix must be between /8 and /29`,
    );
  }
  const ipN = ipToInt(m[1]);
  const mask = maskOf(prefix);
  const net = ipN - (ipN % 2 ** (32 - prefix));
  const bcast = net + 2 ** (32 - prefix) - 1;
  if (ipN === net) {
    throw new UserError(
      `invalid --virtualbox-hostonly-cidr "${cidr}": host-only cidr must be specified with a host address, not a network address`,
    );
  }
  if (ipN === bcast) {
    throw new UserError(`invalid --virtualbox-hostonly-cidr "${cidr}": that is the broadcast address`);
  }
  const size = 2 ** (32 - prefix);
  const server = ipN === net + 2 ? net + 3 : net + 2;
  let lower = net + Math.min(100, size / 2);
  if (lower <= server) lower = server + 1;
  if (ipN >= lower && ipN < bcast - 1) lower = ipN + 1;
  return {
    ip: intToIp(ipN),
    prefix,
    netmask: intToIp(mask),
    network: intToIp(net),
    broadcast: intToIp(bcast),
    dhcp: { server: intToIp(server), lower: intToIp(lower), upper: intToIp(bcast - 1) },
  };
}

function overlaps(aNet: string, aPrefix: number, bNet: string, bPrefix: number): boolean {
  const p = Math.min(aPrefix, bPrefix);
  const block = 2 ** (32 - p);
  return Math.floor(ipToInt(aNet) / block) === Math.floor(ipToInt(bNet) / block);
}

const networkOf = (ip: string, prefix: number): string => {
  const n = ipToInt(ip);
  return intToIp(n - (n % 2 ** (32 - prefix)));
};

export interface HostOnlyIf {
  name: string;
  ip: string;
  netmask: string;
  status: string;
  networkName: string;
}

/**
 * The `Key: value` lines of a `VBoxManage list ...` as records, keys lower-cased; a record starts at
 * key `first` (blank lines do not end one: `list hostonlynets` has one inside each record).
 */
export function listRecords(stdout: string, first: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cur: Record<string, string> | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^([A-Za-z][A-Za-z0-9 ]*?):\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].toLowerCase();
    if (key === first) out.push((cur = {}));
    if (cur) cur[key] = m[2].trim();
  }
  return out;
}

/** `VBoxManage list hostonlyifs`. */
export function parseHostOnlyIfs(stdout: string): HostOnlyIf[] {
  return listRecords(stdout, 'name').map((f) => ({
    name: f.name,
    ip: f.ipaddress ?? '',
    netmask: f.networkmask ?? '',
    status: f.status ?? '',
    networkName: f.vboxnetworkname ?? `HostInterfaceNetworking-${f.name}`,
  }));
}

export interface DhcpServer {
  networkName: string;
  ip: string;
  netmask: string;
  lower: string;
  upper: string;
  enabled: boolean;
}

/** `VBoxManage list dhcpservers`, in the formats of VirtualBox 5 to 7 ("IP:" or "Dhcpd IP:", ...). */
export function parseDhcpServers(stdout: string): DhcpServer[] {
  return listRecords(stdout, 'networkname').map((f) => ({
    networkName: f.networkname,
    ip: f.ip ?? f['dhcpd ip'] ?? '',
    netmask: f.networkmask ?? '',
    lower: f.loweripaddress ?? '',
    upper: f.upperipaddress ?? '',
    enabled: f.enabled === 'Yes',
  }));
}

/** A network the host is on: an interface address, or a connected route (whose address is unknown). */
export interface HostNet {
  name: string;
  /** The interface's address; undefined when known only from the routing table. */
  address?: string;
  network: string;
  prefix: number;
}

/**
 * Refuse a host-only network that overlaps a host network that is not VirtualBox's own host-only
 * interface for exactly this network, or another host-only network (docker-machine's collision check).
 * Host networks come from the interfaces' addresses and from the connected routes: an interface that has
 * lost its carrier (a bridge whose last port went away) is not listed among the interfaces, yet the
 * kernel still routes the network to it, so every VM on the host-only network would be unreachable.
 */
export function checkCollisions(net: HostOnlyNet, ifs: HostOnlyIf[], hostNets: HostNet[]): void {
  const same = (i: HostOnlyIf) => i.ip === net.ip && i.netmask === net.netmask;
  for (const i of ifs) {
    const p = prefixOf(i.netmask);
    if (
      !same(i) &&
      isIPv4(i.ip) &&
      p !== undefined &&
      overlaps(networkOf(i.ip, p), p, net.network, net.prefix)
    ) {
      throw new UserError(
        `--virtualbox-hostonly-cidr ${net.ip}/${net.prefix} overlaps the host-only network ${i.name} (${i.ip}/${p}); choose another network`,
      );
    }
  }
  const touching = hostNets.filter(
    (h) => !h.network.startsWith('127.') && overlaps(h.network, h.prefix, net.network, net.prefix),
  );
  // VirtualBox's interface for this network is one host interface on exactly this network: the one with
  // the adapter's name, else one carrying exactly its address, else one the routes alone show.
  const names = new Set(ifs.filter(same).map((i) => i.name));
  const exact = (h: HostNet) => h.network === net.network && h.prefix === net.prefix;
  const rank = (h: HostNet) => (names.has(h.name) ? 0 : h.address === net.ip ? 1 : h.address ? 3 : 2);
  const own = names.size
    ? touching
        .filter((h) => exact(h) && (h.address === undefined || h.address === net.ip))
        .sort((a, b) => rank(a) - rank(b))[0]
    : undefined;
  const foreign = touching.find((h) => own === undefined || h.name !== own.name);
  if (foreign) {
    throw new UserError(
      `--virtualbox-hostonly-cidr ${net.ip}/${net.prefix} conflicts with the host interface ${foreign.name} (${foreign.address ?? foreign.network}/${foreign.prefix}); choose another network or remove that interface`,
    );
  }
}

/** Hex of /proc/net/route (host byte order, little-endian here) to a dotted quad. */
const routeHexToIp = (hex: string): string =>
  [0, 1, 2, 3].map((i) => parseInt(hex.slice(6 - 2 * i, 8 - 2 * i), 16)).join('.');

/** Connected (gateway-less, non-default) IPv4 routes of the main table, on Linux. */
export function parseProcRoutes(text: string): HostNet[] {
  const out: HostNet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [name, dest, , flags, , , , mask] = line.trim().split(/\s+/);
    if (!name || !mask || !/^[0-9A-Fa-f]{8}$/.test(dest) || !/^[0-9A-Fa-f]{8}$/.test(mask)) continue;
    const f = parseInt(flags, 16);
    const prefix = prefixOf(routeHexToIp(mask));
    if (!(f & 1) || f & 2 || !prefix) continue; // not up, via a gateway, or the default route
    out.push({ name, network: routeHexToIp(dest), prefix });
  }
  return out;
}

export function hostNetworks(): HostNet[] {
  const out: HostNet[] = Object.entries(networkInterfaces()).flatMap(([name, addrs]) =>
    (addrs ?? []).flatMap((a) => {
      const prefix = a.family === 'IPv4' ? prefixOf(a.netmask) : undefined;
      return prefix === undefined
        ? []
        : [{ name, address: a.address, network: networkOf(a.address, prefix), prefix }];
    }),
  );
  let routes: HostNet[] = [];
  try {
    routes = parseProcRoutes(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    /* not Linux */
  }
  for (const r of routes) {
    if (!out.some((h) => h.name === r.name && h.network === r.network && h.prefix === r.prefix)) out.push(r);
  }
  return out;
}

function describeIpConfigError(err: unknown, net: HostOnlyNet): unknown {
  if (err instanceof VBoxManageError && err.code === 'E_ACCESSDENIED') {
    return new UserError(
      `VirtualBox refused the host-only address ${net.ip}/${net.prefix} (VirtualBox 6.1.28 and later allow only ` +
        `192.168.56.0/21 unless /etc/vbox/networks.conf says otherwise): add the line "* ${net.network}/${net.prefix}" ` +
        `to /etc/vbox/networks.conf, or use --virtualbox-hostonly-cidr 192.168.56.1/24`,
    );
  }
  return err;
}

/**
 * The host-only interface for `net` with its DHCP server, made when missing. Serialized by a lock file
 * in the store so that machines created in parallel share one interface instead of racing to make two.
 * An interface this call made is removed again when configuring it fails.
 */
export async function ensureHostOnlyNetwork(
  vbm: VBoxManage,
  net: HostOnlyNet,
  lockPath: string,
  log: (m: string) => void,
): Promise<string> {
  return withLock(
    lockPath,
    async () => {
      const ifs = parseHostOnlyIfs((await vbm.run(['list', 'hostonlyifs'])).stdout);
      checkCollisions(net, ifs, hostNetworks());
      let name = ifs.find((i) => i.ip === net.ip && i.netmask === net.netmask)?.name;
      if (!name) {
        log(`Creating the host-only network ${net.ip}/${net.prefix}...`);
        const out = await vbm.run(['hostonlyif', 'create']);
        name = /Interface '(.+)' was successfully created/.exec(out.stdout)?.[1];
        if (!name)
          throw new UserError(`VBoxManage hostonlyif create printed no interface name: ${out.stdout.trim()}`);
        try {
          await vbm.run(['hostonlyif', 'ipconfig', name, '--ip', net.ip, '--netmask', net.netmask]);
        } catch (err) {
          await vbm.run(['hostonlyif', 'remove', name]).catch(() => undefined);
          throw describeIpConfigError(err, net);
        }
      }
      const netName = `HostInterfaceNetworking-${name}`;
      const have = parseDhcpServers((await vbm.run(['list', 'dhcpservers'])).stdout).find(
        (s) => s.networkName === netName,
      );
      const d = net.dhcp;
      const same =
        have &&
        have.enabled &&
        have.ip === d.server &&
        have.netmask === net.netmask &&
        have.lower === d.lower &&
        have.upper === d.upper;
      if (!same) {
        log(
          `${have ? 'Configuring' : 'Creating'} the DHCP server of the host-only network ${net.ip}/${net.prefix}...`,
        );
        await vbm.run([
          'dhcpserver',
          have ? 'modify' : 'add',
          '--netname',
          netName,
          '--ip',
          d.server,
          '--netmask',
          net.netmask,
          '--lowerip',
          d.lower,
          '--upperip',
          d.upper,
          '--enable',
        ]);
      }
      return name;
    },
    120_000,
  );
}
