import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from '../../src/store/lock.js';
import { apiMessage, statusOf, type EngineAddress } from './engine.js';

/** The oldest network with exactly this name (the engine can hold several with one name). */
async function findNetwork(docker: Docker, name: string): Promise<string | undefined> {
  const nets = await docker.listNetworks({ filters: { name: [name] } });
  const exact = nets
    .filter((n) => n.Name === name)
    .sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
  return exact[0]?.Id;
}

/**
 * The engine does not stop two concurrent creates of one name (both succeed, leaving twins), so
 * creates are serialized: a promise per network in this process, a lock file across processes on
 * this host.
 */
async function findOrCreate(
  docker: Docker,
  addr: EngineAddress,
  name: string,
  labels: Record<string, string>,
): Promise<string> {
  const found = await findNetwork(docker, name);
  if (found) return found;
  const key = createHash('sha256').update(`${addr.DockerHost}\n${name}`).digest('hex').slice(0, 16);
  return withLock(join(tmpdir(), `swarmup-docker-network-${key}.lock`), async () => {
    const again = await findNetwork(docker, name);
    if (again) return again;
    try {
      const n = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: labels,
      });
      return n.id;
    } catch (err) {
      // Made meanwhile by something that does not take our lock: use that one.
      const other = statusOf(err) === 409 ? await findNetwork(docker, name) : undefined;
      if (other) return other;
      throw err;
    }
  });
}

const pending = new Map<string, Promise<string>>();

/** The id of the bridge network `name`, created (with `labels`) when missing. */
export function ensureNetwork(
  docker: Docker,
  addr: EngineAddress,
  name: string,
  labels: Record<string, string>,
): Promise<string> {
  const key = `${addr.DockerHost}\n${name}`;
  let p = pending.get(key);
  if (!p) {
    p = findOrCreate(docker, addr, name, labels);
    pending.set(key, p);
    p.catch(() => pending.delete(key));
  }
  return p;
}

/** Forget a network id this process found, after the engine said it is gone. */
export function forgetNetwork(addr: EngineAddress, name: string): void {
  pending.delete(`${addr.DockerHost}\n${name}`);
}

/** A create or start that failed because the network was removed under it (a racing `rm`). */
export function isNetworkGone(err: unknown): boolean {
  return statusOf(err) === 404 && /network/i.test(apiMessage(err)) && !/image/i.test(apiMessage(err));
}

/**
 * Remove the network if swarmup made it and no container uses it any more: the network's own list
 * has running members only, so stopped and just-created ones are found by a container filter (the
 * engine would remove the network under them and they could never start again). Losing a race with
 * another member (in use, already gone) is fine. Returns true when it removed the network.
 */
export async function removeNetworkIfUnused(
  docker: Docker,
  addr: EngineAddress,
  name: string,
): Promise<boolean> {
  try {
    const info = (await docker.getNetwork(name).inspect()) as { Id: string; Labels?: Record<string, string> };
    if (info.Labels?.['swarmup.managed'] !== 'true') return false;
    const users = await docker.listContainers({ all: true, filters: { network: [info.Id] } });
    if (users.length > 0) return false;
    await docker.getNetwork(info.Id).remove();
    forgetNetwork(addr, name);
    return true;
  } catch (err) {
    const s = statusOf(err);
    if (s === 403 || s === 404 || s === 409 || /active endpoints|in use|ambiguous/i.test(apiMessage(err))) {
      return false;
    }
    throw err;
  }
}
