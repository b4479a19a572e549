/**
 * Cluster-wide views of GCE found by labels (instances) and ownership descriptions (firewalls, load
 * balancer), so that `cluster down --all` and `prune` work from an empty store.
 */
import type { DiscoveredCluster, FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { mapBounded } from '../../src/util/async.js';
import { lastSegment, type Gce, type Instance } from '../../src/cloud/gce/api.js';
import { connectGce } from '../../src/cloud/gce/connect.js';
import { isNotFound } from '../../src/cloud/gce/errors.js';
import { ensureOwnerFirewalls } from './firewall.js';
import { LABEL, decodeExpiry, ownedBy, parseOwner } from '../../src/cloud/gce/labels.js';
import { requireAdminCidrs, settingsFromFlags } from './settings.js';
import { GOOGLE_DEFAULTS } from './defaults.js';
import { laterExpiry } from '../../src/driver/expiry.js';

/** Project, zone and endpoint from the flags, or undefined when there is no project to look in. */
function access(flags: FlagValues): { project: string; zone: string; endpoint?: string } | undefined {
  const project = String(flags['google-project'] ?? '').trim();
  if (!project) return undefined;
  const zone = String(flags['google-zone'] ?? '').trim() || GOOGLE_DEFAULTS.zone;
  const endpoint = String(flags['google-endpoint'] ?? '').trim() || undefined;
  return { project, zone, endpoint };
}

/**
 * Instances matching a label filter in every zone (aggregatedList), or in `zone` alone when the
 * endpoint has no aggregated list.
 */
export async function listInstances(
  gce: Gce,
  zone: string,
  filter: string,
): Promise<Array<Instance & { zoneName: string }>> {
  try {
    return await gce.call('listing instances', async (o) => {
      const out: Array<Instance & { zoneName: string }> = [];
      for await (const [scope, list] of gce.instances.aggregatedListAsync(
        { project: gce.project, filter },
        { ...o, autoPaginate: false },
      )) {
        for (const i of list.instances ?? [])
          out.push({ ...i, zoneName: lastSegment(i.zone) || scope.replace(/^zones\//, '') });
      }
      return [out] as const;
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const items = await gce.call(`listing instances in ${zone}`, (o) =>
    gce.instances.list({ project: gce.project, zone, filter }, o),
  );
  return items.map((i) => ({ ...i, zoneName: lastSegment(i.zone) || zone }));
}

const labelIs = (i: Instance, k: string, v: string) => (i.labels ?? {})[k] === v;

export async function discoverClusters(flags: FlagValues): Promise<DiscoveredCluster[]> {
  const a = access(flags);
  if (!a) return [];
  const gce = await connectGce(a);
  const [instances, firewalls] = await Promise.all([
    listInstances(gce, a.zone, `labels.${LABEL.managed} = "true"`),
    gce.call('listing firewall rules', (o) => gce.firewalls.list({ project: gce.project }, o)),
  ]);
  const clusters = new Map<string, DiscoveredCluster>();
  const entry = (name: string) => {
    let d = clusters.get(name);
    if (!d) clusters.set(name, (d = { name, driver: 'google', machines: [] }));
    return d;
  };
  for (const i of instances) {
    const name = i.labels?.[LABEL.cluster];
    if (!name || !labelIs(i, LABEL.managed, 'true')) continue;
    const d = entry(name);
    d.machines.push(i.labels?.[LABEL.machine] || String(i.name));
    d.expiresAt = laterExpiry(d.expiresAt, decodeExpiry(i.labels?.[LABEL.expires]));
  }
  // What an interrupted `cluster down` left: rules of a cluster without instances.
  for (const f of firewalls) {
    const o = parseOwner(f.description);
    if (o?.owner.kind === 'cluster') entry(o.owner.name);
  }
  for (const d of clusters.values()) d.machines.sort();
  return [...clusters.values()].sort((x, y) => x.name.localeCompare(y.name));
}

/**
 * Remove everything the cluster owns: its instances (by label), then every firewall rule whose
 * description names it. Its load balancer is removed before, by `cluster down` (src/lb/backends.ts).
 * What it does not own is never touched; 404 counts as done.
 */
export async function destroyCluster(
  cluster: string,
  flags: FlagValues,
  log: (msg: string) => void,
): Promise<string[]> {
  const a = access(flags);
  if (!a) return [];
  const gce = await connectGce(a);
  const owner = { kind: 'cluster' as const, name: cluster };
  const instances = (await listInstances(gce, a.zone, `labels.${LABEL.cluster} = "${cluster}"`)).filter((i) =>
    labelIs(i, LABEL.cluster, cluster),
  );
  const gone: string[] = [];
  await mapBounded(instances, 16, async (i) => {
    log(`Deleting instance ${i.name} in ${i.zoneName}...`);
    const was = await gce.remove(`deleting instance ${i.name} in ${i.zoneName}`, (o, requestId) =>
      gce.instances.delete(
        { requestId, project: gce.project, zone: i.zoneName, instance: String(i.name) },
        o,
      ),
    );
    if (was) gone.push(`instance ${i.name}`);
  });
  const firewalls = await gce.call('listing firewall rules', (o) =>
    gce.firewalls.list({ project: gce.project }, o),
  );
  await mapBounded(
    firewalls.filter((f) => ownedBy(f.description, owner)),
    8,
    async (f) => {
      log(`Removing firewall rule ${f.name}...`);
      if (
        await gce.remove(`removing firewall rule ${f.name}`, (o, requestId) =>
          gce.firewalls.delete({ requestId, project: gce.project, firewall: String(f.name) }, o),
        )
      ) {
        gone.push(`firewall ${f.name}`);
      }
    },
  );
  return gone;
}

/** Swarm ports between members only (by tag), admin ports from the admin ranges, open ports. */
export async function ensureClusterFirewall(
  cluster: string,
  flags: FlagValues,
  log: (msg: string) => void,
): Promise<void> {
  const s = settingsFromFlags(flags);
  requireAdminCidrs(s);
  const gce = await connectGce({ project: s.project, endpoint: s.endpoint });
  try {
    await ensureOwnerFirewalls(gce, { kind: 'cluster', name: cluster }, s, log);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError((err as Error).message);
  }
}
