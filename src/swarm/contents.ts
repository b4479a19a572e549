/**
 * What a swarm holds beyond its nodes, read from a manager's store so that a new swarm can be given
 * the same: overlay networks, configs, services and the labels set on nodes. Used by a rebuild
 * (`cluster up --rebuild-swarm`, see steps/rebuild.ts), for a swarm whose raft cannot be restarted.
 * Secrets cannot be carried over (the Engine API never returns their data), so a swarm that holds any
 * is refused before anything changes. Re-creating is by name and idempotent: a run cut short is
 * finished by the next one.
 */
import type { EngineEndpoint } from '../engine/api.js';
import { UserError } from '../errors.js';
import { call, engineGetJson } from './calls.js';

/** A swarm-scoped network as `GET /networks` returns it (the fields carried over). */
export interface RawNetwork {
  Id: string;
  Name: string;
  Driver?: string;
  Scope?: string;
  Ingress?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: object[] | null };
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface RawConfig {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> | null; Data?: string; Templating?: object };
}

export interface RawService {
  ID: string;
  Spec: ServiceSpec;
}

export interface ServiceSpec {
  Name: string;
  TaskTemplate?: {
    ContainerSpec?: {
      Configs?: Array<{ ConfigID?: string; ConfigName?: string }> | null;
      Secrets?: unknown[] | null;
      [k: string]: unknown;
    };
    Networks?: Array<{ Target: string; Aliases?: string[] }> | null;
    [k: string]: unknown;
  };
  Networks?: Array<{ Target: string; Aliases?: string[] }> | null;
  [k: string]: unknown;
}

/** Everything a rebuild carries over. Kept in the store (0600) until the new swarm holds it all. */
export interface SwarmContents {
  /** The manager it was read from. */
  from: string;
  networks: RawNetwork[];
  configs: RawConfig[];
  services: RawService[];
  /** Node labels by hostname (swarmup's own `swarmup.*` labels are set again by the label step). */
  nodeLabels: Record<string, Record<string, string>>;
}

/** A swarm holding secrets cannot be rebuilt: their data is never returned. */
export class SecretsHeld extends UserError {}

/** Options the new swarm allocates itself (an overlay's VXLAN IDs). */
const ALLOCATED_OPTION = /^com\.docker\.network\.driver\.overlay\.vxlanid_list$/;

/** The contents calls read whole lists: a store with many services takes longer than a state read. */
const LIST_MS = 30_000;
const getJson = <T>(ep: EngineEndpoint, path: string, what: string): Promise<T> =>
  engineGetJson<T>(ep, path, `reading ${what}`, LIST_MS);

/** Read what the swarm managed through `ep` holds; refused (nothing changed) when it holds secrets. */
export async function readContents(ep: EngineEndpoint, from: string): Promise<SwarmContents> {
  const secrets = await getJson<Array<{ Spec?: { Name?: string } }>>(ep, '/secrets', 'the secrets');
  if (secrets.length)
    throw new SecretsHeld(
      `the swarm holds ${secrets.length} secret(s) (${secrets.map((s) => s.Spec?.Name ?? '?').join(', ')}) ` +
        `whose data cannot be read back, so it cannot be rebuilt: remove them (and the services that use ` +
        `them) with "docker secret rm", or rebuild the swarm by hand`,
    );
  const filter = encodeURIComponent(JSON.stringify({ scope: ['swarm'] }));
  const networks = (await getJson<RawNetwork[]>(ep, `/networks?filters=${filter}`, 'the networks')).filter(
    (n) => !n.Ingress && n.Scope === 'swarm',
  );
  const configs = await getJson<RawConfig[]>(ep, '/configs', 'the configs');
  const services = await getJson<RawService[]>(ep, '/services', 'the services');
  const nodes = await getJson<Array<{ Description?: { Hostname?: string }; Spec?: { Labels?: object } }>>(
    ep,
    '/nodes',
    'the nodes',
  );
  const nodeLabels: SwarmContents['nodeLabels'] = {};
  for (const n of nodes) {
    const own = Object.entries((n.Spec?.Labels ?? {}) as Record<string, string>).filter(
      ([k]) => !k.startsWith('swarmup.'),
    );
    const host = n.Description?.Hostname;
    if (host && own.length) nodeLabels[host] = { ...nodeLabels[host], ...Object.fromEntries(own) };
  }
  return { from, networks, configs, services, nodeLabels };
}

