import type { DriverPlugin } from '../../src/driver/contract.js';

/** Flags of the docker driver; the implementation (and dockerode) loads only when it is used. */
export const dockerPlugin: DriverPlugin = {
  name: 'docker',
  description:
    'a container on the local Docker Engine that runs its own dockerd: local clusters and CI, no VM',
  flags: [
    {
      name: 'docker-image',
      env: 'SWARMUP_DOCKER_IMAGE',
      type: 'string',
      default: 'docker:dind',
      description: 'image of the machine: needs a shell and dockerd (pulled when missing)',
    },
    {
      name: 'docker-network',
      env: 'SWARMUP_DOCKER_NETWORK',
      type: 'string',
      description:
        'bridge network of the machine, created when missing (default: swarmup-<cluster> or swarmup)',
    },
    {
      name: 'docker-cluster',
      env: 'SWARMUP_DOCKER_CLUSTER',
      type: 'string',
      description: 'cluster name, set as the label swarmup.cluster (cluster up sets it)',
    },
    {
      name: 'docker-role',
      env: 'SWARMUP_DOCKER_ROLE',
      type: 'string',
      description: 'manager or worker, set as the label swarmup.role (cluster up sets it)',
    },
    {
      name: 'docker-privileged',
      env: 'SWARMUP_DOCKER_PRIVILEGED',
      type: 'string',
      default: 'auto',
      description:
        'auto: --privileged, or all capabilities but SYS_RESOURCE when the engine refuses it; always; never',
    },
    {
      name: 'docker-memory',
      env: 'SWARMUP_DOCKER_MEMORY',
      type: 'string',
      description: 'memory limit, e.g. 512m or 2g (default: none)',
    },
    {
      name: 'docker-cpus',
      env: 'SWARMUP_DOCKER_CPUS',
      type: 'string',
      description: 'CPU limit, e.g. 1.5 (default: none)',
    },
  ],
  load: () => import('./driver.js'),
};
