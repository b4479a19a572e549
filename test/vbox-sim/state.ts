/**
 * The simulator's VirtualBox: everything VBoxSVC would remember, in one JSON file under $VBOXSIM_HOME,
 * read and written under a lock file so that concurrent VBoxManage processes (and the per-VM processes)
 * see one consistent state.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from './errors.js';

export type VmState = 'poweroff' | 'running' | 'paused' | 'saved' | 'aborted';
export type Attachment =
  'none' | 'null' | 'nat' | 'bridged' | 'intnet' | 'hostonly' | 'hostonlynet' | 'generic' | 'natnetwork';

export interface NatRule {
  name: string;
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
}

export interface Nic {
  attachment: Attachment;
  type: string;
  /** 12 upper-case hex digits, as VirtualBox prints them. */
  mac: string;
  cable: boolean;
  promisc: string;
  hostOnlyAdapter: string;
  /** The host-only network (VirtualBox 7 on macOS) of a `hostonlynet` NIC. */
  hostOnlyNetwork?: string;
  natpf: NatRule[];
  dnsProxy: boolean;
  dnsHostResolver: boolean;
}

export interface StorageCtl {
  name: string;
  bus: string;
  type: string;
  portCount: number;
  bootable: boolean;
  hostIoCache: boolean;
}

export interface MediumAttachment {
  ctl: string;
  port: number;
  device: number;
  type: 'hdd' | 'dvddrive' | 'fdd';
  medium: string;
}

export interface SharedFolder {
  name: string;
  hostPath: string;
  automount: boolean;
  readonly: boolean;
}

export interface Uart {
  io: string;
  irq: number;
  mode: 'disconnected' | 'file' | 'server' | 'client' | 'tcpserver' | 'tcpclient';
  path: string;
}

export interface Vm {
  uuid: string;
  name: string;
  cfgFile: string;
  ostype: string;
  /** on/off, numbers and enums of modifyvm, by option name without dashes (e.g. acpi, memory, boot1). */
  settings: Record<string, string | number>;
  description: string;
  nics: Nic[];
  uarts: Array<Uart | null>;
  ctls: StorageCtl[];
  attachments: MediumAttachment[];
  sharedFolders: SharedFolder[];
  extra: Record<string, string>;
  guestProps: Record<string, string>;
  state: VmState;
  stateChange: string;
  /** The VM process (our VBoxHeadless) while a session holds the machine. */
  session?: { pid: number; type: string };
  /** The session is being released until this time (ms since the epoch). */
  unlockAt?: number;
}

export interface Medium {
  uuid: string;
  location: string;
  format: 'VDI' | 'VMDK' | 'VHD' | 'RAW' | 'ISO';
  kind: 'hdd' | 'dvd';
  /** Logical size in bytes. */
  capacity: number;
}

export interface HostOnlyIf {
  name: string;
  guid: string;
  ip: string;
  netmask: string;
  mac: string;
  /** The Linux bridge on the host that is this interface. */
  bridge: string;
}

export interface DhcpServer {
  netName: string;
  ip: string;
  netmask: string;
  lower: string;
  upper: string;
  enabled: boolean;
  /** MAC (12 hex, upper case) → leased address. */
  leases: Record<string, string>;
}

/**
 * A host-only network of VirtualBox 7 on macOS (vmnet): the host takes the lower address, the guests
 * get the rest of the range from vmnet's DHCP server.
 */
export interface HostOnlyNet {
  name: string;
  guid: string;
  enabled: boolean;
  netmask: string;
  lower: string;
  upper: string;
  /** The host bridge (made when the first VM on the network starts, as vmnet does), if any yet. */
  bridge?: string;
  /** MAC (12 hex, upper case) → leased address. */
  leases: Record<string, string>;
}

export interface SimState {
  vms: Vm[];
  media: Medium[];
  hostOnlyIfs: HostOnlyIf[];
  dhcpServers: DhcpServer[];
  hostOnlyNets: HostOnlyNet[];
}

