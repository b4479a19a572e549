import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { resolveInside } from '../../src/store/paths.js';
import { dirname, join, sep } from 'node:path';
import type {
  CommandTransport,
  Driver,
  DriverContext,
  DriverState,
  FlagValues,
  MachineState,
  SshTarget,
} from '../../src/driver/contract.js';
import { UserError, oneLine } from '../../src/errors.js';
import { generateSshKey, loadPrivateKey } from '../../src/ssh/keys.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { withLock } from '../../src/store/lock.js';
import { delay, retryUntil } from '../../src/util/async.js';
import { relaunchEngine } from '../../src/provision/engine-control.js';
import { buildSeedIso } from './cloud-init.js';
import { SSH_RULE, SSH_USER, STORAGE_CONTROLLER } from './defaults.js';
import { GUEST_IP_COMMAND, ipForMac, newMac } from './guest-ip.js';
import { ensureHostOnlyNetwork, parseHostOnlyCidr, type HostOnlyNet } from './hostonly.js';
import { ensureHostOnlyNet } from './hostonlynet.js';
import { ensureImage, loggedProgress, terminalProgress, type CachedImage } from './image.js';
import { freeLocalPort, portFree, waitForSshBanner } from './ports.js';
import { settingsFromFlags, type VirtualBoxSettings, type VirtualBoxState } from './settings.js';
import { deleteSeed, deleteVm } from './teardown.js';
import { VBoxManage, isMachineNotFound, isNotRunning } from './vboxmanage.js';
import { machineState, parseCreatedUuid, parseVmInfo, type VmInfo } from './vminfo.js';

export { destroyCluster, discoverClusters } from './cluster.js';

const KEY_FILE = 'id_ssh';
/** How long a booting VM may take until its sshd answers through the NAT port forward. */
const BOOT_DEADLINE_MS = 5 * 60_000;
/** How long DHCP may take to give the host-only NIC an address. */
const IP_DEADLINE_MS = 2 * 60_000;
const ON = (b: boolean) => (b ? 'on' : 'off');

/** The host's OS; SWARMUP_VBOX_HOST_PLATFORM stands in for it (tests run a macOS VirtualBox simulator on Linux). */
const hostPlatform = (): string => process.env.SWARMUP_VBOX_HOST_PLATFORM || process.platform;

/** How NIC 2 reaches the host: a host-only adapter, or (VirtualBox 7 on macOS) a host-only network. */
interface HostOnlyAttachment {
  kind: 'adapter' | 'network';
  name: string;
}

/** A VirtualBox VM booted from a cloud image, reached over SSH through a NAT port forward on 127.0.0.1. */
export class VirtualBoxDriver implements Driver {
  private readonly vbm: VBoxManage;
  private image?: CachedImage;
  private vboxMajor?: number;

  constructor(
    private readonly ctx: DriverContext,
    readonly state: VirtualBoxState,
    private readonly settings?: VirtualBoxSettings,
  ) {
    this.vbm = new VBoxManage(state.VBoxManagePath);
  }

  static fromFlags(ctx: DriverContext, flags: FlagValues): VirtualBoxDriver {
    const s = settingsFromFlags(flags);
    return new VirtualBoxDriver(
      ctx,
      {
        MachineName: ctx.machineName,
        VMName: ctx.machineName,
        SSHUser: SSH_USER,
        SSHKeyPath: KEY_FILE,
        EnginePort: 2376,
        HostOnlyCIDR: s.hostOnlyCidr,
        HostOnlyNicType: s.hostOnlyNicType,
        HostOnlyPromisc: s.hostOnlyPromisc,
        UIType: s.uiType,
        ShutdownTimeoutSec: s.shutdownTimeoutSec,
        ...(s.vboxmanage ? { VBoxManagePath: s.vboxmanage } : {}),
      },
      s,
    );
  }

  static fromState(ctx: DriverContext, state: DriverState): VirtualBoxDriver {
    return new VirtualBoxDriver(ctx, state as VirtualBoxState);
  }

  // ---- paths -------------------------------------------------------------------------------------

