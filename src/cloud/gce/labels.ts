/**
 * GCE labels: keys `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`, at most 64 per resource.
 * swarmup's own labels (`swarmup.cluster`, `swarmup.expires`, ...) use `-` instead of `.`, and the
 * expiry (an ISO time) becomes unix seconds, so that `prune` can read it back from GCE alone.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../../errors.js';

export const LABEL = {
  managed: 'swarmup-managed',
  cluster: 'swarmup-cluster',
  role: 'swarmup-role',
  machine: 'swarmup-machine',
  store: 'swarmup-store',
  expires: 'swarmup-expires',
} as const;

const KEY_RE = /^[a-z][a-z0-9_-]{0,62}$/;
const VALUE_RE = /^[a-z0-9_-]{0,63}$/;

/** A label key GCE accepts: lower case, `.`/`/` and other characters become `-`/`_`. */
export function encodeLabelKey(key: string): string {
  let k = key
    .toLowerCase()
    .replace(/[./]/g, '-')
    .replace(/[^a-z0-9_-]/g, '_');
  if (!/^[a-z]/.test(k)) k = `l-${k}`;
  return k.slice(0, 63);
}

/** A label value GCE accepts: lower case, other characters become `_`, at most 63. */
export function encodeLabelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

/** `2026-01-02T03:04:05.000Z` → `1767323045` (unix seconds); undefined when not a time. */
export function encodeExpiry(iso: string): string | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? String(Math.floor(ms / 1000)) : undefined;
}

/** The expiry label back to an ISO time. */
export function decodeExpiry(value: string | undefined): string | undefined {
  if (!value || !/^\d{1,12}$/.test(value)) return undefined;
  return new Date(Number(value) * 1000).toISOString();
}

/** Parse `--google-labels` (k=v, comma-separated or repeated), checked against GCE's rules. */
export function parseUserLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list.flatMap((l) => l.split(',')).map((l) => l.trim())) {
    if (!item) continue;
    const i = item.indexOf('=');
    const [k, v] = i < 0 ? [item, ''] : [item.slice(0, i), item.slice(i + 1)];
    if (!KEY_RE.test(k) || !VALUE_RE.test(v)) {
      throw new UserError(
        `invalid --google-labels "${item}": keys are a lowercase letter then up to 62 of a-z 0-9 _ -, values up to 63 of a-z 0-9 _ -`,
      );
    }
    if (k.startsWith('swarmup-'))
      throw new UserError(`--google-labels: the prefix "swarmup-" is reserved (${k})`);
    out[k] = v;
  }
  return out;
}

/**
 * The labels of a resource swarmup makes: user labels, then cluster membership labels (encoded; the
 * expiry as unix seconds), then swarmup's own, which win.
 */
export function resourceLabels(o: {
  user?: Record<string, string>;
  membership?: Record<string, string>;
  cluster?: string;
  role?: string;
  machine?: string;
  store?: string;
}): Record<string, string> {
  const out: Record<string, string> = { ...o.user };
  for (const [k, v] of Object.entries(o.membership ?? {})) {
    if (k === 'swarmup.expires') {
      const e = encodeExpiry(v);
      if (e) out[LABEL.expires] = e;
      continue;
    }
    out[encodeLabelKey(k)] = encodeLabelValue(v);
  }
  out[LABEL.managed] = 'true';
  if (o.cluster) out[LABEL.cluster] = encodeLabelValue(o.cluster);
  if (o.role) out[LABEL.role] = encodeLabelValue(o.role);
  if (o.machine) out[LABEL.machine] = encodeLabelValue(o.machine);
  if (o.store) out[LABEL.store] = encodeLabelValue(o.store);
  const keys = Object.keys(out);
  if (keys.length > 64) throw new UserError(`too many labels (${keys.length}); GCE allows 64 per resource`);
  return out;
}

/** Who owns a resource: a cluster, or a machine made outside any cluster. */
export interface Owner {
  kind: 'cluster' | 'machine';
  name: string;
}

const ownerKey = (o: Owner) => `swarmup/${o.kind}`;

/**
 * Ownership written into the `description` of resources that take no labels (firewalls, target
 * pools, health checks), as JSON like Kubernetes' `{"kubernetes.io/service-name": ...}`.
 */
export function ownerDescription(owner: Owner, role: string): string {
  return JSON.stringify({ [ownerKey(owner)]: owner.name, 'swarmup/role': role });
}

/** The owner and role recorded in a description, if it is one of ours. */
export function parseOwner(
  description: string | null | undefined,
): { owner: Owner; role: string } | undefined {
  if (!description || !description.startsWith('{')) return undefined;
  try {
    const o = JSON.parse(description) as Record<string, unknown>;
    const role = o['swarmup/role'];
    if (typeof role !== 'string') return undefined;
    for (const kind of ['cluster', 'machine'] as const) {
      const name = o[`swarmup/${kind}`];
      if (typeof name === 'string') return { owner: { kind, name }, role };
    }
  } catch {
    /* not ours */
  }
  return undefined;
}

export function ownedBy(description: string | null | undefined, owner: Owner): boolean {
  const p = parseOwner(description);
  return !!p && p.owner.kind === owner.kind && p.owner.name === owner.name;
}

/** A GCE name (`[a-z]([-a-z0-9]{0,61}[a-z0-9])?`) from parts; too long → shortened with a hash. */
export function gceName(...parts: string[]): string {
  const name = parts.join('-');
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** The resource-name prefix and the network tag every instance of the owner carries. */
export const ownerPrefix = (o: Owner) =>
  o.kind === 'cluster' ? `swarmup-${o.name}` : gceName('swarmup-m', o.name);
export const ownerTag = ownerPrefix;
