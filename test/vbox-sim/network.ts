/**
 * Host-only networks and their DHCP servers. A host-only interface is a real Linux bridge on the host
 * (named from the simulator home, e.g. vbs1a2b3cn0, shown to VBoxManage users as vboxnet0) carrying the
 * interface's address, so the host reaches the VMs' host-only NICs and they reach each other, as on a
 * VirtualBox host. VirtualBox 6.1.28+'s /etc/vbox/networks.conf rule is modelled by
 * $VBOXSIM_HOME/networks.conf (default: only 192.168.56.0/21 is allowed).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonical, parseArgs, table } from './args.js';
import { VBoxError, VBoxSyntaxError } from './errors.js';
import { homeTag, withState, type DhcpServer, type HostOnlyNet, type SimState } from './state.js';
import type { Io } from './io.js';

const ipToInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
export const prefixOf = (mask: string): number => {
  const n = ipToInt(mask);
  let p = 0;
  while (p < 32 && n >= 2 ** 32 - 2 ** (31 - p)) p++;
  return p;
};
const isIPv4 = (s: string) =>
  /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255);
const within = (ip: string, net: string, prefix: number) =>
  Math.floor(ipToInt(ip) / 2 ** (32 - prefix)) === Math.floor(ipToInt(net) / 2 ** (32 - prefix));

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export const bridgeName = (home: string, index: number) => `vbs${homeTag(home)}n${index}`;

/** Ranges allowed for host-only addresses: networks.conf lines `* <cidr> ...`, or VirtualBox's default. */
function allowedRanges(home: string): Array<[string, number]> {
  const file = join(home, 'networks.conf');
  if (!existsSync(file)) return [['192.168.56.0', 21]];
  const out: Array<[string, number]> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*\*\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1].split(/\s+/)) {
      const [net, p] = c.split('/');
      if (isIPv4(net)) out.push([net, Number(p)]);
    }
  }
  return out;
}

const accessDenied = () =>
  new VBoxError(
    'Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)',
    undefined,
    '',
    '',
    '"EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp',
  );

const noInterface = (name: string) =>
  new VBoxError(
    `The host network interface named '${name}' could not be found`,
    'E_INVALIDARG',
    'HostWrap',
    'IHost',
    `"FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())" at line 226 of file VBoxManageHostonly.cpp`,
  );

