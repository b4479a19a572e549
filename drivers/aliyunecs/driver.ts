import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Driver,
  DriverContext,
  DriverState,
  FlagValues,
  MachineState,
  SshTarget,
} from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { generateSshKey, loadPrivateKey } from '../../src/ssh/keys.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { shq } from '../../src/util/shell.js';
import {
  aliyunClient,
  codeOf,
  credentialsFrom,
  requireCredentials,
  type AliyunClient,
  type Credentials,
} from '../../src/cloud/aliyun/client.js';
import { DEFAULTS } from './defaults.js';
import {
  allocatePublicIpAddress,
  createInstance,
  type CreateInstanceParams,
  deleteInstance,
  deleteKeyPairs,
  deleteSecurityGroup,
  describeInstances,
  importKeyPair,
  privateIpOf,
  publicIpOf,
  rebootInstance,
  startInstance,
  stopInstance,
  type EcsInstance,
} from '../../src/cloud/aliyun/ecs.js';
import { ensureSecurityGroup } from '../../src/cloud/aliyun/firewall.js';
import { hasStatus, isGone, started, waitInstance } from './poller.js';
import {
  notActedOnWarning,
  requireAdminCidrs,
  securityGroupName,
  settingsFrom,
  type AliyunSettings,
} from './settings.js';
import { TAG, resourceTags, tagsOf } from '../../src/cloud/aliyun/tags.js';

export { destroyCluster, discoverClusters, ensureClusterFirewall } from './cluster.js';
export { cloud } from './cloud.js';

const KEY_FILE = 'id_ed25519';
/** A private key of the user's (--aliyunecs-ssh-keypath), copied into the machine directory. */
const USER_KEY_FILE = 'id_ssh';
/** A booting instance: Pending → Stopped, then Starting → Running. */
const BOOT_DEADLINE_MS = 5 * 60_000;
const SSH_DEADLINE_MS = 3 * 60_000;

/** Saved under `Driver` in the machine's config.json: no credentials. */
export type AliyunState = DriverState & {
  RegionId: string;
  Endpoint?: string;
  InstanceId?: string;
  InstanceName: string;
  KeyPairName?: string;
  /** The key pair is the user's (--aliyunecs-ssh-keypair): never deleted. */
  ExternalKeyPair?: boolean;
  /** No public address (--aliyunecs-private-address-only): IPAddress is the private one. */
  PrivateAddressOnly?: boolean;
  SecurityGroupId?: string;
  SecurityGroupName: string;
  /** The group was made for this machine alone (outside a cluster) and goes with it. */
  OwnSecurityGroup?: boolean;
  Zone?: string;
  InternalIPAddress?: string;
  InstanceType: string;
  ImageId: string;
  Cluster?: string;
  Role?: string;
};

const STATES: Record<string, MachineState> = {
  Pending: 'Starting',
  Starting: 'Starting',
  Running: 'Running',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
};

/** Key pairs are per machine and per store, so two stores with a machine "default" never collide. */
export const keyPairName = (machine: string, storeId?: string) =>
  `swarmup-${machine}${storeId ? `-${storeId.slice(0, 8)}` : ''}`;

/** A hostname Aliyun accepts (else Aliyun picks one): 2-64 of [a-zA-Z0-9.-], no leading/trailing or double dot/dash. */
export const validHostName = (n: string) => /^[a-zA-Z0-9]([a-zA-Z0-9]|[.-](?=[a-zA-Z0-9])){1,63}$/.test(n);

/** The CreateInstance parameters of a machine: the flags' settings, and where it goes. */
export function instanceParams(
  s: AliyunSettings,
  m: {
    name: string;
    securityGroupId: string;
    keyPairName: string;
    tags: Record<string, string>;
  },
): CreateInstanceParams {
  return {
    zoneId: s.zoneId,
    imageId: s.imageId,
    instanceType: s.instanceType,
    securityGroupId: m.securityGroupId,
    instanceName: m.name,
    hostName: validHostName(m.name) ? m.name : undefined,
    keyPairName: m.keyPairName,
    vswitchId: s.vswitchId,
    privateIp: s.privateIp,
    description: s.description,
    bandwidth: s.privateAddressOnly ? 0 : s.bandwidth,
    internetChargeType: s.internetChargeType,
    systemDiskSize: s.systemDiskSize,
    systemDiskCategory: s.systemDiskCategory,
    dataDisk: s.dataDisk,
    ioOptimized: s.ioOptimized,
    tags: m.tags,
    password: s.sshPassword,
  };
}

