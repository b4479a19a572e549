/**
 * The GCE network load balancer as an `LbBackend`: a reserved address, firewall rules, an HTTP health
 * check answered by a health service on every node, a target pool and forwarding rules, in front of
 * every published port. The client comes from the google driver (src/cloud/access.ts).
 */
import type Docker from 'dockerode';
import type { GceAccess } from '../../cloud/access.js';
import { lastSegment } from '../../cloud/gce/api.js';
import { ApiError, OperationError, describeApiError } from '../../cloud/gce/errors.js';
import { UserError, oneLine } from '../../errors.js';
import { engineClient } from '../../swarm/client.js';
import type { HelperHealth, InSync, LbBackend, LbStatus, Log, RemoveOptions } from '../backend.js';
import { desiredListeners } from '../desired.js';
import type { Listener, SwarmSnapshot } from '../model.js';
import type { Plan } from '../plan.js';
import type { LbTarget } from '../target.js';
import { GceLbBackend, readHealthService, readLb, refuseForeign, type ReadResult } from './backend.js';
import { HEALTH, desiredLb, type DesiredResult } from './desired.js';
import { readHealthTasks } from './health.js';
import type { CurrentLb, HealthServiceCur } from './model.js';
import { applyLb, planLb, type LbPlan } from './plan.js';
import { rangeText } from './ranges.js';
import { removeClusterLoadBalancer } from './teardown.js';

/** A Compute API failure as one line for the user. */
function gceFailure(what: string, err: unknown): UserError {
  if (err instanceof ApiError || err instanceof OperationError)
    return new UserError(`${what}: ${(err as Error).message}`);
  if (err instanceof UserError) return err;
  const f = describeApiError(err);
  return new UserError(`${what}: ${f.status ? `${f.status} ` : ''}${f.message}`);
}

interface Current {
  read: ReadResult;
  lb: CurrentLb;
}

interface Desired {
  d: DesiredResult;
  listeners: Listener[];
  warnings: string[];
}

type Planned = LbPlan & { plan: Plan; warnings: string[]; where: Record<string, unknown> };

interface PoolMember {
  instance: string;
  health: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
}

export class GceLb implements LbBackend<Current, Desired, Planned> {
  readonly provider = 'gce' as const;
  private docker?: Docker;

  constructor(
    private readonly t: LbTarget,
    private readonly a: GceAccess,
  ) {}

  private async swarm(): Promise<Docker> {
    this.docker ??= engineClient((await this.t.manager()).endpoint);
    return this.docker;
  }

  private where(lb: CurrentLb): Record<string, unknown> {
    return {
      provider: 'gce',
      project: this.a.gce.project,
      region: this.a.region,
      address: lb.address?.ip ?? null,
    };
  }

  private async readCloud(): Promise<ReadResult> {
    try {
      return await readLb(this.a.gce, this.a.region, this.t.name);
    } catch (err) {
      throw gceFailure('cannot read the load balancer', err);
    }
  }

  async current(): Promise<Current> {
    let read: ReadResult;
    let healthService: HealthServiceCur | undefined;
    try {
      [read, healthService] = await Promise.all([
        readLb(this.a.gce, this.a.region, this.t.name),
        this.swarm().then(readHealthService),
      ]);
    } catch (err) {
      throw gceFailure('cannot read the load balancer', err);
    }
    return { read, lb: { ...read.current, healthService } };
  }

