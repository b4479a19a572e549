import Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { apiAnswerMs, noAnswerHint } from '../../src/util/deadlines.js';

/**
 * The Docker Engine a machine lives on. It is taken from the environment (DOCKER_HOST, DOCKER_TLS_VERIFY,
 * DOCKER_CERT_PATH) when the machine is made and saved in its state, so that pointing the environment
 * at a machine (`eval $(swarmup env NAME)`) does not lose track of the others.
 */
export interface EngineAddress {
  DockerHost: string;
  DockerTlsVerify?: string;
  DockerCertPath?: string;
}

/** Docker's own default: the user's Docker Desktop socket if there is one, else the system socket. */
function defaultSocket(): string {
  const user = join(homedir(), '.docker', 'run', 'docker.sock');
  return existsSync(user) ? user : '/var/run/docker.sock';
}

export function engineAddressFromEnv(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = env.DOCKER_HOST || `unix://${defaultSocket()}`;
  if (host.startsWith('unix://')) return { DockerHost: host };
  return {
    DockerHost: host,
    ...(env.DOCKER_TLS_VERIFY ? { DockerTlsVerify: env.DOCKER_TLS_VERIFY } : {}),
    ...(env.DOCKER_CERT_PATH ? { DockerCertPath: env.DOCKER_CERT_PATH } : {}),
  };
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
  const certs = a.DockerCertPath
    ? {
        ca: readFileSync(join(a.DockerCertPath, 'ca.pem')),
        cert: readFileSync(join(a.DockerCertPath, 'cert.pem')),
        key: readFileSync(join(a.DockerCertPath, 'key.pem')),
      }
    : {};
  return { ...none, protocol: tls ? 'https' : 'http', host: u.hostname, port: u.port || 2375, ...certs };
}

const clients = new Map<string, Docker>();

/** One client per engine and process, so parallel machines share connections. */
export function engineClient(a: EngineAddress): Docker {
  const key = JSON.stringify(a);
  let c = clients.get(key);
  if (!c) {
    c = new Docker(modemOptions(a));
    clients.set(key, c);
  }
  return c;
}

interface ApiError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

export const statusOf = (err: unknown): number | undefined => (err as ApiError)?.statusCode;

/** The engine's own message for an API error, without dockerode's "(HTTP code 500) ..." prefix. */
export function apiMessage(err: unknown): string {
  const e = err as ApiError;
  const msg = e?.json?.message ?? e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** A user error for a failed API call: unreachable engines get one message everywhere. */
export function engineError(a: EngineAddress, what: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  const code = (err as ApiError)?.code;
  const silent = noAnswerHint(err);
  if (silent) return new UserError(`${what}: the Docker Engine at ${a.DockerHost} gave ${silent}`);
  if (code && UNREACHABLE.has(code)) {
    return new UserError(`cannot reach the Docker Engine at ${a.DockerHost} (${code}): is it running?`);
  }
  const msg =
    apiMessage(err) ||
    `the engine at ${a.DockerHost} answered HTTP ${statusOf(err) ?? '(no status)'} with no message: is that a Docker Engine API endpoint?`;
  return new UserError(`${what}: ${msg}`);
}
