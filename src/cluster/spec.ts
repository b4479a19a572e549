import { readFile, stat } from 'node:fs/promises';
import { LIMITS, checkEngineOptionsSize, checkLabels, checkNodeCounts, maxNodesFrom } from './bounds.js';
import { describeIoError } from '../store/paths.js';
import type { FlagValues } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { emptyEngineOptions, type EngineOptions } from '../store/machine-config.js';
import type { HostSpec } from './hosts.js';

/** Everything `cluster up` needs, after the file and the flags are merged (flags win). */
export interface ClusterSpec {
  name: string;
  driver: string;
  managers: number;
  workers: number;
  parallel: number;
  ttl?: string;
  driverOptions: FlagValues;
  engine: EngineOptions;
  labels: Record<string, string>;
  /** Existing hosts, one machine each (drivers of existing hosts: generic). */
  hosts?: HostSpec[];
  /** The node limit for this run (--max-nodes); not saved. */
  maxNodes?: number;
}

/** The parts of a spec a cluster file may give. */
export type SpecFromFile = Partial<Omit<ClusterSpec, 'engine'>> & { engine?: Partial<EngineOptions> };

interface ClusterFile {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: {
    driver?: string;
    managers?: number;
    workers?: number;
    parallel?: number;
    ttl?: string;
    hosts?: HostSpec[];
    driverOptions?: FlagValues;
    engine?: {
      installURL?: string;
      opts?: string[];
      env?: string[];
      labels?: string[];
      insecureRegistries?: string[];
      registryMirrors?: string[];
      storageDriver?: string;
      tlsSANs?: string[];
    };
  };
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `2h`, `1d`, `1h30m` → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) {
    throw new UserError(
      `invalid ${what} "${text}": use a number with s, m, h or d, e.g. 90s, 30m, 2h, 1h30m`,
    );
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

/** Read a cluster file (`-` = stdin), check it against the schema, and map it onto a spec. */
export async function loadClusterFile(path: string): Promise<SpecFromFile> {
  const tooBig = () =>
    new UserError(
      `${path === '-' ? 'stdin' : path} is larger than ${LIMITS.clusterFileBytes / 1024} KiB: a cluster file is a short description, not data`,
    );
  if (path !== '-') {
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`cannot read ${path}: ${describeIoError(err)}`);
    });
    if (!st.isFile()) throw new UserError(`cannot read ${path}: it is not a regular file`);
    if (st.size > LIMITS.clusterFileBytes) throw tooBig();
  }
  const text =
    path === '-'
      ? await readStdin(LIMITS.clusterFileBytes, tooBig)
      : await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UserError(`cannot read ${path}: ${describeIoError(err)}`);
        });
  const where = path === '-' ? 'stdin' : path;
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new UserError(`${where}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const { validateClusterFile } = await import('./schema.js');
  await validateClusterFile(doc, where);
  const f = doc as ClusterFile;
  const e = f.spec?.engine;
  return {
    name: f.metadata?.name,
    labels: f.metadata?.labels,
    driver: f.spec?.driver,
    managers: f.spec?.managers,
    workers: f.spec?.workers,
    parallel: f.spec?.parallel,
    ttl: f.spec?.ttl,
    hosts: f.spec?.hosts,
    driverOptions: f.spec?.driverOptions,
    engine: e && {
      InstallURL: e.installURL,
      ArbitraryFlags: e.opts,
      Env: e.env,
      Labels: e.labels,
      InsecureRegistry: e.insecureRegistries,
      RegistryMirror: e.registryMirrors,
      StorageDriver: e.storageDriver,
      TlsSan: e.tlsSANs,
    },
  };
}

async function readStdin(limit: number, tooBig: () => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Every bound of a merged spec, before any work. */
export function checkSpecBounds(spec: ClusterSpec): void {
  checkNodeCounts(spec.managers, spec.workers, spec.maxNodes ?? maxNodesFrom(undefined));
  checkLabels('cluster', spec.labels);
  checkLabels('engine', spec.engine.Labels);
  checkEngineOptionsSize(spec.engine);
}

const defined = <T extends object>(o: T | undefined): Partial<T> =>
  Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as Partial<T>;

/** Merge: defaults < file < flags given on the command line (or their environment variables). */
export function mergeSpec(defaults: ClusterSpec, file: SpecFromFile, flags: SpecFromFile): ClusterSpec {
  const spec: ClusterSpec = {
    ...defaults,
    ...defined(file),
    ...defined(flags),
    driverOptions: {
      ...defaults.driverOptions,
      ...defined(file.driverOptions),
      ...defined(flags.driverOptions),
    },
    engine: {
      ...emptyEngineOptions(),
      ...defined(defaults.engine),
      ...defined(file.engine),
      ...defined(flags.engine),
    } as EngineOptions,
    labels: { ...defaults.labels, ...file.labels, ...flags.labels },
  };
  if (!spec.driver) throw new UserError('--driver is required (or spec.driver in the cluster file)');
  if (spec.managers < 1) throw new UserError('a cluster needs at least one manager');
  if (spec.managers % 2 === 0) {
    throw new UserError(
      `--managers ${spec.managers}: use an odd number of managers (1, 3, 5, 7) so that raft keeps a majority when one fails`,
    );
  }
  if (spec.workers < 0) throw new UserError('--workers cannot be negative');
  if (!Number.isInteger(spec.parallel) || spec.parallel < 1)
    throw new UserError(`--parallel ${spec.parallel}: give at least 1 (machines made at once)`);
  if (spec.ttl) parseDuration(spec.ttl, '--ttl');
  checkSpecBounds(spec);
  return spec;
}

export const SAMPLE_CLUSTER_FILE = `# swarmup cluster file: swarmup cluster up -f cluster.yaml
# Flags given on the command line override what is written here.
apiVersion: swarmup.io/v1alpha1
kind: Cluster
metadata:
  # Cluster name: lowercase letters, digits and "-". Machines are named <name>-manager-N, <name>-worker-N.
  name: ci
spec:
  # Driver that makes the machines: docker (local containers), generic, google, aliyunecs, virtualbox.
  driver: docker
  # Managers keep the swarm's state with raft: use an odd number (1, 3, 5).
  managers: 3
  workers: 2
  # How many machines are created and provisioned at once.
  parallel: 8
  # Remove the cluster with "swarmup cluster prune --expired" after this long (s, m, h, d).
  # ttl: 2h
  # Driver flags without their leading "--".
  driverOptions:
    docker-image: docker:dind
  engine:
    labels: []           # e.g. ["tier=ci"]
    opts: []             # dockerd flags, e.g. ["log-level=warn"]
    registryMirrors: []
    insecureRegistries: []
`;

/** The sample for drivers of existing hosts (`config init --driver generic`): an inventory. */
export const SAMPLE_HOSTS_CLUSTER_FILE = `# swarmup cluster file: swarmup cluster up -f cluster.yaml
# Your own hosts become a swarm: each host is one machine. Flags given on the command line override
# what is written here (--generic-ip-address repeated replaces the hosts).
apiVersion: swarmup.io/v1alpha1
kind: Cluster
metadata:
  # Cluster name: lowercase letters, digits and "-". Machines are named <name>-manager-N, <name>-worker-N.
  name: byo
spec:
  driver: generic
  # The first "managers" hosts are managers (odd: 1, 3, 5), unless a host says its role.
  managers: 1
  hosts:
    - address: 203.0.113.10
    - address: 203.0.113.11
      user: deploy               # a user other than root needs passwordless sudo
    - address: 203.0.113.12
      port: 2222                 # SSH port
      internalAddress: 10.0.0.12 # the address the other hosts reach it on (default: address)
      labels:                    # swarm node labels, for placement constraints
        zone: b
      # role: worker
      # key: /home/me/.ssh/other_key  # this host's private key
  # A host removed from the list leaves the swarm on the next "cluster up" (only what swarmup
  # installed is removed from it); "cluster down" gives every host back the same way.
  driverOptions:
    generic-ssh-key: /home/me/.ssh/id_ed25519   # the private key that logs in to the hosts
  engine:
    labels: []           # e.g. ["tier=ci"]
    opts: []             # dockerd flags, e.g. ["log-level=warn"]
`;
