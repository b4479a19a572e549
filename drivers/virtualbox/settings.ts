import { availableParallelism } from 'node:os';
import type { DriverState, FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { DEFAULT_IMAGE_URL, NIC_TYPES, PROMISC_MODES, UI_TYPES } from './defaults.js';
import { parseHostOnlyCidr } from './hostonly.js';
import { validateImageSource } from './image.js';

/** Saved under `Driver` in the machine's config.json. Paths are relative to the machine directory. */
export type VirtualBoxState = DriverState & {
  /** The VM's UUID once it is registered; every call after `createvm` names the VM by it. */
  UUID?: string;
  VMName: string;
  HostOnlyCIDR: string;
  /** The host-only adapter NIC 2 is on (e.g. vboxnet0)... */
  HostOnlyAdapter?: string;
  /** ...or, on VirtualBox 7 for macOS, the host-only network. */
  HostOnlyNetwork?: string;
  /** MAC of the host-only NIC as VirtualBox prints it (080027XXXXXX). */
  HostOnlyMAC?: string;
  HostOnlyNicType: string;
  HostOnlyPromisc: string;
  UIType: string;
  ShutdownTimeoutSec: number;
  /** An explicit VBoxManage path from --virtualbox-vboxmanage (otherwise found at run time). */
  VBoxManagePath?: string;
};

export interface Share {
  hostPath: string;
  name: string;
  mountPoint: string;
}

/** Everything create needs, checked before anything is made. */
export interface VirtualBoxSettings {
  memory: number;
  cpus: number;
  diskSizeMb: number;
  imageUrl: string;
  imageChecksum?: string;
  hostOnlyCidr: string;
  hostOnlyNicType: string;
  hostOnlyPromisc: string;
  natNicType: string;
  hostDnsResolver: boolean;
  dnsProxy: boolean;
  /** undefined: no shared folder. */
  share?: Share;
  uiType: string;
  shutdownTimeoutSec: number;
  vboxmanage?: string;
}

const str = (v: unknown): string | undefined =>
  v === undefined || v === null || v === '' ? undefined : String(v);
const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1';

function num(flags: FlagValues, name: string, dflt: number, min: number): number {
  const v = flags[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UserError(`invalid --${name} "${String(v)}": expected a whole number of at least ${min}`);
  return n;
}

function oneOf(flags: FlagValues, name: string, dflt: string, allowed: readonly string[]): string {
  const v = str(flags[name]) ?? dflt;
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw new UserError(`invalid --${name} "${v}": expected one of ${allowed.join(', ')}`);
  return hit;
}

/**
 * The shared folder docker-machine made: the home directories (`/Users` on macOS, `C:\Users` as
 * "c/Users" on Windows, `/home` as "hosthome" on Linux), or `--virtualbox-share-folder dir:name`.
 */
export function shareFromFlags(flags: FlagValues, platform = process.platform): Share | undefined {
  if (bool(flags['virtualbox-no-share'])) return undefined;
  const custom = str(flags['virtualbox-share-folder']);
  if (custom) {
    const i = custom.lastIndexOf(':');
    const hostPath = i > 0 ? custom.slice(0, i) : custom;
    const name = i > 0 ? custom.slice(i + 1) : hostPath.replace(/^\/+/, '');
    if (!hostPath || !name || /[\s/,"]/.test(name)) {
      throw new UserError(
        `invalid --virtualbox-share-folder "${custom}": expected dir:name (a name without / or spaces)`,
      );
    }
    return { hostPath, name, mountPoint: `/${name}` };
  }
  if (platform === 'darwin') return { hostPath: '/Users', name: 'Users', mountPoint: '/Users' };
  if (platform === 'win32') return { hostPath: 'C:\\Users', name: 'c/Users', mountPoint: '/c/Users' };
  return { hostPath: '/home', name: 'hosthome', mountPoint: '/hosthome' };
}

export function settingsFromFlags(flags: FlagValues): VirtualBoxSettings {
  if (str(flags['virtualbox-boot2docker-url'])) {
    throw new UserError(
      '--virtualbox-boot2docker-url is not supported: boot2docker is no longer maintained; machines boot a cloud image (--virtualbox-image-url)',
    );
  }
  const cpuFlag = flags['virtualbox-cpu-count'];
  const cpuRaw = cpuFlag === undefined || cpuFlag === '' ? 1 : Number(cpuFlag);
  if (!Number.isInteger(cpuRaw))
    throw new UserError(`invalid --virtualbox-cpu-count "${String(cpuFlag)}": expected a whole number`);
  const cpus = Math.min(cpuRaw < 1 ? availableParallelism() : cpuRaw, 32);
  const s: VirtualBoxSettings = {
    memory: num(flags, 'virtualbox-memory', 1024, 256),
    cpus,
    diskSizeMb: num(flags, 'virtualbox-disk-size', 20000, 1024),
    imageUrl: str(flags['virtualbox-image-url']) ?? DEFAULT_IMAGE_URL,
    imageChecksum: str(flags['virtualbox-image-checksum']),
    hostOnlyCidr: str(flags['virtualbox-hostonly-cidr']) ?? '192.168.99.1/24',
    hostOnlyNicType: oneOf(flags, 'virtualbox-hostonly-nictype', '82540EM', NIC_TYPES),
    hostOnlyPromisc: oneOf(flags, 'virtualbox-hostonly-nicpromisc', 'deny', PROMISC_MODES),
    natNicType: oneOf(flags, 'virtualbox-nat-nictype', '82540EM', NIC_TYPES),
    hostDnsResolver: bool(flags['virtualbox-host-dns-resolver']),
    dnsProxy: !bool(flags['virtualbox-no-dns-proxy']),
    share: shareFromFlags(flags),
    uiType: oneOf(flags, 'virtualbox-ui-type', 'headless', UI_TYPES),
    shutdownTimeoutSec: num(flags, 'virtualbox-shutdown-timeout', 60, 1),
    vboxmanage: str(flags['virtualbox-vboxmanage']),
  };
  parseHostOnlyCidr(s.hostOnlyCidr);
  validateImageSource(s.imageUrl, s.imageChecksum);
  return s;
}