/** A machine that is an ECS instance reached over SSH with its own key pair (or the user's). */
export class AliyunDriver implements Driver {
  private creds?: Credentials;
  private settings?: AliyunSettings;

  constructor(
    private readonly ctx: DriverContext,
    readonly state: AliyunState,
  ) {}

  static fromFlags(ctx: DriverContext, flags: FlagValues): AliyunDriver {
    const s = settingsFrom(flags);
    const d = new AliyunDriver(ctx, {
      MachineName: ctx.machineName,
      SSHUser: DEFAULTS.sshUser,
      SSHPort: 22,
      SSHKeyPath: KEY_FILE,
      EnginePort: 2376,
      RegionId: s.regionId,
      ...(s.endpoint ? { Endpoint: s.endpoint } : {}),
      InstanceName: ctx.machineName,
      SecurityGroupName: securityGroupName(s, ctx.cluster?.name, ctx.machineName),
      InstanceType: s.instanceType,
      ImageId: s.imageId,
      ...(s.privateAddressOnly ? { PrivateAddressOnly: true } : {}),
      ...(ctx.cluster ? { Cluster: ctx.cluster.name, Role: ctx.cluster.role } : {}),
    });
    d.settings = s;
    d.creds = credentialsFrom(flags);
    const ignored = notActedOnWarning(flags);
    if (ignored) ctx.log(ignored);
    return d;
  }

  static fromState(ctx: DriverContext, state: DriverState): AliyunDriver {
    return new AliyunDriver(ctx, state as AliyunState);
  }

  private get name(): string {
    return this.ctx.machineName;
  }

  private get keyPath(): string {
    return join(this.ctx.machineDir, this.state.SSHKeyPath ?? KEY_FILE);
  }

  /** Credentials come from the flags of this run or the environment, never from the store. */
  private async client(): Promise<AliyunClient> {
    const creds = this.creds ?? requireCredentials({});
    return aliyunClient({ regionId: this.state.RegionId, endpoint: this.state.Endpoint }, creds);
  }

  /**
   * Credentials, an admin range, a usable private key when one is given, and a private address only
   * for a machine of its own (the other flags were checked by fromFlags).
   */
  async preCreateCheck(): Promise<void> {
    const s = this.settings!;
    this.creds ??= requireCredentials({});
    requireAdminCidrs(s);
    if (s.privateIp && this.ctx.cluster) {
      throw new UserError(
        '--aliyunecs-private-ip is one address for one machine: use it with "swarmup create", not "cluster up"',
      );
    }
    if (s.sshKeyPath) await loadPrivateKey(s.sshKeyPath);
  }

  /** The key the machine is logged in with: the user's (copied in, 0600) or a new one. Its public half. */
  private async loginKey(s: AliyunSettings): Promise<string> {
    if (!s.sshKeyPath) return generateSshKey(this.keyPath, `swarmup-${this.name}`);
    const { publicKey } = await loadPrivateKey(s.sshKeyPath);
    this.state.SSHKeyPath = USER_KEY_FILE;
    await copyFile(s.sshKeyPath, this.keyPath);
    await chmod(this.keyPath, 0o600);
    return publicKey;
  }

