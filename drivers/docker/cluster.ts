import type { ClusterScope, DiscoveredCluster, FlagValues } from '../../src/driver/contract.js';
import { hostEngine } from '../../src/engine/host.js';
import { apiMessage, engineClient, engineError, statusOf } from './engine.js';
import { forgetNetwork } from './network.js';
import { laterExpiry } from '../../src/driver/expiry.js';

/**
 * Label-based views of the engine of a cluster: the one its machines recorded, else the one the
 * environment names (so `cluster down --all` and `prune` work without a store), never a machine of
 * the store (src/engine/host.ts). The flags carry nothing these need.
 */
const engine = (scope: ClusterScope) => {
  const addr = hostEngine(scope);
  return { addr, docker: engineClient(addr) };
};

export async function discoverClusters(
  _flags: FlagValues,
  scope: ClusterScope,
): Promise<DiscoveredCluster[]> {
  const { addr, docker } = engine(scope);
  try {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: ['swarmup.managed=true'] },
    });
    const clusters = new Map<string, DiscoveredCluster>();
    for (const c of containers) {
      const name = c.Labels['swarmup.cluster'];
      if (!name) continue;
      const d = clusters.get(name) ?? { name, driver: 'docker', machines: [] };
      d.machines.push(c.Labels['swarmup.machine'] ?? c.Names[0]?.replace(/^\//, ''));
      d.expiresAt = laterExpiry(d.expiresAt, c.Labels['swarmup.expires']);
      clusters.set(name, d);
    }
    for (const d of clusters.values()) d.machines.sort();
    return [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    throw engineError(addr, 'cannot list swarmup containers', err);
  }
}

/** Remove the cluster's containers (with their volumes), then its networks. Returns what went. */
export async function destroyCluster(
  cluster: string,
  _flags: FlagValues,
  log: (msg: string) => void,
  scope: ClusterScope,
): Promise<string[]> {
  const { addr, docker } = engine(scope);
  const filters = { label: ['swarmup.managed=true', `swarmup.cluster=${cluster}`] };
  const gone: string[] = [];
  try {
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(
      containers.map(async (c) => {
        const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
        log(`Removing container ${name}...`);
        await docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((err) => {
            if (statusOf(err) !== 404) throw err;
          });
        gone.push(`container ${name}`);
      }),
    );
    for (const n of await docker.listNetworks({ filters })) {
      log(`Removing network ${n.Name}...`);
      try {
        await docker.getNetwork(n.Id).remove();
        forgetNetwork(addr, n.Name);
        gone.push(`network ${n.Name}`);
      } catch (err) {
        if (statusOf(err) !== 404) throw new Error(`network ${n.Name}: ${apiMessage(err)}`);
      }
    }
  } catch (err) {
    throw engineError(addr, `cannot remove cluster ${cluster}`, err);
  }
  return gone;
}
