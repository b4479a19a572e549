/**
 * Firewall rules of a cluster (or of a machine made outside a cluster). Firewalls take no labels:
 * ownership is the JSON `description`. Rendering and comparison are pure; `ensureFirewalls` makes
 * the API match (insert when missing, PATCH when different, nothing when equal).
 */
import { UserError } from '../../src/errors.js';
import { isAlreadyExists } from '../../src/cloud/gce/errors.js';
import type { Firewall, Gce } from '../../src/cloud/gce/api.js';
import {
  type Owner,
  gceName,
  ownedBy,
  ownerDescription,
  ownerPrefix,
  ownerTag,
  parseOwner,
} from '../../src/cloud/gce/labels.js';
import type { OpenPort } from './settings.js';
import { networkUrl, resourcePath } from '../../src/cloud/gce/api.js';

/** Swarm ports: managers (2377/tcp), gossip (7946/tcp+udp), overlay VXLAN (4789/udp). */
export const SWARM_ALLOWED = [
  { IPProtocol: 'tcp', ports: ['2377', '7946'] },
  { IPProtocol: 'udp', ports: ['4789', '7946'] },
];
/** SSH and the Docker Engine's TLS API. */
export const ADMIN_ALLOWED = [{ IPProtocol: 'tcp', ports: ['22', '2376'] }];

export type FirewallRole = 'swarm' | 'admin' | 'open';

export interface FirewallSpec {
  name: string;
  role: string;
  description: string;
  network: string;
  direction: 'INGRESS';
  allowed: Array<{ IPProtocol: string; ports: string[] }>;
  sourceRanges: string[];
  sourceTags: string[];
  targetTags: string[];
}

/** `--google-open-port` values as `allowed` entries, one per protocol, ports sorted. */
export function openAllowed(ports: readonly OpenPort[]): FirewallSpec['allowed'] {
  const by = new Map<string, Set<number>>();
  for (const p of ports) by.set(p.protocol, (by.get(p.protocol) ?? new Set()).add(p.port));
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([IPProtocol, set]) => ({ IPProtocol, ports: [...set].sort((a, b) => a - b).map(String) }));
}

/**
 * The owner's rules: `swarm` (clusters only: members to members, by tag), `admin` (22 and 2376 from
 * the admin ranges) and `open` (the `--google-open-port`s from anywhere; none when there are none).
 */
export function ownerFirewalls(
  owner: Owner,
  s: { network: string; adminCidrs: string[]; openPorts: readonly OpenPort[] },
): { specs: FirewallSpec[]; unwanted: string[] } {
  const tag = ownerTag(owner);
  const base = (role: FirewallRole) => ({
    name: gceName(ownerPrefix(owner), role),
    role,
    description: ownerDescription(owner, `firewall-${role}`),
    network: networkUrl(s),
    direction: 'INGRESS' as const,
    targetTags: [tag],
  });
  const specs: FirewallSpec[] = [];
  const unwanted: string[] = [];
  if (owner.kind === 'cluster') {
    specs.push({ ...base('swarm'), allowed: SWARM_ALLOWED, sourceRanges: [], sourceTags: [tag] });
  }
  specs.push({
    ...base('admin'),
    allowed: ADMIN_ALLOWED,
    sourceRanges: [...s.adminCidrs].sort(),
    sourceTags: [],
  });
  const open = openAllowed(s.openPorts);
  if (open.length)
    specs.push({ ...base('open'), allowed: open, sourceRanges: ['0.0.0.0/0'], sourceTags: [] });
  else unwanted.push(base('open').name);
  return { specs, unwanted };
}

/** The request body of a rule. */
export function firewallBody(f: FirewallSpec): Firewall {
  return {
    name: f.name,
    description: f.description,
    network: f.network,
    direction: f.direction,
    allowed: f.allowed,
    ...(f.sourceRanges.length ? { sourceRanges: f.sourceRanges } : {}),
    ...(f.sourceTags.length ? { sourceTags: f.sourceTags } : {}),
    targetTags: f.targetTags,
  };
}

const sorted = (a: readonly string[] | null | undefined) => [...(a ?? [])].sort();

function allowedKey(a: Firewall['allowed']): string {
  return JSON.stringify(
    (a ?? [])
      .map((x) => ({ p: String(x.IPProtocol ?? '').toLowerCase(), ports: sorted(x.ports) }))
      .sort((x, y) => x.p.localeCompare(y.p) || x.ports.join().localeCompare(y.ports.join())),
  );
}