  /**
   * Key pair (ours, or the user's), instance (Stopped), public address (unless private only), start,
   * wait Running, log in once (pins the host key). A failure leaves what was made in the state, and
   * createMachine's remove() takes it back.
   */
  async create(): Promise<void> {
    const s = this.settings;
    if (!s) throw new Error('create() needs a driver made by fromFlags');
    const c = await this.client();
    const log = this.ctx.log;
    const member = this.ctx.cluster;
    const tags = (role: string, machine?: string) =>
      resourceTags({ user: s.tags, cluster: member, role, storeId: this.ctx.storeId, machine });
    const publicKey = await this.loginKey(s);
    const own = !member && s.securityGroup === undefined;
    this.state.SecurityGroupId = await ensureSecurityGroup(c, {
      name: this.state.SecurityGroupName,
      vpcId: s.vpcId,
      adminCidrs: s.adminCidrs,
      tags: tags('firewall', own ? this.name : undefined),
      cluster: member?.name,
      log,
    });
    if (own) this.state.OwnSecurityGroup = true;
    const role = member?.role ?? 'machine';
    if (s.sshKeyPair) {
      this.state.KeyPairName = s.sshKeyPair;
      this.state.ExternalKeyPair = true;
    } else await this.importKey(c, publicKey, tags(role, this.name));
    log(`Creating instance ${this.name} (${s.instanceType})...`);
    if (s.sshPassword) {
      log(
        'Setting the root password from --aliyunecs-ssh-password (ECS_SSH_PASSWORD); swarmup still logs in with its SSH key',
      );
    }
    const id = await createInstance(
      c,
      instanceParams(s, {
        name: this.name,
        securityGroupId: this.state.SecurityGroupId,
        keyPairName: this.state.KeyPairName!,
        tags: tags(role, this.name),
      }),
    );
    this.state.InstanceId = id;
    await waitInstance(c, id, 'to be created', hasStatus('Stopped', 'Running'), BOOT_DEADLINE_MS);
    if (!s.privateAddressOnly) await allocatePublicIpAddress(c, id);
    log(`Starting instance ${id}...`);
    await this.startAndWait(c, id);
    if (!this.state.IPAddress) {
      throw new UserError(
        `instance ${id} is running but has no ${s.privateAddressOnly ? 'private' : 'public'} address`,
      );
    }
    log(`Waiting for SSH on ${this.state.IPAddress}...`);
    const t = await this.transport(SSH_DEADLINE_MS);
    try {
      await ensureHostname(t, this.name, log);
    } finally {
      await t.close();
    }
  }

  private async startAndWait(c: AliyunClient, id: string): Promise<void> {
    await startInstance(c, id);
    const i = await waitInstance(c, id, 'to start', started(id), BOOT_DEADLINE_MS);
    if (i) this.refresh(i);
  }

  private async importKey(c: AliyunClient, publicKey: string, tags: Record<string, string>): Promise<void> {
    const name = keyPairName(this.name, this.ctx.storeId);
    this.state.KeyPairName = name;
    try {
      await importKeyPair(c, name, publicKey, tags);
    } catch (err) {
      if (!/AlreadyExist/i.test(codeOf(err) ?? '')) throw err;
      // Ours by name (machine and store): the leftover of an interrupted create. Replace it.
      await deleteKeyPairs(c, [name]);
      await importKeyPair(c, name, publicKey, tags);
    }
  }

  /** Take addresses and zone from a describe (the public address can change on stop/start). */
  private refresh(i: EcsInstance): void {
    const priv = privateIpOf(i);
    const pub = this.state.PrivateAddressOnly ? priv : publicIpOf(i);
    if (pub) this.state.IPAddress = pub;
    if (priv) this.state.InternalIPAddress = priv;
    if (i.ZoneId) this.state.Zone = i.ZoneId;
  }

  private async describe(c: AliyunClient): Promise<EcsInstance | undefined> {
    if (!this.state.InstanceId) return undefined;
    const [i] = await describeInstances(c, { instanceIds: [this.state.InstanceId] });
    if (i) this.refresh(i);
    return i;
  }

  /**
   * A stored InstanceId is only a pointer: the instance it names is deleted only when its tags name
   * this machine and this store (a hand-edited or foreign store must not delete someone's instance).
   */
  private checkOwned(i: EcsInstance | undefined): void {
    if (!i) return;
    const t = tagsOf(i);
    if (t[TAG.machine] === this.name && this.ctx.storeId && t[TAG.store] === this.ctx.storeId) return;
    throw new UserError(
      `instance ${i.InstanceId} is not machine ${this.name} of this store (tags ${TAG.machine}=${t[TAG.machine] ?? '-'}, ` +
        `${TAG.store}=${t[TAG.store] ?? '-'}): left alone; "swarmup rm -f ${this.name}" removes the local record only`,
    );
  }

  private requireId(): string {
    if (!this.state.InstanceId) throw new UserError(`the machine ${this.name} has no instance`);
    return this.state.InstanceId;
  }

  async getState(): Promise<MachineState> {
    const i = await this.describe(await this.client());
    if (!i) return 'Error';
    return STATES[i.Status] ?? 'None';
  }

  private async waitFor(c: AliyunClient, what: string, ...statuses: string[]): Promise<void> {
    const i = await waitInstance(c, this.requireId(), what, hasStatus(...statuses), BOOT_DEADLINE_MS);
    if (i) this.refresh(i);
  }

