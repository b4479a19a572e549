import { withLock } from '../../src/store/lock.js';
import { checkCollisions, hostNetworks, listRecords, type HostOnlyNet } from './hostonly.js';
import type { VBoxManage } from './vboxmanage.js';

/**
 * VirtualBox 7 on macOS has no host-only adapters (`hostonlyif`, with a DHCP server each): it has
 * host-only networks (`hostonlynet`, on macOS's vmnet), with the DHCP server built in. vmnet gives the
 * host the lower address of the network's range and the guests the rest; the host's interface (a
 * `bridge1xx`) appears when the first VM on the network starts.
 */

/** A host-only network as `VBoxManage list hostonlynets` prints it. */
export interface HostOnlyNetwork {
  name: string;
  enabled: boolean;
  netmask: string;
  lower: string;
  upper: string;
}

/** `VBoxManage list hostonlynets`. */
export function parseHostOnlyNets(stdout: string): HostOnlyNetwork[] {
  return listRecords(stdout, 'name').map((f) => ({
    name: f.name,
    enabled: f.state === 'Enabled',
    netmask: f.networkmask ?? '',
    lower: f.lowerip ?? '',
    upper: f.upperip ?? '',
  }));
}

/** The name swarmup gives the host-only network of `net`, e.g. `swarmup-192.168.99.0-24`. */
export const hostOnlyNetName = (net: HostOnlyNet): string => `swarmup-${net.network}-${net.prefix}`;

/**
 * The host-only network for `net`, made or set right when missing: the host's address
 * (`--virtualbox-hostonly-cidr`'s) as the lower address, the last one before the broadcast as the
 * upper, enabled. A network with the same host address and mask is used whatever its name. Serialized
 * by the same lock file as host-only interfaces, and checked against the host's networks the same way.
 */
export async function ensureHostOnlyNet(
  vbm: VBoxManage,
  net: HostOnlyNet,
  lockPath: string,
  log: (m: string) => void,
): Promise<string> {
  return withLock(
    lockPath,
    async () => {
      const nets = parseHostOnlyNets((await vbm.run(['list', 'hostonlynets'])).stdout);
      const asIfs = nets.map((n) => ({
        name: n.name,
        ip: n.lower,
        netmask: n.netmask,
        status: n.enabled ? 'Up' : 'Down',
        networkName: `hostonly-${n.name}`,
      }));
      checkCollisions(net, asIfs, hostNetworks());
      const upper = net.dhcp.upper;
      const same = (n: HostOnlyNetwork) => n.lower === net.ip && n.netmask === net.netmask;
      const found = nets.find(same) ?? nets.find((n) => n.name === hostOnlyNetName(net));
      if (found && same(found) && found.enabled && found.upper === upper) return found.name;
      const name = found?.name ?? hostOnlyNetName(net);
      log(`${found ? 'Configuring' : 'Creating'} the host-only network ${net.ip}/${net.prefix}...`);
      await vbm.run([
        'hostonlynet',
        found ? 'modify' : 'add',
        '--name',
        name,
        '--netmask',
        net.netmask,
        '--lower-ip',
        net.ip,
        '--upper-ip',
        upper,
        '--enable',
      ]);
      return name;
    },
    120_000,
  );
}
