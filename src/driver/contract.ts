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
  /**
   * Run a command with this process's stdout and stderr (and stdin, when it is not a terminal), as
   * `swarmup ssh NAME CMD` does; resolves with the command's exit code.
   */
  execStreaming?(command: string): Promise<number>;
  /** Files in and out of the machine without SSH, as tar streams (the docker driver: the engine's archive API). */
  archive?: ArchiveAccess;
}

/** Tar streams of a machine's files, and what a path is there. */
export interface ArchiveAccess {
  /** A tar stream of `path` (a file or a directory, its base name as the top entry). */
  get(path: string): Promise<NodeJS.ReadableStream>;
  /** Extract a tar stream into the directory `dir`, which must exist. */
  put(dir: string, tar: NodeJS.ReadableStream): Promise<void>;
  /** What `path` is, or undefined when nothing is there. */
  stat(path: string): Promise<{ isDir: boolean } | undefined>;
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
  /** A credential: read from the flag or environment at run time, never written to the store. */
  secret?: boolean;
  /** Numbers: the allowed range, inclusive (ports: 1-65535); checked before any work. */
  range?: [number, number];
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
  /** Port clients use for the engine's TLS API (default 2376). */
  EnginePort?: number;
  /** Port dockerd listens on inside the machine, when it differs from EnginePort (a published port). */
  EngineListenPort?: number;
};

/** A machine's place in a cluster; drivers label (or tag) what they create with it. */
export interface ClusterMembership {
  name: string;
  role: 'manager' | 'worker';
  /** Extra labels for every resource, e.g. `swarmup.expires`. */
  labels: Record<string, string>;
}

export interface DriverContext {
  machineName: string;
  /** Absolute path of the machine's directory in the store. */
  machineDir: string;
  log: (msg: string) => void;
  cluster?: ClusterMembership;
  /** The store's identity (Store.id), for labels that mark what this store made. */
  storeId?: string;
}

/**
 * Where a cluster-level operation stands: the store, and the saved driver states of the cluster's
 * machines, read before any of them is removed (empty without a record: `cluster down --all`, prune).
 * The docker driver finds its engine there (src/engine/host.ts); cloud drivers need none of it.
 */
export interface ClusterScope {
  /** Absolute path of the store root. */
  storeRoot: string;
  recorded: readonly DriverState[];
}

/** A cluster as a driver sees it from its labels or tags alone (no store needed). */
export interface DiscoveredCluster {
  name: string;
  driver: string;
  machines: string[];
  expiresAt?: string;
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

/**
 * A small journal in the store (under the cluster) that survives a kill: what a batch create sent,
 * so that a re-run sends the same request (the same idempotency token) instead of a second one.
 */
export interface BatchJournal {
  read<T>(key: string): Promise<T | undefined>;
  write(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
  /** Absolute path of a private file (0600) kept beside the journal, e.g. a bootstrap SSH key. */
  path(file: string): string;
}

/** Machines of one cluster made together: one creation call per zone and role, not one per machine. */
export interface BatchRequest {
  /** One context per machine (name, directory, cluster membership, store id); names already claimed. */
  machines: DriverContext[];
  flags: FlagValues;
  journal: BatchJournal;
  log: (msg: string) => void;
  signal?: AbortSignal;
}

/**
 * Per machine: a driver whose `create()` finishes that machine (its instance exists: wait for it, log
 * in, pin the host key, install the machine's own key), or why its instance was not made (the caller
 * then creates it on its own).
 */
export type BatchOutcome = { name: string; driver: Driver } | { name: string; error: Error };

export interface BatchResult {
  outcomes: BatchOutcome[];
  /** Called once every machine of the batch is finished or given up: drop what only the batch needed. */
  done(): Promise<void>;
}

export interface DriverModule {
  /** Build a driver for a new machine from its flags. */
  fromFlags(ctx: DriverContext, flags: FlagValues): Driver | Promise<Driver>;
  /** Rebuild a driver from saved state. */
  fromState(ctx: DriverContext, state: DriverState): Driver | Promise<Driver>;
  /**
   * Clusters this driver can find by their labels or tags, with whatever access the flags and the
   * environment give (so `cluster down --all` and `prune` work from an empty store).
   */
  discoverClusters?(flags: FlagValues, scope: ClusterScope): Promise<DiscoveredCluster[]>;
  /** Remove every resource the driver owns for a cluster, found by labels or tags. Returns what went. */
  destroyCluster?(
    cluster: string,
    flags: FlagValues,
    log: (msg: string) => void,
    scope: ClusterScope,
  ): Promise<string[]>;
  /**
   * Open the swarm ports (2377/tcp, 7946/tcp+udp, 4789/udp) between the cluster's members only.
   * Drivers whose machines share a private network need nothing here.
   */
  ensureClusterFirewall?(cluster: string, flags: FlagValues, log: (msg: string) => void): Promise<void>;
  /**
   * Load what the driver's API calls need (a cloud SDK) without calling anything, so a caller can
   * start a deadline after it: `ls --timeout` counts answers, not module loading.
   */
  warm?(): Promise<void>;
  /**
   * Make the instances of several machines of a cluster with as few calls as the cloud allows (GCE
   * bulkInsert, ECS RunInstances with Amount). Quotas are checked before anything is made (a
   * UserError then). Optional: without it, or for one machine, each machine is created on its own.
   */
  createMachines?(req: BatchRequest): Promise<BatchResult>;
  /*
   * Drivers with a cloud API also give core modules (the load balancers) their cloud: `cloud(scope)`,
   * typed in src/cloud/access.ts (CloudDriverModule), kept there so this contract imports nothing.
   */
}

/**
 * For drivers whose machines are existing hosts: which driver flag takes each part of a host of a
 * cluster's inventory (`spec.hosts`, or those flags repeated on `cluster up`: the N-th value to the
 * N-th machine). Only `address` is required.
 */
export interface HostInventory {
  address: string;
  user?: string;
  port?: string;
  key?: string;
  internalAddress?: string;
}

/** What the CLI knows about a driver without loading its implementation (and any SDK it needs). */
export interface DriverPlugin {
  name: string;
  description: string;
  flags: FlagSpec[];
  /**
   * Set for drivers whose machines are hosts that exist without swarmup (generic): clusters take them
   * from an inventory, and `cluster down` gives them back (leaves the swarm, removes only what swarmup
   * installed) instead of destroying them.
   */
  inventory?: HostInventory;
  load(): Promise<DriverModule>;
}

/** A clear error for an operation a driver cannot do. */
export class UnsupportedOperation extends Error {
  constructor(driver: string, op: string) {
    // docker-machine's words.
    super(`${driver} driver does not support ${op}`);
  }
}
