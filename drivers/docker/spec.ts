import type Docker from 'dockerode';
import type { ClusterMembership, FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';

/** Port dockerd listens on inside the machine; published on 127.0.0.1 at a random port. */
export const ENGINE_PORT = 2376;
export const ENGINE_PORT_KEY = `${ENGINE_PORT}/tcp`;

/**
 * PID 2 of the machine (docker-init is PID 1): it only keeps the container alive. dockerd is started
 * by the shared provisioner under its own supervisor, as on any host without systemd.
 */
export const KEEPALIVE = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

export type PrivilegedMode = 'auto' | 'always' | 'never';
export type Role = '' | 'manager' | 'worker';

export interface DockerSettings {
  image: string;
  network: string;
  cluster: string;
  role: Role;
  privileged: PrivilegedMode;
  /** Bytes. */
  memory?: number;
  nanoCpus?: number;
  /** Extra labels from `cluster up` (e.g. swarmup.expires). */
  labels: Record<string, string>;
}

export const containerName = (machine: string) => `swarmup-${machine}`;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function parseMemory(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(v.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]) : NaN;
  if (!(bytes >= 6 * 1024 ** 2)) {
    throw new UserError(`invalid --docker-memory "${v}": expected a size of at least 6m, e.g. 512m or 2g`);
  }
  return bytes;
}

export function parseCpus(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UserError(`invalid --docker-cpus "${v}": expected e.g. 0.5 or 2`);
  return Math.round(n * 1e9);
}

const str = (v: FlagValues[string]) => (v === undefined ? '' : String(v).trim());

/** Check the flags and settle defaults; `cluster up` membership wins over the cluster/role flags. */
export function settingsFromFlags(flags: FlagValues, membership?: ClusterMembership): DockerSettings {
  const image = str(flags['docker-image']) || 'docker:dind';
  const cluster = membership?.name ?? str(flags['docker-cluster']);
  const role = (membership?.role ?? str(flags['docker-role'])) as Role;
  if (!['', 'manager', 'worker'].includes(role)) {
    throw new UserError(`invalid --docker-role "${role}": use manager or worker`);
  }
  const privileged = (str(flags['docker-privileged']) || 'auto') as PrivilegedMode;
  if (!['auto', 'always', 'never'].includes(privileged)) {
    throw new UserError(`invalid --docker-privileged "${privileged}": use auto, always or never`);
  }
  const network = str(flags['docker-network']) || (cluster ? `swarmup-${cluster}` : 'swarmup');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(network)) {
    throw new UserError(`invalid --docker-network "${network}": use letters, digits, "_", "." and "-"`);
  }
  const memory = str(flags['docker-memory']);
  const cpus = str(flags['docker-cpus']);
  return {
    image,
    network,
    cluster,
    role,
    privileged,
    ...(memory ? { memory: parseMemory(memory) } : {}),
    ...(cpus ? { nanoCpus: parseCpus(cpus) } : {}),
    labels: membership?.labels ?? {},
  };
}

export function containerLabels(
  machine: string,
  s: DockerSettings,
  privileged: boolean,
  storeId?: string,
): Record<string, string> {
  return {
    ...s.labels,
    ...(storeId ? { 'swarmup.store': storeId } : {}),
    'swarmup.managed': 'true',
    'swarmup.machine': machine,
    'swarmup.cluster': s.cluster,
    'swarmup.role': s.role,
    // Lets later creates on this engine skip a privileged attempt that is bound to fail.
    'swarmup.privileged': String(privileged),
  };
}

export function networkLabels(s: DockerSettings): Record<string, string> {
  return { ...s.labels, 'swarmup.managed': 'true', 'swarmup.cluster': s.cluster };
}

/**
 * What a nested dockerd needs. `--privileged` where the engine allows it; otherwise every capability
 * but SYS_RESOURCE (missing from the bounding set on some kernels), no seccomp/AppArmor profile and no
 * masked or read-only /proc paths (the API form of `--security-opt systempaths=unconfined`).
 */
function security(privileged: boolean): Docker.HostConfig {
  if (privileged) return { Privileged: true };
  return {
    CapAdd: ['ALL'],
    CapDrop: ['SYS_RESOURCE'],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    MaskedPaths: [],
    ReadonlyPaths: [],
  };
}

export function createOptions(
  machine: string,
  s: DockerSettings,
  networkId: string,
  privileged: boolean,
  storeId?: string,
): Docker.ContainerCreateOptions {
  return {
    name: containerName(machine),
    Image: s.image,
    Hostname: machine,
    Entrypoint: KEEPALIVE,
    Cmd: [],
    Labels: containerLabels(machine, s, privileged, storeId),
    ExposedPorts: { [ENGINE_PORT_KEY]: {} },
    // Anonymous: removed with the container (`v: true`).
    Volumes: { '/var/lib/docker': {} },
    HostConfig: {
      Init: true,
      ...security(privileged),
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
      PortBindings: { [ENGINE_PORT_KEY]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      NetworkMode: networkId,
      ...(s.memory ? { Memory: s.memory } : {}),
      ...(s.nanoCpus ? { NanoCpus: s.nanoCpus } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [networkId]: { Aliases: [machine] } } },
  };
}
