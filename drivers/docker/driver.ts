import type Docker from 'dockerode';
import type {
  Driver,
  DriverContext,
  DriverState,
  FlagValues,
  MachineState,
} from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { DockerExecTransport } from '../../src/transport/docker-exec.js';
import {
  apiMessage,
  engineAddressFromEnv,
  engineClient,
  engineError,
  statusOf,
  type EngineAddress,
} from './engine.js';
import { ensureNetwork, forgetNetwork, isNetworkGone, removeNetworkIfUnused } from './network.js';
import { isPrivilegeRefused, privilegeHint, withDetectedPrivilege } from './privileged.js';
import { relaunchEngine, stopEngine } from '../../src/provision/engine-control.js';
import {
  ENGINE_PORT,
  ENGINE_PORT_KEY,
  containerName,
  createOptions,
  networkLabels,
  settingsFromFlags,
  type DockerSettings,
} from './spec.js';

export { destroyCluster, discoverClusters } from './cluster.js';

/** Saved under `Driver` in the machine's config.json. */
export type DockerState = DriverState &
  EngineAddress & {
    ContainerId?: string;
    ContainerName: string;
    Image: string;
    Network: string;
    Cluster: string;
    Role: string;
    Privileged?: boolean;
    InternalIPAddress?: string;
  };

const STATES: Record<string, MachineState> = {
  running: 'Running',
  created: 'Stopped',
  exited: 'Stopped',
  paused: 'Paused',
  restarting: 'Starting',
  removing: 'Stopping',
  dead: 'Error',
};

/** A machine that is a container on a Docker Engine, running its own dockerd (docker-in-docker). */
export class DockerDriver implements Driver {
  private readonly docker: Docker;
  /** Full id of the container once its labels proved it is this machine's. */
  private ownedId?: string;

  constructor(
    private readonly ctx: DriverContext,
    /** The caller's object, updated in place so a refreshed port is what the CLI sees and saves. */
    readonly state: DockerState,
    private readonly settings?: DockerSettings,
  ) {
    this.docker = engineClient(state);
  }

  static fromFlags(ctx: DriverContext, flags: FlagValues): DockerDriver {
    const s = settingsFromFlags(flags, ctx.cluster);
    const state: DockerState = {
      MachineName: ctx.machineName,
      ...engineAddressFromEnv(),
      IPAddress: '127.0.0.1',
      EngineListenPort: ENGINE_PORT,
      ContainerName: containerName(ctx.machineName),
      Image: s.image,
      Network: s.network,
      Cluster: s.cluster,
      Role: s.role,
    };
    return new DockerDriver(ctx, state, s);
  }

  static fromState(ctx: DriverContext, state: DriverState): DockerDriver {
    return new DockerDriver(ctx, state as DockerState);
  }

  private get name(): string {
    return this.state.ContainerName;
  }

  private fail(what: string, err: unknown): UserError {
    return engineError(this.state, what, err);
  }

