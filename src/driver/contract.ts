/**
 * The driver contract: every way of getting a machine (local container, SSH host, cloud VM, VirtualBox)
 * implements this small interface, so that provisioning, swarm bootstrap and the CLI verbs are shared.
 */

export type MachineState =
  'Running' | 'Stopped' | 'Starting' | 'Stopping' | 'Paused' | 'Saved' | 'Error' | 'Timeout' | 'None';

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Run as root (sudo -n when the login user is not root). */
  root?: boolean;
}

/** How commands reach a machine's shell. SSH for most drivers; `docker exec` for local containers. */
export interface CommandTransport {
  exec(command: string, opts?: ExecOptions): Promise<CommandResult>;
  /** Write a file atomically on the machine, as root, with the given mode. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  close(): Promise<void>;
}

/** Where an interactive `ssh`/`scp` should connect, for drivers that use SSH. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Absolute path of the private key. */
  keyPath: string;
  /** Absolute path of the known_hosts file that pins the host key. */
  knownHostsPath: string;
}

export type FlagType = 'string' | 'number' | 'boolean' | 'list';

/** A driver flag: `--<driver>-<option>`, with an environment variable. */
export interface FlagSpec {
  name: string;
  env?: string;
  type: FlagType;
  description: string;
  default?: string | number | boolean | string[];
  required?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

/** Driver state saved in the machine's config.json under `Driver`. Never holds credentials. */
export type DriverState = Record<string, unknown> & {
  MachineName: string;
  IPAddress?: string;
  SSHUser?: string;
  SSHPort?: number;
  /** Path of the SSH private key, relative to the machine directory. */
  SSHKeyPath?: string;
  EnginePort?: number;
};

export interface DriverContext {
  machineName: string;
  /** Absolute path of the machine's directory in the store. */
  machineDir: string;
  log: (msg: string) => void;
}

export interface Driver {
  /** Serializable state, saved after create and after every change. */
  readonly state: DriverState;
  /** Checks that can fail before anything is created (exit code 3, as docker-machine). */
  preCreateCheck?(): Promise<void>;
  create(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  kill(): Promise<void>;
  remove(): Promise<void>;
  getState(): Promise<MachineState>;
  /** The address clients use (public). */
  getIP(): Promise<string>;
  /** The address other cluster members use. */
  getInternalIP(): Promise<string>;
  /** A command channel to the machine, for provisioning. */
  transport(): Promise<CommandTransport>;
  /** For SSH-based drivers: where interactive ssh/scp connect. */
  sshTarget?(): SshTarget;
}

export interface DriverModule {
  /** Build a driver for a new machine from its flags. */
  fromFlags(ctx: DriverContext, flags: FlagValues): Driver | Promise<Driver>;
  /** Rebuild a driver from saved state. */
  fromState(ctx: DriverContext, state: DriverState): Driver | Promise<Driver>;
}

/** What the CLI knows about a driver without loading its implementation (and any SDK it needs). */
export interface DriverPlugin {
  name: string;
  description: string;
  flags: FlagSpec[];
  load(): Promise<DriverModule>;
}

/** A clear error for an operation a driver cannot do. */
export class UnsupportedOperation extends Error {
  constructor(driver: string, op: string) {
    super(`the ${driver} driver cannot ${op} a machine`);
  }
}
