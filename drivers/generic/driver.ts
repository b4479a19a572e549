import { copyFile, chmod } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import {
  UnsupportedOperation,
  type Driver,
  type DriverContext,
  type DriverState,
  type FlagValues,
  type MachineState,
  type SshTarget,
} from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { loadPrivateKey } from '../../src/ssh/keys.js';
import { SshTransport } from '../../src/ssh/transport.js';

const KEY_FILE = 'id_ssh';

function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true)).once('error', () => done(false));
    s.connect(port, host);
  });
}

/** An existing host reached over SSH. Removing it only forgets it; the host itself is left alone. */
export class GenericDriver implements Driver {
  private keySource?: string;

  constructor(
    private readonly ctx: DriverContext,
    readonly state: DriverState,
  ) {}

  static fromFlags(ctx: DriverContext, flags: FlagValues): GenericDriver {
    const ip = String(flags['generic-ip-address'] ?? '').trim();
    if (!ip) throw new UserError('--generic-ip-address is required');
    const key = flags['generic-ssh-key'] as string | undefined;
    if (!key) throw new UserError('--generic-ssh-key is required: the private key that logs in to the host');
    const d = new GenericDriver(ctx, {
      MachineName: ctx.machineName,
      IPAddress: ip,
      InternalIPAddress: (flags['generic-internal-ip'] as string | undefined) || ip,
      SSHUser: String(flags['generic-ssh-user'] ?? 'root'),
      SSHPort: Number(flags['generic-ssh-port'] ?? 22),
      SSHKeyPath: KEY_FILE,
      EnginePort: Number(flags['generic-engine-port'] ?? 2376),
    });
    d.keySource = key;
    return d;
  }

  static fromState(ctx: DriverContext, state: DriverState): GenericDriver {
    return new GenericDriver(ctx, state);
  }

  private get keyPath(): string {
    return join(this.ctx.machineDir, this.state.SSHKeyPath ?? KEY_FILE);
  }

  /**
   * The key loads, the host answers SSH and takes the key, and a user other than root has
   * passwordless sudo. Nothing is written (not even the host key pin): a cluster checks every host
   * before it provisions any.
   */
  async preCreateCheck(): Promise<void> {
    if (!this.keySource) return;
    const { key } = await loadPrivateKey(this.keySource);
    const target = this.sshTarget();
    const t = await SshTransport.connect({
      ...target,
      privateKey: key,
      connectDeadlineMs: 0,
      readyTimeoutMs: 10_000,
      pin: false,
    });
    try {
      if (target.user === 'root') return;
      const r = await t.exec('true', { root: true, timeoutMs: 10_000 });
      if (r.code !== 0)
        throw new UserError(
          `${target.user}@${target.host} has no passwordless sudo (swarmup needs it to install and configure Docker): ${r.stderr.trim() || `exit code ${r.code}`}`,
        );
    } finally {
      await t.close();
    }
  }

  /** Copy the key into the store and log in once, which pins the host key. */
  async create(): Promise<void> {
    if (this.keySource) {
      await copyFile(this.keySource, this.keyPath);
      await chmod(this.keyPath, 0o600);
    }
    const t = await this.transport(5_000);
    await t.close();
  }

  async start(): Promise<void> {
    throw new UnsupportedOperation('generic', 'start');
  }
  async stop(): Promise<void> {
    throw new UnsupportedOperation('generic', 'stop');
  }
  async restart(): Promise<void> {
    throw new UnsupportedOperation('generic', 'restart');
  }
  async kill(): Promise<void> {
    throw new UnsupportedOperation('generic', 'kill');
  }
  async remove(): Promise<void> {
    // The host is not ours to destroy: forgetting it is all `rm` does for the generic driver.
  }

  async getState(): Promise<MachineState> {
    return (await tcpOpen(this.state.IPAddress!, this.state.SSHPort ?? 22, 5_000)) ? 'Running' : 'Stopped';
  }

  async getIP(): Promise<string> {
    return this.state.IPAddress!;
  }

  async getInternalIP(): Promise<string> {
    return (this.state.InternalIPAddress as string | undefined) || this.state.IPAddress!;
  }

  sshTarget(): SshTarget {
    return {
      host: this.state.IPAddress!,
      port: this.state.SSHPort ?? 22,
      user: this.state.SSHUser ?? 'root',
      keyPath: this.keyPath,
      knownHostsPath: join(this.ctx.machineDir, 'known_hosts'),
    };
  }

  async transport(connectDeadlineMs = 10_000): Promise<SshTransport> {
    const t = this.sshTarget();
    const { key } = await loadPrivateKey(t.keyPath);
    return SshTransport.connect({ ...t, privateKey: key, connectDeadlineMs });
  }
}

export const fromFlags = GenericDriver.fromFlags;
export const fromState = GenericDriver.fromState;