/** What differs between the wanted rule and the one GCE has (empty: equal). */
export function firewallChanges(want: FirewallSpec, have: Firewall): string[] {
  const out: string[] = [];
  if (allowedKey(want.allowed) !== allowedKey(have.allowed)) out.push('allowed');
  if (JSON.stringify(sorted(want.sourceRanges)) !== JSON.stringify(sorted(have.sourceRanges)))
    out.push('sourceRanges');
  if (JSON.stringify(sorted(want.sourceTags)) !== JSON.stringify(sorted(have.sourceTags)))
    out.push('sourceTags');
  if (JSON.stringify(sorted(want.targetTags)) !== JSON.stringify(sorted(have.targetTags)))
    out.push('targetTags');
  if (resourcePath(want.network) !== resourcePath(have.network)) out.push('network');
  if ((have.direction ?? 'INGRESS') !== want.direction) out.push('direction');
  if ((have.description ?? '') !== want.description) out.push('description');
  if (have.disabled) out.push('disabled');
  return out;
}

/** Make one rule match: insert when missing, PATCH when different, nothing when equal. */
export async function ensureFirewall(
  gce: Gce,
  want: FirewallSpec,
  owner: Owner,
  log: (m: string) => void,
): Promise<'created' | 'updated' | 'unchanged'> {
  const get = () =>
    gce.find(`reading firewall rule ${want.name}`, (o) =>
      gce.firewalls.get({ project: gce.project, firewall: want.name }, o),
    );
  let have = await get();
  if (!have) {
    try {
      log(`Creating firewall rule ${want.name}...`);
      await gce.mutate(`creating firewall rule ${want.name}`, (o, requestId) =>
        gce.firewalls.insert({ requestId, project: gce.project, firewallResource: firewallBody(want) }, o),
      );
      return 'created';
    } catch (err) {
      // Made at the same time by a parallel create of another member: compare with it instead.
      if (!isAlreadyExists(err)) throw err;
      have = await get();
      if (!have) throw err;
    }
  }
  if (!ownedBy(have.description, owner)) {
    const other = parseOwner(have.description);
    throw new UserError(
      `firewall rule ${want.name} exists and is not ${owner.kind} ${owner.name}'s (${other ? `it belongs to ${other.owner.kind} ${other.owner.name}` : 'not made by swarmup'}); rename or remove it`,
    );
  }
  const changes = firewallChanges(want, have);
  if (changes.length === 0) return 'unchanged';
  log(`Updating firewall rule ${want.name} (${changes.join(', ')})...`);
  await gce.mutate(`updating firewall rule ${want.name}`, (o, requestId) =>
    gce.firewalls.patch(
      {
        requestId,
        project: gce.project,
        firewall: want.name,
        firewallResource: {
          ...firewallBody(want),
          sourceRanges: want.sourceRanges,
          sourceTags: want.sourceTags,
          disabled: false,
        },
      },
      o,
    ),
  );
  return 'updated';
}

/** Delete a rule if it exists and the owner owns it. */
export async function removeOwnedFirewall(
  gce: Gce,
  name: string,
  owner: Owner,
  log: (m: string) => void,
): Promise<boolean> {
  const have = await gce.find(`reading firewall rule ${name}`, (o) =>
    gce.firewalls.get({ project: gce.project, firewall: name }, o),
  );
  if (!have || !ownedBy(have.description, owner)) return false;
  log(`Removing firewall rule ${name}...`);
  return gce.remove(`removing firewall rule ${name}`, (o, requestId) =>
    gce.firewalls.delete({ requestId, project: gce.project, firewall: name }, o),
  );
}

/** Parallel creates of one cluster's machines share one ensure while it runs. */
const inFlight = new Map<string, Promise<void>>();

/** Every rule of the owner, as the settings want them (the admin rule must exist before SSH). */
export function ensureOwnerFirewalls(
  gce: Gce,
  owner: Owner,
  s: { network: string; adminCidrs: string[]; openPorts: readonly OpenPort[] },
  log: (m: string) => void,
  only?: (spec: FirewallSpec) => boolean,
): Promise<void> {
  const { specs, unwanted } = ownerFirewalls(owner, s);
  const chosen = only ? specs.filter(only) : specs;
  const key = `${gce.endpoint.base}/${gce.project}/${JSON.stringify(chosen)}/${only ? '' : unwanted.join()}`;
  let p = inFlight.get(key);
  if (!p) {
    p = (async () => {
      await Promise.all(chosen.map((f) => ensureFirewall(gce, f, owner, log)));
      if (!only) for (const n of unwanted) await removeOwnedFirewall(gce, n, owner, log);
    })();
    inFlight.set(key, p);
    p.then(
      () => inFlight.delete(key),
      () => inFlight.delete(key),
    );
  }
  return p;
}
