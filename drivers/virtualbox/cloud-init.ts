import { colonMac } from './guest-ip.js';
import { buildIso9660 } from './iso9660.js';

/** A host directory shared into the guest through VirtualBox shared folders (vboxsf). */
export interface GuestShare {
  /** VirtualBox share name, e.g. "hosthome". */
  name: string;
  /** Where the guest mounts it, e.g. "/hosthome". */
  mountPoint: string;
}

export interface SeedOptions {
  hostname: string;
  /** cloud-init runs its once-per-instance modules when this changes. */
  instanceId: string;
  user: string;
  /** OpenSSH public key line. */
  publicKey: string;
  share?: GuestShare;
  /** MACs the driver gave NIC 1 (NAT) and NIC 2 (host-only), as VirtualBox prints them. */
  macs: { nat: string; hostOnly: string };
}

/** JSON strings are YAML strings: quote every scalar we did not write ourselves. */
const q = (s: string) => JSON.stringify(s);

/**
 * cloud-config for the machine: its hostname, a `docker` user with passwordless sudo that logs in with
 * the machine's key only, no root login, no passwords. A shared folder is mounted through fstab with
 * `nofail`, so an image without the vboxsf module still boots.
 */
export function userData(o: SeedOptions): string {
  const lines = [
    '#cloud-config',
    `hostname: ${q(o.hostname)}`,
    'preserve_hostname: false',
    'manage_etc_hosts: true',
    'users:',
    `  - name: ${q(o.user)}`,
    '    gecos: "swarmup"',
    '    groups: ["sudo"]',
    '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
    '    shell: "/bin/bash"',
    '    lock_passwd: true',
    '    ssh_authorized_keys:',
    `      - ${q(o.publicKey.trim())}`,
    'disable_root: true',
    'ssh_pwauth: false',
  ];
  if (o.share) {
    lines.push(
      'mounts:',
      `  - [${q(o.share.name)}, ${q(o.share.mountPoint)}, "vboxsf", "defaults,nofail,uid=1000,gid=1000", "0", "0"]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function metaData(o: SeedOptions): string {
  return `instance-id: ${q(o.instanceId)}\nlocal-hostname: ${q(o.hostname)}\n`;
}

/**
 * NoCloud network-config (version 2): DHCPv4 on both NICs, matched by the MACs the driver set. Without
 * it, cloud-init's fallback configuration runs DHCP on the first NIC (NAT) only, and the host-only NIC,
 * whose address is the machine's, never gets one. Routes and DNS servers come from the NAT NIC only: the
 * host-only network leads nowhere but to the host (on macOS its DHCP server offers a router).
 */
export function networkConfig(o: SeedOptions): string {
  return [
    'version: 2',
    'ethernets:',
    '  nat:',
    '    match:',
    `      macaddress: ${q(colonMac(o.macs.nat))}`,
    '    dhcp4: true',
    '  hostonly:',
    '    match:',
    `      macaddress: ${q(colonMac(o.macs.hostOnly))}`,
    '    dhcp4: true',
    '    dhcp4-overrides:',
    '      use-routes: false',
    '      use-dns: false',
    '',
  ].join('\n');
}

/** The NoCloud seed: an ISO9660 volume labelled `cidata` with `user-data`, `meta-data` and `network-config`. */
export function buildSeedIso(o: SeedOptions, date?: Date): Buffer {
  return buildIso9660({
    volumeId: 'cidata',
    date,
    files: [
      { name: 'meta-data', content: metaData(o) },
      { name: 'network-config', content: networkConfig(o) },
      { name: 'user-data', content: userData(o) },
    ],
  });
}