  /** Have the image, pulling it when the engine lacks it. */
  async preCreateCheck(): Promise<void> {
    const image = this.state.Image;
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw this.fail(`cannot inspect image "${image}"`, err);
    }
    this.ctx.log(`Pulling image ${image}...`);
    try {
      const progress = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw this.fail(`image "${image}" is not on the Docker Engine and pulling it failed`, err);
    }
  }

  async create(): Promise<void> {
    const s = this.settings;
    if (!s) throw new Error('create() needs a driver made by fromFlags');
    const attempt = (privileged: boolean) => this.createAndStart(s, privileged);
    for (let tries = 1; ; tries++) {
      try {
        if (s.privileged === 'auto') {
          await withDetectedPrivilege(this.state.DockerHost, () => privilegeHint(this.docker), attempt);
        } else {
          await attempt(s.privileged === 'always');
        }
        return;
      } catch (err) {
        // A racing `rm` of the network's last other member removed it: make it again.
        if (tries < 3 && isNetworkGone(err)) {
          forgetNetwork(this.state, s.network);
          continue;
        }
        if (tries < 3 && (await this.removeLeftover(err))) continue;
        throw this.describeCreateError(err, s);
      }
    }
  }

  /** One try: create, start and read back the container. Leaves nothing behind when it fails. */
  private async createAndStart(s: DockerSettings, privileged: boolean): Promise<void> {
    const networkId = await ensureNetwork(this.docker, this.state, s.network, networkLabels(s));
    const c = await this.docker.createContainer(
      createOptions(this.ctx.machineName, s, networkId, privileged, this.ctx.storeId),
    );
    this.state.ContainerId = c.id;
    this.ownedId = c.id;
    try {
      await c.start();
      this.refresh(await c.inspect());
      if (!this.state.EnginePort) throw new Error(`the engine did not publish port ${ENGINE_PORT_KEY}`);
    } catch (err) {
      await c.remove({ force: true, v: true }).catch(() => undefined);
      delete this.state.ContainerId;
      delete this.ownedId;
      throw err;
    }
    this.state.Privileged = privileged;
  }

  /**
   * A name conflict with a container this store made for this machine is the leftover of a create
   * that was killed before it saved the machine: remove it so the create can go on. Anything else
   * with that name is not ours and is left alone.
   */
  private async removeLeftover(err: unknown): Promise<boolean> {
    if (statusOf(err) !== 409 || !/container name/i.test(apiMessage(err)) || !this.ctx.storeId) return false;
    const c = this.docker.getContainer(this.name);
    const labels = (await c.inspect().catch(() => undefined))?.Config.Labels ?? {};
    if (labels['swarmup.machine'] !== this.ctx.machineName || labels['swarmup.store'] !== this.ctx.storeId) {
      return false;
    }
    this.ctx.log(`removing container ${this.name} left by an interrupted create`);
    await c.remove({ force: true, v: true }).catch(() => undefined);
    return true;
  }

  private describeCreateError(err: unknown, s: DockerSettings): UserError {
    if (statusOf(err) === 409 && /container name/i.test(apiMessage(err))) {
      return new UserError(
        `a container named ${this.name} already exists on the Docker Engine at ${this.state.DockerHost}: ` +
          `remove it (docker rm -f ${this.name}) or choose another machine name`,
      );
    }
    if (s.privileged === 'always' && isPrivilegeRefused(err)) {
      return new UserError(
        `the Docker Engine refused a privileged container (${apiMessage(err)}): use --docker-privileged auto or never`,
      );
    }
    return this.fail(`cannot create container ${this.name}`, err);
  }

  /** Take the published port and the network address from an inspect (they change on restart). */
  private refresh(info: Docker.ContainerInspectInfo): void {
    const port = info.NetworkSettings.Ports?.[ENGINE_PORT_KEY]?.[0]?.HostPort;
    if (port) this.state.EnginePort = Number(port);
    const nets = info.NetworkSettings.Networks ?? {};
    const ip = (nets[this.state.Network] ?? Object.values(nets)[0])?.IPAddress;
    if (ip) this.state.InternalIPAddress = ip;
  }

  /**
   * The machine's container, by the full id of a container whose labels were checked: a stored
   * ContainerId is only a pointer (a prefix resolves to whatever matches), so the container it names
   * is acted on only when its labels name this machine and this store.
   */
  private async container(): Promise<Docker.Container> {
    if (!this.ownedId) {
      const info = await this.inspect();
      if (!info) {
        throw new UserError(`container ${this.name} of machine ${this.ctx.machineName} no longer exists`);
      }
    }
    return this.docker.getContainer(this.ownedId!);
  }

  /** Refuse a container whose labels do not name this machine and this store. */
  private checkOwned(info: Docker.ContainerInspectInfo): void {
    const labels = info.Config?.Labels ?? {};
    const machine = labels['swarmup.machine'];
    const store = labels['swarmup.store'];
    if (machine === this.ctx.machineName && this.ctx.storeId && store === this.ctx.storeId) {
      this.ownedId = info.Id;
      return;
    }
    const shown = `${info.Name?.replace(/^\//, '') || info.Id.slice(0, 12)} (${info.Id.slice(0, 12)})`;
    throw new UserError(
      `container ${shown}, which this machine's ContainerId ${String(this.state.ContainerId).slice(0, 16)} names, ` +
        `is not machine ${this.ctx.machineName} of this store (labels swarmup.machine=${machine ?? '-'}, ` +
        `swarmup.store=${store ?? '-'}${this.ctx.storeId ? `; this store is ${this.ctx.storeId}` : '; this store has no id'}): ` +
        `left alone; "swarmup rm -f ${this.ctx.machineName}" removes the local record only`,
    );
  }

  /** Inspect (checking ownership), or undefined when the container is gone. */
  private async inspect(): Promise<Docker.ContainerInspectInfo | undefined> {
    if (!this.state.ContainerId) return undefined;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(this.ownedId ?? this.state.ContainerId).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.fail(`cannot inspect container ${this.name}`, err);
    }
    this.checkOwned(info);
    this.refresh(info);
    return info;
  }

  async getState(): Promise<MachineState> {
    const info = await this.inspect();
    if (!info) return 'Error';
    return STATES[info.State.Status] ?? 'None';
  }

  /** Run a container API call; a missing container gets one clear message. */
  private async call(what: string, fn: (c: Docker.Container) => Promise<unknown>): Promise<void> {
    const c = await this.container();
    try {
      await fn(c);
    } catch (err) {
      if (statusOf(err) === 304) return; // already in the wanted state
      if (statusOf(err) === 404) {
        throw new UserError(`container ${this.name} of machine ${this.ctx.machineName} no longer exists`);
      }
      throw this.fail(`cannot ${what} container ${this.name}`, err);
    }
  }

  async start(): Promise<void> {
    await this.call('start', (c) => c.start());
    await this.afterBoot();
  }

  async stop(): Promise<void> {
    if ((await this.getState()) === 'Running') await stopEngine(await this.transport());
    await this.call('stop', (c) => c.stop({ t: 10 }));
  }

  async restart(): Promise<void> {
    if ((await this.getState()) === 'Running') await stopEngine(await this.transport());
    await this.call('restart', (c) => c.restart({ t: 10 }));
    await this.afterBoot();
  }

  async kill(): Promise<void> {
    try {
      await this.call('kill', (c) => c.kill());
    } catch (err) {
      if (!/is not running/i.test((err as Error).message)) throw err;
    }
  }

  /** A booted container runs only the keepalive: start the provisioned dockerd again, read the new port. */
  private async afterBoot(): Promise<void> {
    await this.inspect();
    await relaunchEngine(await this.transport(), this.state.EngineListenPort ?? ENGINE_PORT, this.ctx.log);
  }

  async remove(): Promise<void> {
    // A container that is gone needs no removal; one that is not ours is refused (inspect throws).
    if (await this.inspect()) {
      try {
        await (await this.container()).remove({ force: true, v: true });
      } catch (err) {
        const s = statusOf(err);
        if (s !== 404 && !(s === 409 && /already in progress/i.test(apiMessage(err)))) {
          throw this.fail(`cannot remove container ${this.name}`, err);
        }
      }
    }
    try {
      await removeNetworkIfUnused(this.docker, this.state, this.state.Network);
    } catch (err) {
      throw this.fail(`cannot remove network ${this.state.Network}`, err);
    }
  }

  async getIP(): Promise<string> {
    return this.state.IPAddress ?? '127.0.0.1';
  }

  async getInternalIP(): Promise<string> {
    await this.inspect();
    if (!this.state.InternalIPAddress) {
      throw new UserError(`container ${this.name} has no address on network ${this.state.Network}`);
    }
    return this.state.InternalIPAddress;
  }

  async transport(): Promise<DockerExecTransport> {
    return new DockerExecTransport(this.docker, (await this.container()).id, this.name);
  }
}

export const fromFlags = DockerDriver.fromFlags;
export const fromState = DockerDriver.fromState;