/** The `POST /networks/create` body that makes the same network in a new swarm. */
export function networkCreateBody(n: RawNetwork): Record<string, unknown> {
  const options = Object.fromEntries(
    Object.entries(n.Options ?? {}).filter(([k]) => !ALLOCATED_OPTION.test(k)),
  );
  return {
    Name: n.Name,
    CheckDuplicate: true,
    Driver: n.Driver ?? 'overlay',
    Internal: !!n.Internal,
    Attachable: !!n.Attachable,
    EnableIPv6: !!n.EnableIPv6,
    IPAM: n.IPAM ?? undefined,
    Options: options,
    Labels: n.Labels ?? {},
  };
}

/**
 * A service spec for the new swarm: network targets and config IDs (the old swarm's) become the new
 * swarm's, found by name; other network targets (`host`) are kept. Throws when a swarm network or a
 * config cannot be found in the new swarm.
 */
export function serviceSpecFor(
  spec: ServiceSpec,
  oldNetworks: ReadonlyMap<string, string>,
  newNetworks: ReadonlyMap<string, string>,
  newConfigs: ReadonlyMap<string, string>,
): ServiceSpec {
  const net = (a: { Target: string; Aliases?: string[] }) => {
    const name = oldNetworks.get(a.Target) ?? (newNetworks.has(a.Target) ? a.Target : undefined);
    // Not a swarm network (`host`, or another network local to each node): its ID does not change.
    if (name === undefined) return a;
    const id = newNetworks.get(name);
    if (!id) throw new UserError(`service ${spec.Name} uses network ${name}, which the swarm did not hold`);
    return { ...a, Target: id };
  };
  const out: ServiceSpec = JSON.parse(JSON.stringify(spec)) as ServiceSpec;
  if (out.TaskTemplate?.Networks) out.TaskTemplate.Networks = out.TaskTemplate.Networks.map(net);
  if (out.Networks) out.Networks = out.Networks.map(net);
  const cs = out.TaskTemplate?.ContainerSpec;
  if (cs?.Configs)
    cs.Configs = cs.Configs.map((c) => {
      const id = c.ConfigName ? newConfigs.get(c.ConfigName) : undefined;
      if (!id)
        throw new UserError(
          `service ${spec.Name} uses config ${c.ConfigName ?? '?'}, which the swarm did not hold`,
        );
      return { ...c, ConfigID: id };
    });
  return out;
}

/**
 * Make what `c` holds in the swarm managed through `ep`, skipping what is there already (by name).
 * Returns how many of each were created.
 */
export async function restoreContents(
  ep: EngineEndpoint,
  c: SwarmContents,
): Promise<{ networks: number; configs: number; services: number }> {
  const made = { networks: 0, configs: 0, services: 0 };
  const filter = encodeURIComponent(JSON.stringify({ scope: ['swarm'] }));
  const haveNets = await getJson<RawNetwork[]>(ep, `/networks?filters=${filter}`, 'the networks');
  const newNetworks = new Map(haveNets.map((n) => [n.Name, n.Id]));
  for (const n of c.networks) {
    if (newNetworks.has(n.Name)) continue;
    const r = await call(ep, `creating network ${n.Name}`, (d) =>
      d.createNetwork(networkCreateBody(n) as never),
    );
    newNetworks.set(n.Name, r.id);
    made.networks++;
  }
  const haveConfigs = await getJson<RawConfig[]>(ep, '/configs', 'the configs');
  const newConfigs = new Map(haveConfigs.map((x) => [x.Spec.Name, x.ID]));
  for (const x of c.configs) {
    if (newConfigs.has(x.Spec.Name)) continue;
    const r = await call(ep, `creating config ${x.Spec.Name}`, (d) => d.createConfig(x.Spec as never));
    newConfigs.set(x.Spec.Name, (r as { id: string }).id);
    made.configs++;
  }
  const haveServices = new Set(
    (await getJson<RawService[]>(ep, '/services', 'the services')).map((s) => s.Spec.Name),
  );
  const oldNetworks = new Map(c.networks.map((n) => [n.Id, n.Name]));
  for (const s of c.services) {
    if (haveServices.has(s.Spec.Name)) continue;
    const spec = serviceSpecFor(s.Spec, oldNetworks, newNetworks, newConfigs);
    await call(ep, `creating service ${s.Spec.Name}`, (d) => d.createService(spec as never));
    made.services++;
  }
  return made;
}
