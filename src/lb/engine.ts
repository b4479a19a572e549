/**
 * How a load balancer reaches a swarm manager's Engine API: over mutual TLS from outside the cluster
 * (`lb sync` on an operator's machine), or through the manager's own Docker socket (the in-cluster
 * controller, which runs on a manager with the socket mounted).
 */
import type Docker from 'dockerode';
import { dockerClient } from '../engine/dockerode.js';
import type { EngineEndpoint } from '../engine/api.js';
import { ENGINE_TIMEOUT_MS, engineClient, newEngineClient } from '../swarm/client.js';

/** The manager's own socket, e.g. `/var/run/docker.sock`. */
export interface SocketEngine {
  socketPath: string;
}

export type ManagerEngine = EngineEndpoint | SocketEngine;

export const isSocket = (e: ManagerEngine): e is SocketEngine => 'socketPath' in e;

const sockets = new Map<string, Docker>();

/** A client for API calls (cached per endpoint or socket for the life of the process). */
export function managerClient(e: ManagerEngine): Docker {
  if (!isSocket(e)) return engineClient(e);
  let c = sockets.get(e.socketPath);
  if (!c) {
    c = dockerClient({ socketPath: e.socketPath, timeout: ENGINE_TIMEOUT_MS });
    sockets.set(e.socketPath, c);
  }
  return c;
}

/** A fresh client without an idle timeout (an event stream may be silent for long). */
export function newManagerClient(e: ManagerEngine): Docker {
  return isSocket(e) ? dockerClient({ socketPath: e.socketPath }) : newEngineClient(e);
}