  private async current(c: AliyunClient): Promise<EcsInstance> {
    const i = await this.describe(c);
    if (!i) throw new UserError(`instance ${this.state.InstanceId} of machine ${this.name} no longer exists`);
    return i;
  }

  async start(): Promise<void> {
    const c = await this.client();
    const i = await this.current(c);
    if (i.Status === 'Running') return;
    if (i.Status === 'Stopping') await this.waitFor(c, 'to stop', 'Stopped');
    if (i.Status === 'Starting' || i.Status === 'Pending') await this.waitFor(c, 'to start', 'Running');
    else await this.startAndWait(c, i.InstanceId);
  }

  async stop(): Promise<void> {
    await this.halt(false);
  }

  async kill(): Promise<void> {
    await this.halt(true);
  }

  private async halt(force: boolean): Promise<void> {
    const c = await this.client();
    const i = await this.current(c);
    if (i.Status === 'Starting' || i.Status === 'Pending')
      await this.waitFor(c, 'to settle', 'Running', 'Stopped');
    if (i.Status !== 'Stopped')
      await stopInstance(c, i.InstanceId, force).catch((err) => {
        if (codeOf(err) !== 'IncorrectInstanceStatus') throw err;
      });
    await this.waitFor(c, 'to stop', 'Stopped');
  }

  async restart(): Promise<void> {
    const c = await this.client();
    const i = await this.current(c);
    if (i.Status !== 'Running') {
      await this.start();
      return;
    }
    await rebootInstance(c, i.InstanceId);
    await this.waitFor(c, 'to restart', 'Running');
  }

  /**
   * Force-delete the instance, then its key pair unless it is the user's (and a machine's own group
   * once the instance is gone).
   */
  async remove(): Promise<void> {
    const c = await this.client();
    const id = this.state.InstanceId;
    if (id) this.checkOwned(await this.describe(c));
    if (id && (await deleteInstance(c, id)) && this.state.OwnSecurityGroup) {
      await waitInstance(c, id, 'to be deleted', isGone, BOOT_DEADLINE_MS);
    }
    if (this.state.KeyPairName && !this.state.ExternalKeyPair)
      await deleteKeyPairs(c, [this.state.KeyPairName]);
    if (this.state.OwnSecurityGroup && this.state.SecurityGroupId) {
      await deleteSecurityGroup(c, this.state.SecurityGroupId);
    }
  }

  async getIP(): Promise<string> {
    if (!this.state.IPAddress) throw new UserError(`the machine ${this.name} has no public address yet`);
    return this.state.IPAddress;
  }

  async getInternalIP(): Promise<string> {
    return this.state.InternalIPAddress || (await this.getIP());
  }

  sshTarget(): SshTarget {
    return {
      host: this.state.IPAddress ?? '',
      port: this.state.SSHPort ?? 22,
      user: this.state.SSHUser ?? DEFAULTS.sshUser,
      keyPath: this.keyPath,
      knownHostsPath: join(this.ctx.machineDir, 'known_hosts'),
    };
  }

  async transport(connectDeadlineMs = 10_000): Promise<SshTransport> {
    const t = this.sshTarget();
    if (!t.host) throw new UserError(`the machine ${this.name} has no public address yet`);
    const { key } = await loadPrivateKey(t.keyPath);
    return SshTransport.connect({ ...t, privateKey: key, connectDeadlineMs });
  }
}

/**
 * Make the OS hostname the machine name (swarm names nodes by hostname). ECS images set it from
 * HostName at first boot; images that do not (or no HostName, when the name is not a valid one) get
 * it set here. One command when it is right already.
 */
async function ensureHostname(t: SshTransport, name: string, log: (m: string) => void): Promise<void> {
  if ((await t.exec('hostname')).stdout.trim() === name) return;
  log(`Setting the hostname to ${name}...`);
  const n = shq(name);
  const r = await t.exec(
    `hostname ${n} && printf '%s\\n' ${n} > /etc/hostname && ` +
      `{ grep -qE "[[:space:]]${name.replace(/\./g, '\\.')}( |$)" /etc/hosts || printf '127.0.1.1 %s\\n' ${n} >> /etc/hosts; }`,
    { root: true },
  );
  if (r.code !== 0)
    throw new UserError(`cannot set the hostname of ${name}: ${(r.stderr || r.stdout).trim()}`);
}

export const fromFlags = AliyunDriver.fromFlags;
export const fromState = AliyunDriver.fromState;
