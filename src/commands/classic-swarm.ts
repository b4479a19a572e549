import { UserError } from '../errors.js';

/** docker-machine's Swarm classic flags of `create`: value-taking ones, then switches. */
export const CLASSIC_SWARM_VALUE_FLAGS = [
  'swarm-discovery',
  'swarm-image',
  'swarm-strategy',
  'swarm-opt',
  'swarm-join-opt',
  'swarm-host',
  'swarm-addr',
] as const;
export const CLASSIC_SWARM_SWITCHES = ['swarm', 'swarm-master', 'swarm-experimental'] as const;

/**
 * The one line that answers a Swarm classic flag. Swarm classic (a swarm container on every machine and
 * a discovery service) was retired by Docker; swarm mode is built into the engine, and swarmup makes it.
 * `env --swarm` and `config --swarm` printed the classic master's endpoint, which swarm mode has not.
 */
export function classicSwarm(flag: string, verb: 'create' | 'env' | 'config' = 'create'): UserError {
  if (verb !== 'create') {
    return new UserError(
      `${flag} is Swarm classic (the swarm master's endpoint); swarm mode has none: point docker at a manager with "swarmup ${verb} MANAGER", or at a cluster with "swarmup cluster env NAME"`,
    );
  }
  return new UserError(
    `${flag} is Swarm classic, which swarm mode replaced: use "swarmup cluster up NAME --driver DRIVER --managers N --workers M", ` +
      'or "swarmup create" each machine, then "swarmup ssh NAME docker swarm init" and "docker swarm join" on the others',
  );
}