/** The host the simulated VirtualBox runs on: `VBOXSIM_HOST_OS=darwin` is VirtualBox 7 on macOS. */
export const hostOs = (): 'darwin' | 'linux' =>
  process.env.VBOXSIM_HOST_OS === 'darwin' ? 'darwin' : 'linux';

export function simHome(): string {
  const home = process.env.VBOXSIM_HOME;
  if (!home) {
    process.stderr.write('VBoxManage (simulator): VBOXSIM_HOME is not set\n');
    process.exit(1);
  }
  mkdirSync(home, { recursive: true });
  return home;
}

/** A short, stable tag of a simulator home: prefixes host interfaces and lab VMs it makes. */
export const homeTag = (home: string) => createHash('sha1').update(home).digest('hex').slice(0, 6);

export const statePath = (home: string) => join(home, 'state.json');

const empty = (): SimState => ({ vms: [], media: [], hostOnlyIfs: [], dhcpServers: [], hostOnlyNets: [] });

export function readState(home: string): SimState {
  try {
    return { ...empty(), ...(JSON.parse(readFileSync(statePath(home), 'utf8')) as Partial<SimState>) };
  } catch {
    return empty();
  }
}

function writeState(home: string, st: SimState): void {
  const tmp = `${statePath(home)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(st, null, 1));
  renameSync(tmp, statePath(home));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Run `fn` with the state under the lock; the state is written back when `fn` returns normally. */
export function withState<T>(home: string, fn: (st: SimState) => T): T {
  const lock = join(home, 'state.lock');
  const end = Date.now() + 30_000;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: number;
      try {
        owner = Number(readFileSync(lock, { encoding: 'utf8', flag: 'r' }) || '0');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw e;
      }
      if (owner && !pidAlive(owner)) rmSync(lock, { force: true });
      else if (Date.now() > end) throw new Error(`simulator state is locked by pid ${owner}`);
      else sleepSync(wait);
    }
  }
  try {
    const st = readState(home);
    const out = fn(st);
    writeState(home, st);
    return out;
  } finally {
    rmSync(lock, { force: true });
  }
}

export const newUuid = (): string => randomUUID();
export const newMac = (): string => `080027${randomBytes(3).toString('hex').toUpperCase()}`;

/** A VM by name or UUID, as VBoxManage's FindMachine does. */
export function findVm(st: SimState, ref: string, file: string, line: number): Vm {
  const vm = st.vms.find((v) => v.uuid === ref) ?? st.vms.find((v) => v.name === ref);
  if (!vm) throw notFound(ref, file, line);
  return vm;
}

/** Running or still being unlocked: modifying commands are refused. */
export function isLocked(vm: Vm): boolean {
  return vm.session !== undefined || (vm.unlockAt !== undefined && Date.now() < vm.unlockAt);
}

/** A running VM whose VM process died is `aborted`, as VirtualBox reports a crashed VBoxHeadless. */
export function reapAborted(vm: Vm): void {
  if (vm.session && vm.session.pid > 0 && !pidAlive(vm.session.pid)) {
    vm.state = 'aborted';
    vm.session = undefined;
    vm.stateChange = new Date().toISOString();
  }
}

export const unlockDelayMs = () => Number(process.env.VBOXSIM_UNLOCK_MS ?? 200);

export function defaultNic(): Nic {
  return {
    attachment: 'none',
    type: '82540EM',
    mac: newMac(),
    cable: true,
    promisc: 'deny',
    hostOnlyAdapter: '',
    natpf: [],
    dnsProxy: false,
    dnsHostResolver: false,
  };
}

/** Name of the lab VM that backs a simulated VM. */
export const labVmName = (home: string, vm: { uuid: string }) => `vbs${homeTag(home)}-${vm.uuid.slice(0, 8)}`;
