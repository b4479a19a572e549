import { join } from 'node:path';
import type {
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
import { delay } from '../../src/util/async.js';
import { debug } from '../../src/util/log.js';
import { connectGce } from '../../src/cloud/gce/connect.js';
import { type Gce, type Instance } from '../../src/cloud/gce/api.js';
import { isAlreadyExists } from '../../src/cloud/gce/errors.js';
import { ensureOwnerFirewalls, ownerFirewalls, removeOwnedFirewall } from './firewall.js';
import { instanceAddresses, instanceBody, machineState, sshKeysEntry } from './instance.js';
import { LABEL, ownerTag, resourceLabels, type Owner } from '../../src/cloud/gce/labels.js';
import { NAME_RE, requireAdminCidrs, settingsFromFlags, type GoogleSettings } from './settings.js';

export { destroyCluster, discoverClusters, ensureClusterFirewall } from './cluster.js';
export { cloud } from './cloud.js';

const KEY_FILE = 'id_ed25519';
/** How long a new VM may take until its guest agent has installed our key and sshd lets us in. */
const SSH_DEADLINE_MS = 5 * 60_000;

/** Saved under `Driver` in the machine's config.json (no credentials). */
export type GoogleState = DriverState & {
  Project: string;
  Zone: string;
  Endpoint?: string;
  InstanceName: string;
  Network: string;
  /** The cluster the machine belongs to ('' outside clusters): it owns the firewall rules. */
  Cluster: string;
  InternalIPAddress?: string;
  UseInternalIP: boolean;
  UseInternalIPOnly: boolean;
  UseExisting: boolean;
};

/** A machine that is a Compute Engine VM. */
export class GoogleDriver implements Driver {
  private gce?: Gce;
  /** Set when a failed create already removed what it made: remove() then has nothing to do. */
  private cleaned = false;
  /** Whether create() got as far as changing anything in GCE (a driver from flags that did not has nothing to remove). */
  private touched = false;
  /** Whether an insert of our instance was sent (so a failed create must delete it). */
  private inserted = false;

  constructor(
    private readonly ctx: DriverContext,
    readonly state: GoogleState,
    private readonly settings?: GoogleSettings,
  ) {}

  static fromFlags(ctx: DriverContext, flags: FlagValues): GoogleDriver {
    const s = settingsFromFlags(flags);
    if (!NAME_RE.test(ctx.machineName)) {
      throw new UserError(
        `machine name "${ctx.machineName}" is not a valid GCE instance name: 1-63 lowercase letters, digits and "-", starting with a letter`,
      );
    }
    return new GoogleDriver(
      ctx,
      {
        MachineName: ctx.machineName,
        SSHUser: s.username,
        SSHPort: 22,
        SSHKeyPath: KEY_FILE,
        EnginePort: 2376,
        Project: s.project,
        Zone: s.zone,
        ...(s.endpoint ? { Endpoint: s.endpoint } : {}),
        InstanceName: ctx.machineName,
        Network: s.network,
        Cluster: ctx.cluster?.name ?? '',
        UseInternalIP: s.useInternalIp,
        UseInternalIPOnly: s.useInternalIpOnly,
        UseExisting: s.useExisting,
      },
      s,
    );
  }

  static fromState(ctx: DriverContext, state: DriverState): GoogleDriver {
    return new GoogleDriver(ctx, state as GoogleState);
  }

  private get name(): string {
    return this.state.InstanceName;
  }

  private get owner(): Owner {
    return this.state.Cluster
      ? { kind: 'cluster', name: this.state.Cluster }
      : { kind: 'machine', name: this.name };
  }

  private get where(): string {
    return `instance ${this.name} in ${this.state.Zone}`;
  }

  private async api(): Promise<Gce> {
    this.gce ??= await connectGce({ project: this.state.Project, endpoint: this.state.Endpoint });
    return this.gce;
  }

  private get keyPath(): string {
    return join(this.ctx.machineDir, this.state.SSHKeyPath ?? KEY_FILE);
  }

  private async getInstance(): Promise<Instance | undefined> {
    const gce = await this.api();
    return gce.find(`reading ${this.where}`, (o) =>
      gce.instances.get({ project: gce.project, zone: this.state.Zone, instance: this.name }, o),
    );
  }

  /** An instance of this name that is the leftover of an interrupted create of this machine by this store. */
  private isOurLeftover(i: Instance): boolean {
    const l = i.labels ?? {};
    return !!this.ctx.storeId && l[LABEL.machine] === this.name && l[LABEL.store] === this.ctx.storeId;
  }

  async preCreateCheck(): Promise<void> {
    const s = this.needSettings();
    requireAdminCidrs(s);
    const existing = await this.getInstance();
    if (s.useExisting && !existing) {
      throw new UserError(`--google-use-existing: there is no ${this.where} in project ${s.project}`);
    }
    if (!s.useExisting && existing && !this.isOurLeftover(existing)) {
      throw new UserError(
        `an ${this.where} already exists in project ${s.project} (use --google-use-existing to adopt it)`,
      );
    }
  }

  private needSettings(): GoogleSettings {
    if (!this.settings) throw new Error('create() needs a driver made by fromFlags');
    return this.settings;
  }

  private labels(): Record<string, string> {
    const c = this.ctx.cluster;
    return resourceLabels({
      user: this.settings?.labels,
      membership: c?.labels,
      cluster: c?.name,
      role: c?.role,
      machine: this.name,
      store: this.ctx.storeId,
    });
  }

  async create(): Promise<void> {
    const s = this.needSettings();
    requireAdminCidrs(s);
    const gce = await this.api();
    const publicKey = await generateSshKey(this.keyPath, `swarmup-${this.name}`);
    try {
      this.touched = true;
      // SSH and the engine port must be open before provisioning; the swarm rule too before the join.
      await ensureOwnerFirewalls(gce, this.owner, s, this.ctx.log);
      if (s.useExisting) await this.adopt(s, publicKey);
      else await this.insert(s, publicKey);
      await this.refresh(true);
      this.ctx.log(`Waiting for SSH on ${this.state.IPAddress}...`);
      await this.waitForSsh();
    } catch (err) {
      await this.cleanUp(err, this.inserted);
      throw err;
    }
  }

  private async insert(s: GoogleSettings, publicKey: string): Promise<void> {
    const gce = await this.api();
    const natIP = s.address ? await this.resolveAddress(s) : undefined;
    const body = instanceBody({
      name: this.name,
      settings: s,
      sshKeys: sshKeysEntry(s.username, publicKey),
      tags: [...new Set(['swarmup', ownerTag(this.owner), ...s.tags])],
      labels: this.labels(),
      natIP,
    });
    const what = `creating ${this.where}`;
    this.ctx.log(`Creating ${this.where} (${s.machineType})...`);
    const send = () =>
      gce.mutate(what, (o, requestId) =>
        gce.instances.insert({ requestId, project: gce.project, zone: s.zone, instanceResource: body }, o),
      );
    this.inserted = true;
    try {
      await send();
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const have = await this.getInstance();
      if (!have || !this.isOurLeftover(have)) {
        this.inserted = false; // not ours: never delete it
        throw new UserError(`an ${this.where} already exists (not made for this machine by this store)`);
      }
      this.ctx.log(`Removing ${this.where} left by an interrupted create...`);
      await this.deleteInstance();
      await send();
    }
  }

  /** `--google-address`: an IP as given, or the address of a reserved regional address of that name. */
  private async resolveAddress(s: GoogleSettings): Promise<string> {
    const a = s.address!;
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) return a;
    const gce = await this.api();
    const found = await gce.find(`reading address ${a}`, (o) =>
      gce.addresses.get({ project: gce.project, region: s.region, address: a }, o),
    );
    if (!found?.address)
      throw new UserError(`--google-address: no reserved address "${a}" in region ${s.region}`);
    return found.address;
  }

  /** `--google-use-existing`: add our SSH key and tags to the instance and start it if needed. */
  private async adopt(s: GoogleSettings, publicKey: string): Promise<void> {
    const gce = await this.api();
    const i = await this.getInstance();
    if (!i) throw new UserError(`--google-use-existing: there is no ${this.where}`);
    const items = [...(i.metadata?.items ?? [])];
    const entry = sshKeysEntry(s.username, publicKey);
    const keys = items.find((x) => x.key === 'ssh-keys');
    if (keys) keys.value = [keys.value, entry].filter(Boolean).join('\n');
    else items.push({ key: 'ssh-keys', value: entry });
    this.ctx.log(`Adding an SSH key to ${this.where}...`);
    await gce.mutate(`setting the metadata of ${this.where}`, (o, requestId) =>
      gce.instances.setMetadata(
        {
          requestId,
          project: gce.project,
          zone: s.zone,
          instance: this.name,
          metadataResource: { items, fingerprint: i.metadata?.fingerprint },
        },
        o,
      ),
    );
    const tags = [...new Set([...(i.tags?.items ?? []), 'swarmup', ownerTag(this.owner)])];
    if (tags.length !== (i.tags?.items ?? []).length) {
      await gce.mutate(`setting the tags of ${this.where}`, (o, requestId) =>
        gce.instances.setTags(
          {
            requestId,
            project: gce.project,
            zone: s.zone,
            instance: this.name,
            tagsResource: { items: tags, fingerprint: i.tags?.fingerprint },
          },
          o,
        ),
      );
    }
    if (i.status !== 'RUNNING') await this.start(false);
  }

  /** Delete what a failed create inserted, so that nothing is left; the original error is what counts. */
  private async cleanUp(cause: unknown, inserted: boolean): Promise<void> {
    if (inserted) this.ctx.log(`Create failed (${oneLine(cause)}); removing ${this.where}...`);
    try {
      if (inserted) await this.deleteInstance();
      if (this.owner.kind === 'machine') await this.removeOwnerFirewalls();
      this.cleaned = true;
    } catch (err) {
      this.ctx.log(`Could not remove ${this.where}: ${oneLine(err)}`);
    }
  }

  private async deleteInstance(): Promise<boolean> {
    const gce = await this.api();
    return gce.remove(`deleting ${this.where}`, (o, requestId) =>
      gce.instances.delete(
        { requestId, project: gce.project, zone: this.state.Zone, instance: this.name },
        o,
      ),
    );
  }

  private async removeOwnerFirewalls(): Promise<void> {
    const gce = await this.api();
    const { specs, unwanted } = ownerFirewalls(this.owner, {
      network: this.state.Network,
      adminCidrs: [],
      openPorts: [],
    });
    for (const n of [...specs.map((f) => f.name), ...unwanted])
      await removeOwnedFirewall(gce, n, this.owner, this.ctx.log);
  }

  /**
   * Read the instance until it is RUNNING with the addresses we need, and keep them in the state.
   * `wait`: keep polling (a VM that is still booting); otherwise read once.
   */
  private async refresh(wait: boolean): Promise<Instance | undefined> {
    const gce = await this.api();
    const end = Date.now() + gce.timing.operationDeadlineMs;
    let pause = 250;
    for (;;) {
      const i = await this.getInstance();
      if (!i) {
        if (wait) throw new UserError(`${this.where} disappeared`);
        return undefined;
      }
      const { natIP, networkIP } = instanceAddresses(i);
      if (networkIP) this.state.InternalIPAddress = networkIP;
      const ip = this.state.UseInternalIP ? networkIP : natIP;
      if (ip && i.status === 'RUNNING') this.state.IPAddress = ip;
      if (!wait || (ip && i.status === 'RUNNING')) return i;
      if (['STOPPING', 'STOPPED', 'TERMINATED', 'SUSPENDED'].includes(String(i.status))) {
        throw new UserError(`${this.where} is ${i.status} instead of starting`);
      }
      if (Date.now() > end)
        throw new UserError(
          `${this.where} is not running with an address after ${gce.timing.operationDeadlineMs / 1000} s`,
        );
      await delay(pause);
      pause = Math.min(pause * 2, 3_000);
    }
  }

  /** Log in once (pins the host key); a new VM refuses the key until its guest agent has added it. */
  private async waitForSsh(): Promise<void> {
    const end = Date.now() + SSH_DEADLINE_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const t = await this.transport(Math.min(60_000, Math.max(1_000, end - Date.now())));
        await t.close();
        return;
      } catch (err) {
        const msg = oneLine(err);
        if (/host key/i.test(msg) || Date.now() > end) throw err;
        debug(`SSH to ${this.name}, attempt ${attempt}: ${msg}`);
        await delay(Math.min(1_000 * attempt, 5_000));
      }
    }
  }

  async start(wait = true): Promise<void> {
    const gce = await this.api();
    await gce.mutate(`starting ${this.where}`, (o, requestId) =>
      gce.instances.start({ requestId, project: gce.project, zone: this.state.Zone, instance: this.name }, o),
    );
    await this.refresh(true);
    if (wait) await this.waitForSsh();
  }

  async stop(): Promise<void> {
    const gce = await this.api();
    await gce.mutate(`stopping ${this.where}`, (o, requestId) =>
      gce.instances.stop({ requestId, project: gce.project, zone: this.state.Zone, instance: this.name }, o),
    );
  }

  /** Stop and start (GCE's reset would skip the guest's clean shutdown). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** GCE has no harder stop than stop. */
  async kill(): Promise<void> {
    await this.stop();
  }

  async remove(): Promise<void> {
    if (this.cleaned || (this.settings && !this.touched)) return;
    if (this.state.UseExisting) {
      this.ctx.log(`Leaving ${this.where} alone: it was adopted with --google-use-existing`);
      return;
    }
    // A driver from flags (a create in this process) deletes only an instance it inserted; one from the
    // store only an instance whose labels name this machine and this store.
    if (!this.settings) {
      const i = await this.getInstance();
      if (i && !this.isOurLeftover(i)) {
        const l = i.labels ?? {};
        throw new UserError(
          `${this.where} is not machine ${this.name} of this store (labels ${LABEL.machine}=${l[LABEL.machine] ?? '-'}, ` +
            `${LABEL.store}=${l[LABEL.store] ?? '-'}): left alone; "swarmup rm -f ${this.ctx.machineName}" removes the local record only`,
        );
      }
    }
    if (!this.settings || this.inserted) await this.deleteInstance();
    if (this.owner.kind === 'machine') await this.removeOwnerFirewalls();
  }

  async getState(): Promise<MachineState> {
    const i = await this.getInstance();
    if (!i) return 'Error';
    return machineState(i.status);
  }

  async getIP(): Promise<string> {
    if (!this.state.IPAddress) await this.refresh(false);
    if (!this.state.IPAddress)
      throw new UserError(
        `${this.where} has no ${this.state.UseInternalIP ? 'internal' : 'external'} IP (is it running?)`,
      );
    return this.state.IPAddress;
  }

  async getInternalIP(): Promise<string> {
    if (!this.state.InternalIPAddress) await this.refresh(false);
    if (!this.state.InternalIPAddress) throw new UserError(`${this.where} has no internal IP`);
    return this.state.InternalIPAddress;
  }

  sshTarget(): SshTarget {
    return {
      host: this.state.IPAddress ?? '',
      port: this.state.SSHPort ?? 22,
      user: this.state.SSHUser ?? 'docker-user',
      keyPath: this.keyPath,
      knownHostsPath: join(this.ctx.machineDir, 'known_hosts'),
    };
  }

  async transport(connectDeadlineMs = 10_000): Promise<SshTransport> {
    const t = this.sshTarget();
    if (!t.host) await this.getIP();
    const { key } = await loadPrivateKey(t.keyPath);
    return SshTransport.connect({ ...this.sshTarget(), privateKey: key, connectDeadlineMs });
  }
}

export const fromFlags = GoogleDriver.fromFlags;
export const fromState = GoogleDriver.fromState;
