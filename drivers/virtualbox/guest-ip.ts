import { randomBytes } from 'node:crypto';

/** What the driver runs in the guest to find an interface by MAC and its IPv4 address. */
export const GUEST_IP_COMMAND = 'ip -o link show; echo ---; ip -o -4 addr show';

/** `080027AABBCC` or `08:00:27:aa:bb:cc` → `080027aabbcc`. */
export const normalizeMac = (mac: string): string => mac.replace(/[:-]/g, '').toLowerCase();

/** `080027AABBCC` → `08:00:27:aa:bb:cc`, as Linux (and cloud-init's network-config) writes it. */
export const colonMac = (mac: string): string => normalizeMac(mac).match(/../g)!.join(':');

/**
 * A MAC for a NIC, in VirtualBox's OUI 08:00:27 as VirtualBox makes them (`080027XXXXXX`). The driver
 * sets the MACs itself so that the NoCloud seed, written before the VM exists, can name the NICs.
 */
export const newMac = (): string => `080027${randomBytes(3).toString('hex').toUpperCase()}`;

/**
 * The IPv4 address of the guest interface whose MAC is `mac`, from the output of GUEST_IP_COMMAND
 * (docker-machine matched the host-only NIC's MAC the same way). Undefined while it has no address yet.
 */
export function ipForMac(output: string, mac: string): { iface?: string; ip?: string } {
  const [links, addrs = ''] = output.split(/^---$/m);
  const want = normalizeMac(mac);
  let iface: string | undefined;
  for (const line of links.split(/\r?\n/)) {
    // 3: enp0s8@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... link/ether 08:00:27:aa:bb:cc brd ...
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:.*\blink\/ether\s+([0-9a-fA-F:]{17})/.exec(line);
    if (m && normalizeMac(m[2]) === want) {
      iface = m[1];
      break;
    }
  }
  if (!iface) return {};
  for (const line of addrs.split(/\r?\n/)) {
    // 3: enp0s8    inet 192.168.99.100/24 brd 192.168.99.255 scope global dynamic enp0s8\ ...
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/\d+/.exec(line);
    if (m && m[1] === iface) return { iface, ip: m[2] };
  }
  return { iface };
}