  private get storeRoot(): string {
    return dirname(dirname(this.ctx.machineDir));
  }
  private get keyPath(): string {
    return join(this.ctx.machineDir, this.state.SSHKeyPath ?? KEY_FILE);
  }
  private get diskPath(): string {
    return join(this.ctx.machineDir, 'disk.vdi');
  }
  private get seedPath(): string {
    return join(this.ctx.machineDir, 'seed.iso');
  }
  /** The VM's folder, made by `createvm --basefolder <machine dir>`. */
  private get vmDir(): string {
    // Removed recursively: a name from a hand-edited store must not point outside the machine's folder.
    return resolveInside(
      this.ctx.machineDir,
      this.state.VMName,
      'Driver.VMName',
      join(this.ctx.machineDir, 'config.json'),
    );
  }
  private get uuid(): string {
    if (!this.state.UUID) throw new UserError(`the machine ${this.ctx.machineName} has no VirtualBox VM`);
    return this.state.UUID;
  }

  // ---- create ------------------------------------------------------------------------------------

  /** VBoxManage works and is recent enough, the name is free, the image is in the cache and verified. */
  async preCreateCheck(): Promise<void> {
    const s = this.need();
    const version = (await this.vbm.run(['--version'])).stdout.trim();
    const m = /^(\d+)\.(\d+)/.exec(version);
    if (!m || Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) < 1)) {
      throw new UserError(
        `VirtualBox ${version || '(unknown version)'} is too old: swarmup needs 5.1 or later`,
      );
    }
    this.vboxMajor = Number(m[1]);
    await this.refuseNameTaken();
    this.image = await this.fetchImage(s);
    const mb = this.image.capacity && Math.ceil(this.image.capacity / 1048576);
    if (mb && s.diskSizeMb < mb) {
      throw new UserError(
        `--virtualbox-disk-size ${s.diskSizeMb} MB is smaller than the image's ${mb} MB disk (VirtualBox cannot shrink a disk): give at least ${mb}`,
      );
    }
  }

  private need(): VirtualBoxSettings {
    if (!this.settings) throw new Error('create() needs a driver made by fromFlags');
    return this.settings;
  }

  /** A VM of this name made by someone else is refused; one left by an interrupted create of ours goes. */
  private async refuseNameTaken(): Promise<void> {
    let info: VmInfo;
    try {
      info = parseVmInfo((await this.vbm.run(['showvminfo', this.state.VMName, '--machinereadable'])).stdout);
    } catch (err) {
      if (isMachineNotFound(err)) return;
      throw err;
    }
    const cfg = info.values.get('CfgFile') ?? '';
    const uuid = info.values.get('UUID');
    if (uuid && cfg.startsWith(this.ctx.machineDir + sep)) {
      this.ctx.log(`Removing VM ${this.state.VMName} left by an interrupted create...`);
      await this.destroyVm(uuid, info);
      return;
    }
    throw new UserError(
      `a VirtualBox VM named "${this.state.VMName}" already exists (${cfg || uuid}): choose another machine name, ` +
        `or remove that VM (VBoxManage unregistervm "${this.state.VMName}" --delete)`,
    );
  }

  private fetchImage(s: VirtualBoxSettings): Promise<CachedImage> {
    const name = s.imageUrl.replace(/^.*\//, '');
    const interactive = process.stderr.isTTY === true && !process.env.CI && !this.ctx.cluster;
    return ensureImage({
      url: s.imageUrl,
      checksum: s.imageChecksum,
      cacheDir: join(this.storeRoot, 'cache'),
      log: this.ctx.log,
      progress: interactive
        ? terminalProgress(name)
        : loggedProgress(name, this.ctx.log, s.imageUrl.startsWith('file:') ? 'Copying' : 'Downloading'),
    });
  }

  /** Build the VM and boot it. Anything made before a failure is removed again (the host-only network stays). */
  async create(): Promise<void> {
    const s = this.need();
    try {
      await this.build(s);
    } catch (err) {
      await this.rollback();
      throw err;
    }
  }

  private async build(s: VirtualBoxSettings): Promise<void> {
    const image = this.image ?? (await this.fetchImage(s));
    const { log } = this.ctx;
    await this.removeLeftoverFiles(); // of an interrupted create of this machine, if any
    const publicKey = await generateSshKey(this.keyPath, `swarmup-${this.ctx.machineName}`);
    const share = s.share && existsSync(s.share.hostPath) ? s.share : undefined;
    const macs = { nat: newMac(), hostOnly: newMac() };
    await writeFile(
      this.seedPath,
      buildSeedIso({
        hostname: this.ctx.machineName,
        instanceId: randomUUID(),
        user: SSH_USER,
        publicKey,
        share: share && { name: share.name, mountPoint: share.mountPoint },
        macs,
      }),
      { mode: 0o600 },
    );

    const hostOnly = await this.ensureHostOnly(await this.usesHostOnlyNetworks());
    const port = await freeLocalPort();

    log('Creating VirtualBox VM...');
    const created = await this.vbm.run([
      'createvm',
      '--name',
      this.state.VMName,
      '--basefolder',
      this.ctx.machineDir,
      '--register',
    ]);
    const uuid = parseCreatedUuid(created.stdout);
    if (!uuid) throw new UserError(`VBoxManage createvm printed no UUID: ${created.stdout.trim()}`);
    this.state.UUID = uuid;
    for (const [k, v] of Object.entries(this.labels())) await this.vbm.run(['setextradata', uuid, k, v]);

    await this.vbm.run([
      'modifyvm',
      uuid,
      '--ostype',
      'Linux26_64',
      '--firmware',
      'bios',
      '--cpus',
      String(s.cpus),
      '--memory',
      String(s.memory),
      '--acpi',
      'on',
      '--ioapic',
      'on',
      '--rtcuseutc',
      'on',
      '--pae',
      'on',
      '--hpet',
      'on',
      '--hwvirtex',
      'on',
      '--nestedpaging',
      'on',
      '--largepages',
      'on',
      '--vtxvpid',
      'on',
      '--cpuhotplug',
      'off',
      '--accelerate3d',
      'off',
      '--bioslogofadein',
      'off',
      '--bioslogofadeout',
      'off',
      '--bioslogodisplaytime',
      '0',
      '--biosbootmenu',
      'disabled',
      '--boot1',
      'disk',
      '--boot2',
      'dvd',
      '--boot3',
      'none',
      '--boot4',
      'none',
      // Cloud images log to the serial console; without a serial port some boot slowly.
      '--uart1',
      '0x3F8',
      '4',
      '--uartmode1',
      'file',
      join(this.vmDir, 'console.log'),
      '--nic1',
      'nat',
      '--nictype1',
      s.natNicType,
      '--macaddress1',
      macs.nat,
      '--cableconnected1',
      'on',
      '--natdnsproxy1',
      ON(s.dnsProxy),
      '--natdnshostresolver1',
      ON(s.hostDnsResolver),
      '--natpf1',
      `${SSH_RULE},tcp,127.0.0.1,${port},,22`,
      '--nic2',
      hostOnly.kind === 'network' ? 'hostonlynet' : 'hostonly',
      '--nictype2',
      s.hostOnlyNicType,
      '--macaddress2',
      macs.hostOnly,
      '--nicpromisc2',
      s.hostOnlyPromisc,
      hostOnly.kind === 'network' ? '--host-only-net2' : '--hostonlyadapter2',
      hostOnly.name,
      '--cableconnected2',
      'on',
    ]);
    this.state.SSHPort = port;
    this.state.HostOnlyMAC = macs.hostOnly;
    await this.vbm.run([
      'storagectl',
      uuid,
      '--name',
      STORAGE_CONTROLLER,
      '--add',
      'sata',
      '--controller',
      'IntelAhci',
      '--portcount',
      '2',
      '--hostiocache',
      'on',
      '--bootable',
      'on',
    ]);

    log('Creating the disk from the image...');
    // VirtualBox registers the image it clones from: clone and close it under the image's lock, so that
    // parallel creates do not close it under each other and a newer download can replace it later.
    await withLock(
      image.lockPath,
      async () => {
        if (image.format === 'raw') {
          await this.vbm.run(['convertfromraw', image.path, this.diskPath, '--format', 'VDI']);
        } else {
          await this.vbm.run(['clonemedium', 'disk', image.path, this.diskPath, '--format', 'VDI']);
          await this.vbm.run(['closemedium', 'disk', image.path]);
        }
      },
      30 * 60_000,
    );
    await this.vbm.run(['modifymedium', 'disk', this.diskPath, '--resize', String(s.diskSizeMb)]);
    await this.attach(0, 'hdd', this.diskPath);
    await this.attach(1, 'dvddrive', this.seedPath);
    if (share) {
      await this.vbm.run([
        'sharedfolder',
        'add',
        uuid,
        '--name',
        share.name,
        '--hostpath',
        share.hostPath,
        '--automount',
      ]);
      await this.vbm.run([
        'setextradata',
        uuid,
        `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${share.name}`,
        '1',
      ]);
    }
    log('Starting the VM...');
    await this.vbm.run(['startvm', uuid, '--type', this.state.UIType]);
    await this.afterBoot(true);
  }

  private attach(port: number, type: 'hdd' | 'dvddrive', medium: string) {
    return this.vbm.run([
      'storageattach',
      this.uuid,
      '--storagectl',
      STORAGE_CONTROLLER,
      '--port',
      String(port),
      '--device',
      '0',
      '--type',
      type,
      '--medium',
      medium,
    ]);
  }

  /** Extra data that marks the VM as ours: the store, and the cluster and its labels. */
  private labels(): Record<string, string> {
    const l: Record<string, string> = {};
    if (this.ctx.storeId) l['swarmup/store'] = this.ctx.storeId;
    const c = this.ctx.cluster;
    if (c) {
      l['swarmup/cluster'] = c.name;
      l['swarmup/role'] = c.role;
      for (const [k, v] of Object.entries(c.labels)) l[`swarmup/label/${k}`] = v;
    }
    return l;
  }

  private get hostOnlyLock(): string {
    return join(this.storeRoot, '.vbox-hostonly.lock');
  }

  /** VirtualBox 7 on macOS: host-only networks (hostonlynet) instead of host-only adapters. */
  private async usesHostOnlyNetworks(): Promise<boolean> {
    if (hostPlatform() !== 'darwin') return false;
    this.vboxMajor ??= Number(/^(\d+)\./.exec((await this.vbm.run(['--version'])).stdout.trim())?.[1] ?? 0);
    return this.vboxMajor >= 7;
  }

  /** The host-only adapter (with its DHCP server) or host-only network of the machine, made when missing. */
  private async ensureHostOnly(network: boolean): Promise<HostOnlyAttachment> {
    const net: HostOnlyNet = parseHostOnlyCidr(this.state.HostOnlyCIDR);
    if (network) {
      const name = await ensureHostOnlyNet(this.vbm, net, this.hostOnlyLock, this.ctx.log);
      this.state.HostOnlyNetwork = name;
      delete this.state.HostOnlyAdapter;
      return { kind: 'network', name };
    }
    const name = await ensureHostOnlyNetwork(this.vbm, net, this.hostOnlyLock, this.ctx.log);
    this.state.HostOnlyAdapter = name;
    delete this.state.HostOnlyNetwork;
    return { kind: 'adapter', name };
  }

  /** Undo a failed create: power off and delete the VM with its disk, the seed, the VM folder. */
  private async rollback(): Promise<void> {
    const { log } = this.ctx;
    try {
      const registered = !!this.state.UUID;
      if (this.state.UUID) {
        let info: VmInfo | undefined;
        try {
          info = await this.info();
        } catch (err) {
          if (!isMachineNotFound(err)) throw err;
        }
        if (info) await this.destroyVm(this.state.UUID, info);
        delete this.state.UUID;
      }
      await this.removeLeftoverFiles(registered);
    } catch (err) {
      log(`Warning: could not remove everything the failed create made: ${oneLine(err)}`);
    }
  }

  private destroyVm(uuid: string, info: VmInfo): Promise<void> {
    return deleteVm(this.vbm, uuid, info.values.get('VMState'));
  }

  /**
   * A disk that was made but never attached is still registered: close it with --delete. The seed is
   * closed too when a VM may have had it attached (`closeSeed`), else only deleted.
   */
  private async removeLeftoverFiles(closeSeed = true): Promise<void> {
    if (existsSync(this.diskPath)) {
      await this.vbm.run(['closemedium', 'disk', this.diskPath, '--delete']).catch(() => undefined);
      await rm(this.diskPath, { force: true });
    }
    if (closeSeed) await deleteSeed(this.vbm, this.seedPath);
    else await rm(this.seedPath, { force: true });
    await rm(this.vmDir, { recursive: true, force: true });
  }

  // ---- power -------------------------------------------------------------------------------------

  private async info(): Promise<VmInfo> {
    return parseVmInfo((await this.vbm.run(['showvminfo', this.uuid, '--machinereadable'])).stdout);
  }

  async getState(): Promise<MachineState> {
    if (!this.state.UUID) return 'Error';
    try {
      return machineState((await this.info()).values.get('VMState'));
    } catch (err) {
      if (isMachineNotFound(err)) return 'Error';
      throw err;
    }
  }

  async start(): Promise<void> {
    const info = await this.info();
    const st = info.values.get('VMState');
    if (st === 'paused') {
      await this.vbm.run(['controlvm', this.uuid, 'resume']);
    } else if (st !== 'running') {
      await this.prepareStart(info);
      this.ctx.log('Starting the VM...');
      await this.vbm.run(['startvm', this.uuid, '--type', this.state.UIType]);
    }
    await this.afterBoot();
    await this.relaunchEngine();
  }

  /**
   * A guest without systemd (the shared provisioner then supervises dockerd itself) does not start the
   * engine at boot: start it again, as root, and wait until it listens. A no-op on systemd guests.
   */
  private async relaunchEngine(): Promise<void> {
    const t = await this.transport();
    const asRoot: CommandTransport = {
      exec: (cmd, opts) => t.exec(cmd, { ...opts, root: true }),
      writeFile: (path, content, mode) => t.writeFile(path, content, mode),
      close: () => t.close(),
    };
    await relaunchEngine(asRoot, this.state.EngineListenPort ?? 2376, this.ctx.log);
  }

  /**
   * Before a start: the host-only interface and its DHCP server (or the host-only network) must still
   * exist and be configured (made again when gone: without them the guest gets no address), and the SSH
   * port forward must point at a free port (another program may have taken it meanwhile). A VM with a
   * host-only adapter on VirtualBox 7 for macOS, which refuses to start it ("Host-only adapters are no
   * longer supported"; e.g. made before an upgrade), is moved to a host-only network.
   */
  private async prepareStart(info: VmInfo): Promise<void> {
    const changes: string[] = [];
    const onNetwork = info.values.get('nic2') === 'hostonlynetwork';
    const hostOnly = await this.ensureHostOnly(onNetwork || (await this.usesHostOnlyNetworks()));
    if (hostOnly.kind === 'network') {
      if (!onNetwork) {
        this.ctx.log('VirtualBox 7 on macOS has no host-only adapters: NIC 2 moves to a host-only network');
        changes.push('--nic2', 'hostonlynet');
      }
      if (!onNetwork || info.values.get('hostonly-network2') !== hostOnly.name)
        changes.push('--host-only-net2', hostOnly.name);
    } else if (info.values.get('hostonlyadapter2') !== hostOnly.name) {
      changes.push('--hostonlyadapter2', hostOnly.name);
    }
    const fwd = info.forwards.get(1)?.find((f) => f.name === SSH_RULE);
    let port = fwd?.hostPort ?? this.state.SSHPort;
    if (!port || !(await portFree(port))) {
      port = await freeLocalPort();
      this.ctx.log(`The SSH port forward moves to 127.0.0.1:${port} (the old port is taken)`);
      if (fwd) changes.push('--natpf1', 'delete', SSH_RULE);
      changes.push('--natpf1', `${SSH_RULE},tcp,127.0.0.1,${port},,22`);
    }
    if (changes.length) await this.vbm.runUnlocked(['modifyvm', this.uuid, ...changes]);
    this.state.SSHPort = port;
  }

  /** Wait for sshd (pinning its host key), for cloud-init, and for the host-only NIC's address. */
  private async afterBoot(firstBoot = false): Promise<void> {
    const { log } = this.ctx;
    log('Waiting for SSH...');
    // While the guest boots, VirtualBox's NAT accepts on the forwarded port and drops the connection:
    // wait for sshd's banner before the SSH client tries its handshake.
    await waitForSshBanner(this.sshTarget().port, BOOT_DEADLINE_MS, this.state.VMName);
    const t = await this.transport(30_000).catch((err: unknown) => {
      // sshd answers but refuses our key: cloud-init never made the user from the seed.
      if (firstBoot && err instanceof UserError && /SSH authentication failed/.test(err.message)) {
        throw new UserError(
          `${err.message} (the guest did not apply the NoCloud seed: is the image a cloud image with cloud-init?)`,
        );
      }
      throw err;
    });
    try {
      await t.exec(
        'command -v cloud-init >/dev/null 2>&1 || exit 0; cloud-init status --wait >/dev/null 2>&1; exit 0',
        {
          timeoutMs: 10 * 60_000,
        },
      );
      log('Waiting for an IP...');
      const mac = this.state.HostOnlyMAC ?? (await this.info()).values.get('macaddress2');
      if (!mac) throw new UserError(`the VM ${this.state.VMName} has no host-only NIC (NIC 2)`);
      this.state.HostOnlyMAC = mac;
      const ip = await retryUntil(
        async () => {
          const r = await t.exec(GUEST_IP_COMMAND);
          const found = ipForMac(r.stdout, mac);
          if (!found.ip) {
            throw new UserError(
              found.iface
                ? `the host-only NIC (${found.iface}) of ${this.state.VMName} got no IPv4 address from DHCP`
                : `no interface with the host-only NIC's MAC ${mac} in ${this.state.VMName}`,
            );
          }
          return found.ip;
        },
        { deadlineMs: IP_DEADLINE_MS, initialMs: 500, maxMs: 2_000 },
      );
      if (this.state.IPAddress && this.state.IPAddress !== ip) {
        log(`The machine's address changed from ${this.state.IPAddress} to ${ip}`);
      }
      this.state.IPAddress = ip;
    } finally {
      await t.close();
    }
  }

  async stop(): Promise<void> {
    let st = await this.getState();
    if (st === 'Paused') {
      await this.vbm.run(['controlvm', this.uuid, 'resume']);
      st = 'Running';
    }
    if (st !== 'Running' && st !== 'Starting') return;
    await this.vbm.run(['controlvm', this.uuid, 'acpipowerbutton']);
    const end = Date.now() + this.state.ShutdownTimeoutSec * 1000;
    let wait = 250;
    while (['Running', 'Stopping'].includes(await this.getState())) {
      if (Date.now() > end) {
        this.ctx.log(`The VM did not shut down within ${this.state.ShutdownTimeoutSec} s; powering it off`);
        await this.kill();
        return;
      }
      await delay(wait);
      wait = Math.min(wait * 2, 2_000);
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async kill(): Promise<void> {
    try {
      await this.vbm.run(['controlvm', this.uuid, 'poweroff']);
    } catch (err) {
      if (!isNotRunning(err)) throw err;
    }
  }

  async remove(): Promise<void> {
    if (this.state.UUID) {
      let info: VmInfo | undefined;
      try {
        info = await this.info();
      } catch (err) {
        if (!isMachineNotFound(err)) throw err;
      }
      if (info) await this.destroyVm(this.state.UUID, info);
    }
    await this.removeLeftoverFiles();
  }

  // ---- access ------------------------------------------------------------------------------------

  async getIP(): Promise<string> {
    if (!this.state.IPAddress) {
      throw new UserError(`the machine ${this.ctx.machineName} has no IP address yet: start it`);
    }
    return this.state.IPAddress;
  }

  /** Members of a cluster reach each other on the host-only network, as the host does. */
  async getInternalIP(): Promise<string> {
    return this.getIP();
  }

  sshTarget(): SshTarget {
    if (!this.state.SSHPort)
      throw new UserError(`the machine ${this.ctx.machineName} has no SSH port forward`);
    return {
      host: '127.0.0.1',
      port: this.state.SSHPort,
      user: this.state.SSHUser ?? SSH_USER,
      keyPath: this.keyPath,
      knownHostsPath: join(this.ctx.machineDir, 'known_hosts'),
    };
  }

  async transport(connectDeadlineMs = 15_000): Promise<SshTransport> {
    const t = this.sshTarget();
    const { key } = await loadPrivateKey(t.keyPath);
    return SshTransport.connect({ ...t, privateKey: key, connectDeadlineMs });
  }
}

export const fromFlags = VirtualBoxDriver.fromFlags;
export const fromState = VirtualBoxDriver.fromState;