  /** Swarm node → `zones/<z>/instances/<n>` and its network tag, from the stored machines. */
  private async instances() {
    const machines = await this.t.machines();
    const byName = new Map<string, ReturnType<GceAccess['instanceOf']>>();
    const byIp = new Map<string, ReturnType<GceAccess['instanceOf']>>();
    for (const m of machines) {
      if (m.cfg.DriverName !== this.t.driver) continue;
      const ref = this.a.instanceOf(m.cfg.Driver);
      const place = this.a.placeOf(m.cfg.Driver);
      if (this.t.kind === 'manager' && place !== this.a.placeOf(this.t.machine!)) {
        throw new UserError(
          `machine ${m.cfg.Name} is in ${place}, the manager ${this.t.name} in ${this.a.placeOf(this.t.machine!)}: a load balancer serves one project and region`,
        );
      }
      byName.set(m.cfg.Name, ref);
      if (ref.internalIp) byIp.set(ref.internalIp, ref);
    }
    return (hostname: string, address: string) =>
      byIp.get(address) ??
      byName.get(hostname) ??
      (this.t.kind === 'cluster' && /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(hostname)
        ? { path: `zones/${this.a.zone}/instances/${hostname}`, tag: '' }
        : undefined);
  }

  async desired(snap: SwarmSnapshot, current: Current): Promise<Desired> {
    const warnings: string[] = [];
    const services = snap.services.filter((x) => x.name !== HEALTH.service);
    const listeners = desiredListeners(services, snap.nodes, snap.tasks);
    const resolve = await this.instances();
    const poolNodes = snap.nodes.filter((n) => n.ready && n.active);
    const instances: string[] = [];
    const tags = new Set<string>();
    for (const n of poolNodes) {
      const ref = resolve(n.hostname, n.address);
      if (ref) {
        instances.push(ref.path);
        if (ref.tag) tags.add(ref.tag);
      } else
        warnings.push(`node ${n.hostname} is not a known instance of the ${this.t.kind}; it gets no traffic`);
    }
    const poolHosts = new Set(poolNodes.map((n) => n.hostname));
    for (const l of listeners) {
      if (l.mode !== 'host') continue;
      const on = l.backends.filter((b) => poolHosts.has(b.node)).length;
      if (on < poolHosts.size) {
        warnings.push(
          `${l.protocol}/${l.port} (${l.services.join(', ')}) is published in host mode on ${on} of ${poolHosts.size} pool nodes; the others refuse it: run the service in global mode or publish the port in ingress mode`,
        );
      }
    }
    const hs = current.lb.healthService;
    const d = desiredLb(
      {
        cluster: this.t.name,
        region: this.a.region,
        network: this.a.network,
        listeners,
        instances,
        storeId: await this.t.store.id(),
        labels: { user: this.a.labels, membership: this.t.labels },
        health: { image: HEALTH.image ?? hs?.image ?? HEALTH.defaultImage, port: HEALTH.port },
        // A cluster's instances share its tag; machines made one by one each have their own.
        targetTags: this.t.kind === 'manager' ? [...tags] : undefined,
      },
      true,
    );
    return { d, listeners, warnings };
  }

  plan(current: Current, desired: Desired): Planned {
    const { d } = desired;
    const plan = planLb(d.desired, current.lb, {
      region: this.a.region,
      portServices: d.portServices,
      skipped: d.skipped,
    });
    refuseForeign(current.read, plan, { project: this.a.gce.project, cluster: this.t.name });
    return {
      ...plan,
      plan: { steps: plan.steps, skipped: plan.skipped },
      warnings: desired.warnings,
      where: this.where(current.lb),
    };
  }

  async apply(p: Planned, current: Current, log: Log): Promise<void> {
    try {
      await applyLb(p, new GceLbBackend(this.a.gce, this.a.region, await this.swarm()), current.lb, { log });
    } catch (err) {
      throw gceFailure('updating the load balancer failed (run "swarmup lb sync" again to finish)', err);
    }
  }

  async verify(_p: Planned, desired: Desired): Promise<InSync> {
    const after = await this.current();
    const left = this.plan(after, desired).steps;
    if (left.length) {
      throw new UserError(
        `the load balancer is not in sync after the update: ${left.map((x) => `${x.op} ${x.kind} ${x.name}`).join(', ')}`,
      );
    }
    return {
      provider: 'gce',
      address: after.lb.address?.ip,
      rules: after.lb.rules.map((r) => `${r.protocol}/${rangeText(r.range)}`),
      instances: after.lb.pool?.instances.length ?? 0,
      where: this.where(after.lb),
    };
  }

