import type Docker from 'dockerode';
import { dockerClient } from '../engine/dockerode.js';
import type { EngineEndpoint } from '../engine/api.js';

/**
 * Socket inactivity timeout for Engine API calls. A swarm join can legitimately take ~20 s before the
 * daemon answers (it waits for the node to become part of the swarm), so this stays well above that.
 */
export const ENGINE_TIMEOUT_MS = 60_000;

interface Cached {
  fingerprint: string;
  client: Docker;
}

const clients = new Map<string, Cached>();

const fingerprint = (ep: EngineEndpoint): string => `${ep.ca}\0${ep.cert}\0${ep.key}`;

/**
 * A dockerode client for a machine's Engine API over mutual TLS. One client per host:port for the
 * life of the process (a client whose certificates changed, e.g. after regenerate-certs, is replaced).
 */
export function engineClient(ep: EngineEndpoint): Docker {
  const key = `${ep.host}:${ep.port}`;
  const fp = fingerprint(ep);
  const hit = clients.get(key);
  if (hit && hit.fingerprint === fp) return hit.client;
  const client = newEngineClient(ep, ENGINE_TIMEOUT_MS);
  clients.set(key, { fingerprint: fp, client });
  return client;
}

/** A fresh, uncached client; without `timeoutMs` it never gives up on a silent connection. */
export function newEngineClient(ep: EngineEndpoint, timeoutMs?: number): Docker {
  return dockerClient({
    host: ep.host,
    port: ep.port,
    protocol: 'https',
    ca: ep.ca,
    cert: ep.cert,
    key: ep.key,
    ...(timeoutMs ? { timeout: timeoutMs } : {}),
  });
}

/** Forget cached clients (tests). */
export function clearEngineClients(): void {
  clients.clear();
}
