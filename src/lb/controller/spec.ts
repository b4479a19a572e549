/**
 * The controller's swarm service, as data (pure): one replica on a manager, the manager's Docker
 * socket mounted, host networking (it only calls out: the cloud API and the metadata server as the
 * instance itself), credentials as swarm secrets readable only by the controller's user, the config
 * (no credentials) and a few pass-through settings in the environment.
 */
import { createHash } from 'node:crypto';
import { swarmupVersion } from '../../version.js';
import { CONFIG_ENV, type ControllerConfig } from './config.js';
import { LEASE } from './lease.js';

/** The controller's user in the image; the Docker socket's group is added when it drops root. */
export const CONTROLLER_UID = 10001;

export const CONTROLLER = {
  service: 'swarmup-lb-controller',
  /** The image `lb controller build` makes and `install` runs by default. */
  image: () => `swarmup/lb-controller:${swarmupVersion()}`,
  socket: '/var/run/docker.sock',
  /** Where the swarm secrets appear inside the container. */
  secretDir: '/run/secrets',
  /** Labels on the service's spec. */
  digestLabel: 'swarmup.lb-controller.digest',
  credentialsLabel: 'swarmup.lb-controller.credentials',
  imageIdLabel: 'swarmup.lb-controller.image-id',
  /** Time to finish a sync after SIGTERM before swarm kills the task. */
  stopGraceS: 45,
};

/** Settings of the installing environment the controller needs too (none of them a credential). */
export const PASSED_ENV = [
  'SWARMUP_LB_HEALTH_IMAGE',
  'SWARMUP_LB_HEALTH_PORT',
  'SWARMUP_DEBUG',
  /** Where the GCE metadata server is (tests: an emulator's); the library's own variable. */
  'GCE_METADATA_HOST',
  /** Where the ECS metadata service is (tests: an emulator's). */
  'SWARMUP_ALIYUN_METADATA_ENDPOINT',
];

export interface SecretRef {
  id: string;
  name: string;
  /** File name under /run/secrets. */
  file: string;
}

export interface SpecInput {
  image: string;
  /** The image's ID where install saw it: a rebuilt image under the same tag restarts the task. */
  imageId?: string;
  config: ControllerConfig;
  secrets: SecretRef[];
  /** PASSED_ENV values to set. */
  env: Record<string, string>;
  /** Labels saying whose controller it is (`swarmup.cluster` or `swarmup.manager`). */
  owner: Record<string, string>;
}

// The Engine API's service spec, as much of it as we set.
export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Env: string[];
      Labels: Record<string, string>;
      Mounts: Array<{ Type: 'bind'; Source: string; Target: string }>;
      Secrets: Array<{
        SecretID: string;
        SecretName: string;
        File: { Name: string; UID: string; GID: string; Mode: number };
      }>;
      StopSignal: string;
      StopGracePeriod: number;
    };
    Placement: { Constraints: string[]; MaxReplicas: number };
    RestartPolicy: { Condition: 'any'; Delay: number; MaxAttempts: number };
    Networks: Array<{ Target: string }>;
  };
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig: { Parallelism: number; Order: 'stop-first'; FailureAction: 'pause' };
}

const S = 1e9;

/** The service spec; its digest label changes exactly when something in it does. */
export function controllerSpec(i: SpecInput, hostNetwork: string): ServiceSpec {
  const env = [
    `${CONFIG_ENV}=${JSON.stringify(i.config)}`,
    'SWARMUP_CONTROLLER_TASK={{.Task.Name}}',
    'SWARMUP_CONTROLLER_NODE={{.Node.Hostname}}',
    ...PASSED_ENV.filter((k) => i.env[k] !== undefined).map((k) => `${k}=${i.env[k]}`),
  ];
  const spec: ServiceSpec = {
    Name: CONTROLLER.service,
    Labels: {
      [LEASE.owner]: '1',
      ...i.owner,
      [CONTROLLER.credentialsLabel]: i.config.credentials.kind,
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: i.image,
        Env: env,
        Labels: { [LEASE.owner]: '1', ...(i.imageId ? { [CONTROLLER.imageIdLabel]: i.imageId } : {}) },
        Mounts: [{ Type: 'bind', Source: CONTROLLER.socket, Target: CONTROLLER.socket }],
        Secrets: i.secrets.map((s) => ({
          SecretID: s.id,
          SecretName: s.name,
          File: { Name: s.file, UID: String(CONTROLLER_UID), GID: String(CONTROLLER_UID), Mode: 0o400 },
        })),
        StopSignal: 'SIGTERM',
        StopGracePeriod: CONTROLLER.stopGraceS * S,
      },
      Placement: { Constraints: ['node.role==manager'], MaxReplicas: 1 },
      RestartPolicy: { Condition: 'any', Delay: 5 * S, MaxAttempts: 0 },
      Networks: [{ Target: hostNetwork }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    // The old task stops before the new one starts (the lease covers a task swarm cannot reach).
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
  };
  const digest = specDigest(spec);
  spec.Labels[CONTROLLER.digestLabel] = digest;
  // Each task carries it too: install tells the task of this spec from one of the spec before.
  spec.TaskTemplate.ContainerSpec.Labels[CONTROLLER.digestLabel] = digest;
  return spec;
}

/** A digest of the spec without its own digest labels. */
export function specDigest(spec: ServiceSpec): string {
  const drop = (l: Record<string, string>) =>
    Object.fromEntries(Object.entries(l).filter(([k]) => k !== CONTROLLER.digestLabel));
  const c = spec.TaskTemplate.ContainerSpec;
  const bare = {
    ...spec,
    Labels: drop(spec.Labels),
    TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...c, Labels: drop(c.Labels) } },
  };
  return createHash('sha256').update(JSON.stringify(bare)).digest('hex').slice(0, 16);
}