  async helperHealth(): Promise<HelperHealth | undefined> {
    const docker = await this.swarm();
    const hs = await readHealthService(docker);
    return hs ? readHealthTasks(docker, hs.image) : undefined;
  }

  /**
   * With a manager: plan the empty load balancer (the health service goes too) and apply it. Without
   * one, the health service goes with the swarm; the cloud resources go anyway, found by ownership.
   */
  async remove(o: RemoveOptions): Promise<string[]> {
    let current: Current | undefined;
    if (o.swarm) {
      try {
        current = await this.current();
      } catch (err) {
        o.log(`Note: ${oneLine(err)}; removing the cloud resources only`);
      }
    }
    if (current) {
      const none = desiredLb(
        {
          cluster: this.t.name,
          region: this.a.region,
          network: this.a.network,
          listeners: [],
          instances: [],
        },
        false,
      );
      const plan = planLb(none.desired, current.lb, { region: this.a.region });
      if (!plan.steps.length) return [];
      o.onPlan?.({ steps: plan.steps, skipped: [] });
      await this.apply({ ...plan, plan, warnings: [], where: {} }, current, o.log);
      return plan.steps.map((s) => `${s.kind} ${s.name}`);
    }
    try {
      return await removeClusterLoadBalancer(this.a.gce, this.a.region, this.t.name, o.log);
    } catch (err) {
      throw gceFailure('removing the load balancer failed (run it again to finish)', err);
    }
  }

  /** Health of each pool member from targetPools.getHealth; UNKNOWN where the API cannot tell. */
  private async poolHealth(pool: string, instances: string[]): Promise<PoolMember[]> {
    const g = this.a.gce;
    return Promise.all(
      instances.map(async (i): Promise<PoolMember> => {
        try {
          const h = await g.call(`health of ${i}`, (opts) =>
            g.targetPools.getHealth(
              {
                project: g.project,
                region: this.a.region,
                targetPool: pool,
                instanceReferenceResource: { instance: g.url(i) },
              },
              opts,
            ),
          );
          const st = h.healthStatus?.[0]?.healthState;
          return { instance: i, health: st === 'HEALTHY' || st === 'UNHEALTHY' ? st : 'UNKNOWN' };
        } catch {
          return { instance: i, health: 'UNKNOWN' };
        }
      }),
    );
  }

  async describe(swarm: () => Promise<SwarmSnapshot>): Promise<LbStatus> {
    const current = (await this.readCloud()).current;
    let pending: number | undefined;
    let swarmError: string | undefined;
    let health: HelperHealth | undefined;
    try {
      const snap = await swarm();
      const cur = await this.current();
      pending = this.plan(cur, await this.desired(snap, cur)).steps.length;
      health = await this.helperHealth();
    } catch (err) {
      swarmError = oneLine(err);
    }
    const members = current.pool ? await this.poolHealth(current.pool.name, current.pool.instances) : [];
    const healthy = members.filter((m) => m.health === 'HEALTHY').length;
    const known = members.some((m) => m.health !== 'UNKNOWN');
    return {
      provider: 'gce',
      pending,
      swarmError,
      health,
      details: {
        ...this.where(current),
        rules: current.rules.map((r) => ({
          name: r.name,
          protocol: r.protocol,
          ports: rangeText(r.range),
          address: r.ip,
        })),
        targetPool: current.pool ? { name: current.pool.name, members } : null,
        healthCheck: current.healthCheck ?? null,
        firewalls: current.firewalls.map((f) => ({
          name: f.name,
          allowed: f.allowed,
          sourceRanges: f.sourceRanges,
        })),
        healthyBackends: known ? healthy : null,
        addressName: current.address?.name ?? null,
        healthService: HEALTH.service,
        memberNames: members.map((m) => lastSegment(m.instance)),
      },
    };
  }
}
