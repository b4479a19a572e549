/**
 * The part of cloud-init a NoCloud seed drives that matters for swarmup, applied to the lab guest at
 * each boot: hostname, users (groups, sudo rule, SSH keys, no password), disable_root, and which NICs
 * run a DHCP client (network-config, or cloud-init's fallback: the first NIC only). Other modules
 * (mounts, runcmd, packages, growpart...) are ignored and listed in the VM log.
 */
import { parse } from 'yaml';
import { readIso9660 } from './iso9660.js';

export interface Seed {
  userData: string;
  metaData: string;
  /** The optional network-config file. */
  networkConfig?: string;
}

/** Read a NoCloud seed: an ISO9660 volume labelled `cidata` with user-data and meta-data. */
export function readSeed(iso: Buffer): Seed | undefined {
  const img = readIso9660(iso);
  if (img.volumeId.toLowerCase() !== 'cidata') return undefined;
  const userData = img.files.get('user-data');
  const metaData = img.files.get('meta-data');
  if (!userData || !metaData) return undefined;
  const networkConfig = img.files.get('network-config')?.toString('utf8');
  return {
    userData: userData.toString('utf8'),
    metaData: metaData.toString('utf8'),
    ...(networkConfig !== undefined ? { networkConfig } : {}),
  };
}

/** A guest NIC as cloud-init sees it: its kernel name and MAC (`080027AABBCC` or with colons). */
export interface GuestNic {
  name: string;
  mac: string;
}

const bareMac = (mac: string) => mac.replace(/[:-]/g, '').toLowerCase();
/** fnmatch-style globs of netplan's `match: name:` (`*`, `?`). */
const glob = (pattern: string, s: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(s);

type Dict = Record<string, unknown>;
const dict = (v: unknown): Dict =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Dict) : {};

/**
 * Whether cloud-init would run a DHCPv4 client on `nic`. Without network-config, its fallback
 * configuration does so on the first NIC only (`first`). With one (version 2, as netplan: an
 * `ethernets` entry matched by `match: macaddress`/`name`, or named after the interface, with
 * `dhcp4: true`; or version 1: a `physical` entry by `mac_address`/`name` with a `dhcp`/`dhcp4` subnet),
 * only where it says so.
 */
export function dhcp4Enabled(seed: Seed | undefined, nic: GuestNic, first: GuestNic): boolean {
  if (seed?.networkConfig === undefined) return nic.name === first.name;
  const root = dict(parse(seed.networkConfig));
  const net = root.network !== undefined ? dict(root.network) : root;
  if (net.config === 'disabled') return false;
  const mac = bareMac(nic.mac);
  if (net.version === 2) {
    return Object.entries(dict(net.ethernets)).some(([id, raw]) => {
      const e = dict(raw);
      const m = e.match === undefined ? undefined : dict(e.match);
      const hit = m
        ? (m.macaddress === undefined || bareMac(String(m.macaddress)) === mac) &&
          (m.name === undefined || glob(String(m.name), nic.name)) &&
          (m.macaddress !== undefined || m.name !== undefined)
        : id === nic.name;
      return hit && (e.dhcp4 === true || e.dhcp4 === 'true' || e.dhcp4 === 'yes');
    });
  }
  if (net.version === 1 && Array.isArray(net.config)) {
    return net.config.some((raw) => {
      const c = dict(raw);
      const hit =
        c.type === 'physical' &&
        ((c.mac_address !== undefined && bareMac(String(c.mac_address)) === mac) || c.name === nic.name);
      return (
        hit &&
        Array.isArray(c.subnets) &&
        c.subnets.some((sn) => ['dhcp', 'dhcp4'].includes(String(dict(sn).type)))
      );
    });
  }
  return false;
}

interface User {
  name: string;
  groups?: string | string[];
  sudo?: string | string[] | false;
  shell?: string;
  ssh_authorized_keys?: string[];
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const HANDLED = new Set([
  'hostname',
  'fqdn',
  'preserve_hostname',
  'manage_etc_hosts',
  'users',
  'disable_root',
  'ssh_pwauth',
]);

/** A shell script for the guest (run as root) and the user-data keys it did not apply. */
export function cloudInitScript(seed: Seed): { script: string; ignored: string[] } {
  if (!seed.userData.startsWith('#cloud-config'))
    return { script: 'true', ignored: ['user-data (not #cloud-config)'] };
  const ud = (parse(seed.userData) ?? {}) as Record<string, unknown>;
  const md = (parse(seed.metaData) ?? {}) as Record<string, unknown>;
  const lines = ['set -e'];
  const hostname = String(ud.hostname ?? md['local-hostname'] ?? '');
  if (hostname && ud.preserve_hostname !== true) {
    lines.push(
      `hostname ${shq(hostname)}`,
      `printf '%s\\n' ${shq(hostname)} > /etc/hostname`,
      `grep -q ' ${hostname}$' /etc/hosts || printf '127.0.1.1 %s\\n' ${shq(hostname)} >> /etc/hosts`,
    );
  }
  const users = (Array.isArray(ud.users) ? ud.users : []).filter(
    (u): u is User => typeof u === 'object' && u !== null,
  );
  for (const u of users) {
    const n = shq(u.name);
    const shell = shq(u.shell ?? '/bin/sh');
    lines.push(
      `if ! id -u ${n} >/dev/null 2>&1; then`,
      `  if getent group ${n} >/dev/null; then useradd -m -s ${shell} -g ${n} ${n}; else useradd -m -U -s ${shell} ${n}; fi`,
      'fi',
      `usermod -p '*' ${n}`, // no password, but not locked: key logins work
    );
    const groups = typeof u.groups === 'string' ? u.groups.split(/\s*,\s*/) : (u.groups ?? []);
    for (const g of groups.filter(Boolean))
      lines.push(`if getent group ${shq(g)} >/dev/null; then usermod -aG ${shq(g)} ${n}; fi`);
    const sudo = u.sudo === false || u.sudo === undefined ? [] : Array.isArray(u.sudo) ? u.sudo : [u.sudo];
    if (sudo.length) {
      lines.push(
        `printf '%s\\n' ${sudo.map((r) => shq(`${u.name} ${r}`)).join(' ')} > /etc/sudoers.d/90-cloud-init-users`,
        'chmod 440 /etc/sudoers.d/90-cloud-init-users',
      );
    }
    const keys = u.ssh_authorized_keys ?? [];
    if (keys.length) {
      lines.push(
        `h=$(getent passwd ${n} | cut -d: -f6); g=$(id -gn ${n})`,
        `install -d -m 700 -o ${n} -g "$g" "$h/.ssh"`,
        `printf '%s\\n' ${keys.map(shq).join(' ')} > "$h/.ssh/authorized_keys"`,
        `chown ${n}:"$g" "$h/.ssh/authorized_keys"; chmod 600 "$h/.ssh/authorized_keys"`,
      );
    }
  }
  if (ud.disable_root !== false) lines.push('rm -f /root/.ssh/authorized_keys');
  return { script: lines.join('\n'), ignored: Object.keys(ud).filter((k) => !HANDLED.has(k)) };
}