/** `hostonlyif create | remove <name> | ipconfig <name> --ip <ip> [--netmask <mask>]` */
export function hostonlyif(home: string, argv: string[], io: Io): void {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const made = withState(home, (st) => {
      let i = 0;
      while (st.hostOnlyIfs.some((h) => h.name === `vboxnet${i}`)) i++;
      const bridge = bridgeName(home, i);
      const addr = `192.168.${56 + i}.1`;
      try {
        ip(['link', 'del', bridge]); // left by an earlier run of this simulator home
      } catch {
        /* none */
      }
      ip(['link', 'add', bridge, 'type', 'bridge']);
      ip(['link', 'set', bridge, 'alias', `vboxsim:${home}`]); // lets a later run find a stale one
      ip(['link', 'set', bridge, 'up']);
      ip(['addr', 'add', `${addr}/24`, 'dev', bridge]);
      const mac = `0a:00:27:00:00:${i.toString(16).padStart(2, '0')}`;
      st.hostOnlyIfs.push({
        name: `vboxnet${i}`,
        guid: `786f6276-656e-4${randomBytes(2).toString('hex').slice(1)}-8000-0a00270000${i.toString(16).padStart(2, '0')}`,
        ip: addr,
        netmask: '255.255.255.0',
        mac,
        bridge,
      });
      return `vboxnet${i}`;
    });
    io.err('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
    io.out(`Interface '${made}' was successfully created\n`);
    return;
  }
  if (sub === 'remove') {
    if (rest.length !== 1) throw new VBoxSyntaxError('No interface name was specified');
    withState(home, (st) => {
      const h = st.hostOnlyIfs.find((x) => x.name === rest[0]);
      if (!h) throw noInterface(rest[0]);
      try {
        ip(['link', 'del', h.bridge]);
      } catch {
        /* already gone on the host */
      }
      st.hostOnlyIfs = st.hostOnlyIfs.filter((x) => x !== h);
    });
    io.err('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
    return;
  }
  if (sub === 'ipconfig') {
    const a = parseArgs(rest, table({ ip: 1, netmask: 1, dhcp: 0, ipv6: 1, netmasklengthv6: 1 }));
    const name = a.positional[0];
    const addr = a.opts.find(([n]) => n === 'ip')?.[1][0];
    const mask = a.opts.find(([n]) => n === 'netmask')?.[1][0] ?? '255.255.255.0';
    if (!name) throw new VBoxSyntaxError('No interface name was specified');
    if (!addr) throw new VBoxSyntaxError('Neither -dhcp nor -ip nor -ipv6 was specfified');
    withState(home, (st) => {
      const h = st.hostOnlyIfs.find((x) => x.name === name);
      if (!h) throw noInterface(name);
      if (!isIPv4(addr) || !isIPv4(mask))
        throw new VBoxError(
          `Invalid IPv4 address '${addr}'`,
          'E_INVALIDARG',
          'HostNetworkInterfaceWrap',
          'IHostNetworkInterface',
        );
      const prefix = prefixOf(mask);
      if (!allowedRanges(home).some(([net, p]) => p <= prefix && within(addr, net, p))) throw accessDenied();
      ip(['addr', 'flush', 'dev', h.bridge]);
      ip(['addr', 'add', `${addr}/${prefix}`, 'dev', h.bridge]);
      h.ip = addr;
      h.netmask = mask;
    });
    return;
  }
  throw new VBoxSyntaxError(`Unknown sub-command '${sub ?? ''}'`);
}

export function listHostOnlyIfs(st: SimState, io: Io): void {
  io.out(
    st.hostOnlyIfs
      .map((h) =>
        [
          `Name:            ${h.name}`,
          `GUID:            ${h.guid}`,
          'DHCP:            Disabled',
          `IPAddress:       ${h.ip}`,
          `NetworkMask:     ${h.netmask}`,
          'IPV6Address:     ',
          'IPV6NetworkMaskPrefixLength: 0',
          `HardwareAddress: ${h.mac}`,
          'MediumType:      Ethernet',
          'Wireless:        No',
          `Status:          Up`,
          `VBoxNetworkName: HostInterfaceNetworking-${h.name}`,
          '',
          '',
        ].join('\n'),
      )
      .join(''),
  );
}

/** `dhcpserver add|modify|remove --netname <n> | --ifname <if> [--ip] [--netmask] [--lowerip] [--upperip] [--enable|--disable]` */
export function dhcpserver(home: string, argv: string[]): void {
  const [sub, ...rest] = argv;
  const a = parseArgs(
    rest,
    table({
      netname: 1,
      network: 1,
      ifname: 1,
      interface: 1,
      ip: 1,
      serverip: 1,
      netmask: 1,
      lowerip: 1,
      upperip: 1,
      enable: 0,
      disable: 0,
    }),
  );
  const opt = (...names: string[]) => a.opts.find(([n]) => names.includes(n.replace(/-/g, '')))?.[1][0];
  const ifname = opt('ifname', 'interface');
  const netName = opt('netname', 'network') ?? (ifname ? `HostInterfaceNetworking-${ifname}` : undefined);
  if (!netName)
    throw new VBoxSyntaxError('You need to specify either --netname or --ifname to identify the DHCP server');
  withState(home, (st) => {
    const have = st.dhcpServers.find((d) => d.netName === netName);
    if (sub === 'add' && have)
      throw new VBoxError('DHCP server already exists', 'E_INVALIDARG', 'VirtualBoxWrap', 'IVirtualBox');
    if ((sub === 'modify' || sub === 'remove') && !have) {
      throw new VBoxError('DHCP server does not exist', 'E_INVALIDARG', 'VirtualBoxWrap', 'IVirtualBox');
    }
    if (sub === 'remove') {
      st.dhcpServers = st.dhcpServers.filter((d) => d !== have);
      return;
    }
    if (sub !== 'add' && sub !== 'modify') throw new VBoxSyntaxError(`Unknown sub-command '${sub ?? ''}'`);
    const d: DhcpServer = have ?? {
      netName,
      ip: '',
      netmask: '',
      lower: '',
      upper: '',
      enabled: false,
      leases: {},
    };
    const set = (v: string | undefined, key: 'ip' | 'netmask' | 'lower' | 'upper') => {
      if (v === undefined) return;
      if (!isIPv4(v))
        throw new VBoxError(`Invalid IPv4 address '${v}'`, 'E_INVALIDARG', 'DHCPServerWrap', 'IDHCPServer');
      d[key] = v;
    };
    set(opt('ip', 'serverip'), 'ip');
    set(opt('netmask'), 'netmask');
    set(opt('lowerip'), 'lower');
    set(opt('upperip'), 'upper');
    if (a.opts.some(([n]) => n === 'enable')) d.enabled = true;
    if (a.opts.some(([n]) => n === 'disable')) d.enabled = false;
    if (sub === 'add' && (!d.ip || !d.netmask || !d.lower || !d.upper)) {
      throw new VBoxSyntaxError(
        'Missing required option: --ip, --netmask, --lowerip and --upperip are needed',
      );
    }
    if (d.lower && d.upper && ipToInt(d.lower) > ipToInt(d.upper)) {
      throw new VBoxError(
        `Invalid address range ${d.lower}-${d.upper}`,
        'E_INVALIDARG',
        'DHCPServerWrap',
        'IDHCPServer',
      );
    }
    if (!have) st.dhcpServers.push(d);
  });
}

export function listDhcpServers(st: SimState, io: Io): void {
  io.out(
    st.dhcpServers
      .map((d) =>
        [
          `NetworkName:    ${d.netName}`,
          `Dhcpd IP:       ${d.ip}`,
          `LowerIPAddress: ${d.lower}`,
          `UpperIPAddress: ${d.upper}`,
          `NetworkMask:    ${d.netmask}`,
          `Enabled:        ${d.enabled ? 'Yes' : 'No'}`,
          'Global Configuration:',
          '    minLeaseTime:     default',
          '    defaultLeaseTime: default',
          '    maxLeaseTime:     default',
          '    Forced options:   None',
          '    Suppressed opts.: None',
          `        1/legacy: ${d.netmask}`,
          'Groups:               None',
          'Individual Configs:   None',
          '',
        ].join('\n'),
      )
      .join('\n'),
  );
}

/** A free address of `lower`..`upper` for `mac` (kept per MAC), never `reserved`; undefined when full. */
function allocate(
  pool: { lower: string; upper: string; leases: Record<string, string> },
  mac: string,
  reserved: string,
): string | undefined {
  if (!pool.leases[mac]) {
    const used = new Set(Object.values(pool.leases));
    for (let n = ipToInt(pool.lower); n <= ipToInt(pool.upper); n++) {
      if (!used.has(intToIp(n)) && intToIp(n) !== reserved) {
        pool.leases[mac] = intToIp(n);
        break;
      }
    }
  }
  return pool.leases[mac];
}

/** The address the DHCP server of `netName` gives the NIC with `mac` (kept per MAC), or undefined. */
export function lease(
  st: SimState,
  netName: string,
  mac: string,
): { ip: string; prefix: number } | undefined {
  const d = st.dhcpServers.find((x) => x.netName === netName && x.enabled);
  const ip = d && allocate(d, mac, d.ip);
  return d && ip ? { ip, prefix: prefixOf(d.netmask) } : undefined;
}

// ---- host-only networks (VirtualBox 7 on macOS) ----------------------------------------------------

const HOSTONLY_CTX = (call: string, line: number) =>
  `"${call}" at line ${line} of file VBoxManageHostonly.cpp`;

/** An error VBoxManage prints for a COM call that failed without error info (e.g. a network not found). */
const objectNotFound = (context: string) =>
  new VBoxError(
    'Code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001) - Object corresponding to the supplied arguments does not exist (extended info not available)',
    undefined,
    '',
    '',
    context,
  );

/** errorArgument(): the message alone, exit code 2 (RTEXITCODE_SYNTAX), no usage. */
const argumentError = (message: string) => new VBoxError(message, undefined, '', '', '', 2);

export const hostOnlyNetBridge = (home: string, index: number) => `vbs${homeTag(home)}h${index}`;

/**
 * `hostonlynet add --name N --netmask M --lower-ip L --upper-ip U [--enable|--disable] [--id G]`,
 * `hostonlynet modify --name N|--id G [...]`, `hostonlynet remove --name N|--id G` (VBoxManageHostonly.cpp:
 * add needs all four, finds nothing, refuses nothing else: VirtualBox neither checks addresses nor
 * refuses a duplicate name or removing a network VMs use).
 */
export function hostonlynet(home: string, argv: string[]): void {
  const [sub, ...rest] = argv;
  if (!sub) throw new VBoxSyntaxError('No sub-command specified');
  if (!['add', 'modify', 'remove'].includes(sub)) throw new VBoxSyntaxError(`Unknown sub-command '${sub}'`);
  const spec: Record<string, number> =
    sub === 'remove'
      ? { id: 1, name: 1 }
      : { id: 1, name: 1, netmask: 1, lowerip: 1, upperip: 1, enable: 0, disable: 0 };
  const a = parseArgs(rest, table(spec));
  if (a.positional.length) throw new VBoxSyntaxError(`Invalid parameter '${a.positional[0]}'`);
  const opt = (n: string) => a.opts.filter(([k]) => canonical(k) === n).at(-1)?.[1][0];
  const flag = (n: string) => a.opts.some(([k]) => k === n);
  const [name, id] = [opt('name'), opt('id')];
  withState(home, (st) => {
    if (sub === 'add') {
      if (!name) throw argumentError('The --name parameter must be specified');
      if (!opt('netmask')) throw argumentError('The --netmask parameter must be specified');
      if (!opt('lowerip')) throw argumentError('The --lower-ip parameter must be specified');
      if (!opt('upperip')) throw argumentError('The --upper-ip parameter must be specified');
    } else if (!name && !id) throw argumentError('Either --name or --id parameter must be specified');
    const found = (): HostOnlyNet => {
      const n = name
        ? st.hostOnlyNets.find((x) => x.name === name)
        : st.hostOnlyNets.find((x) => x.guid === id);
      if (!n) {
        throw objectNotFound(
          HOSTONLY_CTX(
            name
              ? 'FindHostOnlyNetworkByName(options.bstrNetworkName.raw(), hostOnlyNetwork.asOutParam())'
              : 'FindHostOnlyNetworkById(options.bstrNetworkId.raw(), hostOnlyNetwork.asOutParam())',
            sub === 'remove' ? 460 : 410,
          ),
        );
      }
      return n;
    };
    if (sub === 'remove') {
      const n = found();
      if (n.bridge) deleteLink(n.bridge);
      st.hostOnlyNets = st.hostOnlyNets.filter((x) => x !== n);
      return;
    }
    const n: HostOnlyNet =
      sub === 'add'
        ? { name: name!, guid: randomUUID(), enabled: false, netmask: '', lower: '', upper: '', leases: {} }
        : found();
    if (sub === 'add') st.hostOnlyNets.push(n);
    if (id) n.guid = id;
    if (name) n.name = name;
    n.netmask = opt('netmask') ?? n.netmask;
    n.lower = opt('lowerip') ?? n.lower;
    n.upper = opt('upperip') ?? n.upper;
    if (flag('enable')) n.enabled = true;
    if (flag('disable')) n.enabled = false;
  });
}

export function listHostOnlyNets(st: SimState, io: Io): void {
  io.out(
    st.hostOnlyNets
      .map((n) =>
        [
          `Name:            ${n.name}`,
          `GUID:            ${n.guid}`,
          '',
          `State:           ${n.enabled ? 'Enabled' : 'Disabled'}`,
          `NetworkMask:     ${n.netmask}`,
          `LowerIP:         ${n.lower}`,
          `UpperIP:         ${n.upper}`,
          `VBoxNetworkName: hostonly-${n.name}`,
          '',
          '',
        ].join('\n'),
      )
      .join(''),
  );
}

function deleteLink(name: string): void {
  try {
    ip(['link', 'del', name]);
  } catch {
    /* gone already */
  }
}

/**
 * The host side of a host-only network, as vmnet makes it when a VM on it starts: a bridge carrying
 * the lower address. Made (or set right) under the state lock; returns its name and the network's prefix.
 */
export function hostOnlyNetLink(
  home: string,
  st: SimState,
  n: HostOnlyNet,
): { bridge: string; prefix: number } {
  const prefix = prefixOf(n.netmask);
  let bridge = n.bridge;
  if (!bridge) {
    let i = 0;
    while (st.hostOnlyNets.some((x) => x.bridge === hostOnlyNetBridge(home, i))) i++;
    bridge = hostOnlyNetBridge(home, i);
  }
  const exists = (() => {
    try {
      return execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', bridge], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  })();
  if (exists === undefined) {
    ip(['link', 'add', bridge, 'type', 'bridge']);
    ip(['link', 'set', bridge, 'alias', `vboxsim:${home}`]);
    ip(['link', 'set', bridge, 'up']);
  }
  if (!exists?.includes(` ${n.lower}/${prefix} `)) {
    ip(['addr', 'flush', 'dev', bridge]);
    ip(['addr', 'add', `${n.lower}/${prefix}`, 'dev', bridge]);
  }
  n.bridge = bridge;
  return { bridge, prefix };
}

/** The address vmnet's DHCP server gives `mac` on an enabled host-only network: lower+1..upper. */
export function hostOnlyNetLease(n: HostOnlyNet, mac: string): string | undefined {
  if (!n.enabled) return undefined;
  const next = intToIp(ipToInt(n.lower) + 1);
  return allocate({ lower: next, upper: n.upper, leases: n.leases }, mac, n.lower);
}
