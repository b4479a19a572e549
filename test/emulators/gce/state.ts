// The emulator's state: options, links, operations, faults and the resource collections.
import { invalidField, notFound, notReady, quotaExceeded, type OperationError } from './errors.js';
import type { Faults } from './faults.js';
import type { OperationJson, Operations, OperationWork } from './operations.js';
import { Links, parseRef, regionOfZone, type ResourceRef, type Scope } from './urls.js';

export interface Quotas {
  instances: number;
  /** vCPUs of the instances in a region (the CPUS metric). */
  cpus: number;
  forwardingRules: number;
  addresses: number;
}

export interface Settings {
  project: string;
  region: string;
  zones: string[];
  regions: string[];
  operationLatencyMs: number;
  createLatencyMs: number;
  waitTimeoutMs: number;
  quotas: Quotas;
  backing: { image: 'vm' | 'node' } | false;
  addressPrefix: string;
  instanceAddressPrefix: string;
  healthCheckScale: number;
  maxPortRange: number;
}

/** A stored resource: its REST JSON plus lifecycle flags. */
export interface Stored {
  json: Record<string, unknown> & { name: string; id: string; selfLink: string };
  scope: Scope;
  /** Its insert operation is DONE. */
  ready: boolean;
  /** A delete operation is in flight. */
  deleting: boolean;
}

export class Collection<S extends Stored = Stored> {
  private items = new Map<string, S>();

  constructor(
    private links: Links,
    /** REST collection name: `instances`, `targetPools`, ... */
    readonly name: string,
    /** snake_case type name used in "is already being used by" messages. */
    readonly apiKind: string,
  ) {}

  path(scope: Scope, name: string): string {
    return this.links.path(`${scope}/${this.name}/${name}`);
  }

  url(scope: Scope, name: string): string {
    return this.links.url(`${scope}/${this.name}/${name}`);
  }

  find(scope: Scope, name: string): S | undefined {
    return this.items.get(`${scope}/${name}`);
  }

  get(scope: Scope, name: string): S {
    const s = this.find(scope, name);
    if (!s) throw notFound(this.path(scope, name));
    return s;
  }

  /** For a change to the resource itself: it must exist, be created and not being deleted. */
  mutable(scope: Scope, name: string): S {
    const s = this.get(scope, name);
    if (!s.ready || s.deleting) throw notReady(this.path(scope, name));
    return s;
  }

  /** Resolve a reference from another resource (full or partial URL); it must be usable. */
  resolve(ref: unknown, field: string, project: string): S {
    const r: ResourceRef | undefined = parseRef(ref, this.name, project);
    if (!r)
      throw invalidField(
        field,
        ref,
        `The URL is malformed or does not name a resource of type '${this.name}'.`,
      );
    if (r.project !== project) throw notFound(r.path);
    return this.mutable(r.scope, r.name);
  }

  inScope(scope: Scope): S[] {
    return [...this.items.values()].filter((s) => s.scope === scope);
  }

  all(): S[] {
    return [...this.items.values()];
  }

  add(s: S): void {
    this.items.set(`${s.scope}/${s.json.name}`, s);
  }

  remove(s: S): void {
    if (this.items.get(`${s.scope}/${s.json.name}`) === s) this.items.delete(`${s.scope}/${s.json.name}`);
  }

  get size(): number {
    return this.items.size;
  }
}

export class State {
  readonly links: Links;

  constructor(
    readonly settings: Settings,
    linkBase: string,
    readonly ops: Operations,
    readonly faults: Faults,
  ) {
    this.links = new Links(linkBase, settings.project);
  }

  get project(): string {
    return this.settings.project;
  }

  /** `zones/Z` after checking Z is a zone of this emulator. */
  zoneScope(zone: string): Scope {
    if (!this.settings.zones.includes(zone)) throw invalidField('zone', zone, 'Unknown zone.');
    return `zones/${zone}`;
  }

  regionScope(region: string): Scope {
    if (!this.settings.regions.includes(region)) throw invalidField('region', region, 'Unknown region.');
    return `regions/${region}`;
  }

  /** Start an operation in `scope` on `target`, with the configured latency and injected faults. */
  operation(
    scope: Scope,
    type: string,
    target: { json: { selfLink: string; id: string } } | { link: string; id?: string },
    work: OperationWork,
    extra: { latencyMs?: number; fail?: OperationError; fields?: Partial<OperationJson> } = {},
  ): OperationJson {
    const targetLink = 'json' in target ? target.json.selfLink : target.link;
    const targetId = 'json' in target ? target.json.id : target.id;
    const zone = scope.startsWith('zones/') ? scope.slice(6) : undefined;
    const fail =
      extra.fail ??
      this.faults.takeOperationFailure(type, targetLink, zone ? this.links.path(scope) : undefined);
    return this.ops.start({
      scope,
      type,
      targetLink,
      targetId,
      work,
      fail,
      latencyMs: (extra.latencyMs ?? this.settings.operationLatencyMs) + this.faults.slowness(zone),
      extra: extra.fields,
    });
  }

  quota(kind: keyof Quotas, used: number, location: string): void {
    const limit = this.settings.quotas[kind];
    if (used >= limit) {
      const metric = {
        instances: 'INSTANCES',
        cpus: 'CPUS',
        forwardingRules: 'FORWARDING_RULES',
        addresses: 'STATIC_ADDRESSES',
      }[kind];
      throw quotaExceeded(metric, limit, location);
    }
  }

  regionOf(scope: Scope): string {
    return scope.startsWith('zones/') ? regionOfZone(scope.slice(6)) : scope.replace(/^regions\//, '');
  }
}

/** Allocates addresses `<prefix>N` (N = 1..254) and remembers who holds each. */
export class IpPool {
  private used = new Map<string, string>();

  constructor(readonly prefix: string) {
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.$/.test(prefix))
      throw new Error(`address prefix must look like '127.77.0.': ${prefix}`);
  }

  contains(ip: string): boolean {
    return (
      ip.startsWith(this.prefix) &&
      /^\d{1,3}$/.test(ip.slice(this.prefix.length)) &&
      Number(ip.slice(this.prefix.length)) >= 1 &&
      Number(ip.slice(this.prefix.length)) <= 254
    );
  }

  take(owner: string, ip?: string): string | undefined {
    if (ip !== undefined) {
      if (!this.contains(ip) || this.used.has(ip)) return undefined;
      this.used.set(ip, owner);
      return ip;
    }
    for (let n = 1; n <= 254; n++) {
      const cand = `${this.prefix}${n}`;
      if (!this.used.has(cand)) {
        this.used.set(cand, owner);
        return cand;
      }
    }
    return undefined;
  }

  release(ip: string | undefined): void {
    if (ip) this.used.delete(ip);
  }
}
