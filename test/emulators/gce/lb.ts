// The network load balancer's resources in one place: addresses, HTTP health checks, target pools,
// forwarding rules, the health checker and the data plane.
import { DataPlane } from './dataplane.js';
import { HealthChecker } from './health.js';
import type { InstanceRec, InstancesApi } from './instances.js';
import { Collection, IpPool, type State, type Stored } from './state.js';
import { projectPath } from './urls.js';

export interface AddressRec extends Stored {
  ip: string;
}

export interface RuleRec extends Stored {
  ip: string;
  /** The rule got an ephemeral address (no IPAddress given): released with the rule. */
  ephemeral: boolean;
  ports: [number, number];
  protocol: string;
  /** The reserved address it uses, if any. */
  address?: AddressRec;
}

export interface Lb {
  state: State;
  instances: InstancesApi;
  addresses: Collection<AddressRec>;
  healthChecks: Collection;
  targetPools: Collection;
  rules: Collection<RuleRec>;
  /** Loopback addresses for reserved addresses and ephemeral rule addresses. */
  ips: IpPool;
  health: HealthChecker;
  dataplane: DataPlane;
}

/** Same resource? Compares full or partial URLs by their `projects/...` form. */
export function sameRef(state: State, a: unknown, b: unknown): boolean {
  return (
    typeof a === 'string' &&
    typeof b === 'string' &&
    projectPath(a, state.project) === projectPath(b, state.project)
  );
}

const refs = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

export function createLb(state: State, instances: InstancesApi): Lb {
  const lb = {
    state,
    instances,
    addresses: new Collection<AddressRec>(state.links, 'addresses', 'address'),
    healthChecks: new Collection(state.links, 'httpHealthChecks', 'http_health_check'),
    targetPools: new Collection(state.links, 'targetPools', 'target_pool'),
    rules: new Collection<RuleRec>(state.links, 'forwardingRules', 'forwarding_rule'),
    ips: new IpPool(state.settings.addressPrefix),
    dataplane: new DataPlane(),
  } as Omit<Lb, 'health'> as Lb;
  lb.health = new HealthChecker(
    {
      check: (link) => lb.healthChecks.all().find((h) => h.json.selfLink === link && !h.deleting),
      instancesFor: (link) => {
        const out = new Set<InstanceRec>();
        for (const pool of lb.targetPools.all())
          if (refs(pool.json.healthChecks).some((h) => sameRef(state, h, link)))
            for (const i of poolInstances(lb, pool)) out.add(i);
        return [...out];
      },
    },
    state.settings.healthCheckScale,
  );
  return lb;
}

/** The existing instances a pool lists (a deleted instance stays listed but is skipped). */
export function poolInstances(lb: Lb, pool: Stored): InstanceRec[] {
  return refs(pool.json.instances)
    .map((ref) => lb.instances.find(ref))
    .filter((i): i is InstanceRec => i !== undefined);
}

/** HEALTHY if RUNNING and (no health check, or the pool's health check says so). */
export function instanceHealthy(lb: Lb, pool: Stored, inst: InstanceRec): boolean {
  if (inst.status !== 'RUNNING' || !inst.ip) return false;
  const [hc] = refs(pool.json.healthChecks);
  return hc === undefined ? true : lb.health.healthy(projectLink(lb, hc), inst);
}

/** A health check reference as its full selfLink (how the checker keys it). */
export function projectLink(lb: Lb, ref: string): string {
  const p = projectPath(ref, lb.state.project);
  return p ? lb.state.links.abs(p) : ref;
}

/** IPs a rule forwards to right now: healthy instances of its target pool. */
export function ruleBackends(lb: Lb, rule: RuleRec): string[] {
  const pool = lb.targetPools.all().find((p) => sameRef(lb.state, p.json.selfLink, rule.json.target));
  if (!pool) return [];
  return poolInstances(lb, pool)
    .filter((i) => instanceHealthy(lb, pool, i))
    .map((i) => i.ip!);
}
