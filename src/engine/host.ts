/**
 * The Docker Engine that hosts things on this side: the docker driver's machine containers, the local
 * load balancer's haproxy container, the label sweep of `cluster down`. Which engine that is for a
 * cluster is decided in one place, `hostEngine`: the engine its machines recorded when they were made,
 * else the environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), but never a machine of the
 * store itself (a shell after `eval "$(swarmup env NAME)"` names a machine, not the engine around it).
 */
import type Docker from 'dockerode';
import { dockerClient } from './dockerode.js';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { ClusterScope, DriverState } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { apiAnswerMs } from '../util/deadlines.js';

/** An engine as `docker` itself is pointed at one; saved in a docker-driver machine's state. */
export interface EngineAddress {
  DockerHost: string;
  DockerTlsVerify?: string;
  DockerCertPath?: string;
}

/** Docker's own default: the user's Docker Desktop socket if there is one, else the system socket. */
export function defaultSocket(): string {
  const user = join(homedir(), '.docker', 'run', 'docker.sock');
  return existsSync(user) ? user : '/var/run/docker.sock';
}

/** The engine the environment names, as `docker` reads it (unset: the default socket). */
export function engineAddressFromEnv(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = env.DOCKER_HOST || `unix://${defaultSocket()}`;
  if (host.startsWith('unix://')) return { DockerHost: host };
  return {
    DockerHost: host,
    ...(env.DOCKER_TLS_VERIFY ? { DockerTlsVerify: env.DOCKER_TLS_VERIFY } : {}),
    ...(env.DOCKER_CERT_PATH ? { DockerCertPath: env.DOCKER_CERT_PATH } : {}),
  };
}

/** Whether the environment points at a machine of the store at `storeRoot` (DOCKER_CERT_PATH in its machines/). */
export function envNamesStoreMachine(storeRoot: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const certPath = env.DOCKER_CERT_PATH;
  if (!certPath) return false;
  const rel = relative(resolve(storeRoot, 'machines'), resolve(certPath));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The engine recorded in saved driver states (the first that has one); fields that are not strings are ignored. */
export function recordedEngine(states: readonly DriverState[]): EngineAddress | undefined {
  for (const s of states) {
    if (typeof s.DockerHost !== 'string' || !s.DockerHost) continue;
    return {
      DockerHost: s.DockerHost,
      ...(typeof s.DockerTlsVerify === 'string' ? { DockerTlsVerify: s.DockerTlsVerify } : {}),
      ...(typeof s.DockerCertPath === 'string' ? { DockerCertPath: s.DockerCertPath } : {}),
    };
  }
  return undefined;
}

/**
 * The engine of a cluster: the one its machines recorded at create time; with nothing recorded, the
 * one the environment names, unless that is a machine of this store, then the default socket.
 */
export function hostEngine(scope: ClusterScope, env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const recorded = recordedEngine(scope.recorded);
  if (recorded) return recorded;
  if (envNamesStoreMachine(scope.storeRoot, env)) return { DockerHost: `unix://${defaultSocket()}` };
  return engineAddressFromEnv(env);
}

/** dockerode options for an address; every field is set so that nothing leaks in from the environment. */
function modemOptions(a: EngineAddress): Docker.DockerOptions {
  const none = {
    // Every request gets an answer within the deadline or fails naming the engine (a silent endpoint
    // must not hang create or cluster down). Not in dockerode's types, read by docker-modem.
    connectionTimeout: apiAnswerMs(),
    timeout: undefined,
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  } as Docker.DockerOptions;
  if (a.DockerHost.startsWith('unix://'))
    return { ...none, socketPath: a.DockerHost.slice(7) || defaultSocket() };
  let u: URL;
  try {
    u = new URL(a.DockerHost.includes('//') ? a.DockerHost : `tcp://${a.DockerHost}`);
  } catch {
    throw new UserError(
      `invalid DOCKER_HOST "${a.DockerHost}": expected unix:///path, tcp://host:port or ssh://`,
    );
  }
  if (u.protocol === 'ssh:') {
    return { ...none, protocol: 'ssh', host: u.hostname, port: u.port || 22, username: u.username };
  }
  const tls = a.DockerTlsVerify === '1' || u.port === '2376';
  let certs = {};
  if (a.DockerCertPath) {
    try {
      certs = {
        ca: readFileSync(join(a.DockerCertPath, 'ca.pem')),
        cert: readFileSync(join(a.DockerCertPath, 'cert.pem')),
        key: readFileSync(join(a.DockerCertPath, 'key.pem')),
      };
    } catch (err) {
      throw new UserError(
        `cannot use the Docker Engine at ${a.DockerHost}: its certificates in ${a.DockerCertPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  return { ...none, protocol: tls ? 'https' : 'http', host: u.hostname, port: u.port || 2375, ...certs };
}

const clients = new Map<string, Docker>();

/** One client per engine and process, so parallel machines share connections. */
export function hostEngineClient(a: EngineAddress): Docker {
  const key = JSON.stringify(a);
  let c = clients.get(key);
  if (!c) {
    c = dockerClient(modemOptions(a));
    clients.set(key, c);
  }
  return c;
}
