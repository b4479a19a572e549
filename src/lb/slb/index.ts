/**
 * The Aliyun SLB as an `LbBackend`: one listener per published TCP/UDP port, the swarm's Ready and
 * Active nodes as backend servers, published-port rules in the security group. Our own SLB, or one
 * the user made (`--aliyunecs-slb-id`), where only our listeners and backends come and go. The client
 * comes from the aliyunecs driver (src/cloud/access.ts).
 */
import type { AliyunAccess } from '../../cloud/access.js';
import { describeSecurityGroups } from '../../cloud/aliyun/ecs.js';
import { describeHealthStatus } from '../../cloud/aliyun/slb.js';
import { TAG } from '../../cloud/aliyun/tags.js';
import { UserError, oneLine } from '../../errors.js';
import type { InSync, LbBackend, LbStatus, Log, RemoveOptions } from '../backend.js';
import { desiredListeners, listenerKey } from '../desired.js';
import type { Listener, SwarmNodeInfo, SwarmSnapshot } from '../model.js';
import type { LbTarget } from '../target.js';
import { applySlb } from './apply.js';
import { isOwned, planSlb, type ClusterInstance, type SlbCurrent, type SlbPlan } from './plan.js';
import { clusterInstances, readCurrent, type SlbScope } from './read.js';
import { removeClusterLoadBalancer } from './remove.js';

interface Current {
  cloud: SlbCurrent;
  instances: ClusterInstance[];
}

interface Desired {
  listeners: Listener[];
  nodes: SwarmNodeInfo[];
}

type Planned = SlbPlan & { where: Record<string, unknown> };

export class SlbLb implements LbBackend<Current, Desired, Planned> {
  readonly provider = 'slb' as const;
  private readonly scope: SlbScope;

  constructor(
    private readonly t: LbTarget,
    private readonly a: AliyunAccess,
  ) {
    this.scope = { cluster: t.name, adoptId: a.slbId, securityGroup: a.securityGroup };
  }

  private where(lb: SlbCurrent['lb']): Record<string, unknown> {
    return {
      provider: 'slb',
      region: this.a.client.regionId,
      loadBalancer: lb ? { id: lb.id, address: lb.address ?? null, adopted: lb.adopted } : null,
    };
  }

  /**
   * The swarm's instances: a cluster's by its tag; a hand-made swarm's from the stored machines its
   * nodes are (every one in the manager's region).
   */
  private async instances(): Promise<ClusterInstance[]> {
    if (this.t.kind === 'cluster') return clusterInstances(this.a.client, this.t.name);
    const home = this.a.placeOf(this.t.machine!);
    const out: ClusterInstance[] = [];
    for (const m of await this.t.machines()) {
      const place = this.a.placeOf(m.cfg.Driver);
      if (place !== home) {
        throw new UserError(
          `machine ${m.cfg.Name} is in ${place}, the manager ${this.t.name} in ${home}: a load balancer serves one region`,
        );
      }
      const ref = this.a.instanceOf(m.cfg.Driver);
      if (ref.id) out.push({ id: ref.id, name: ref.name, privateIp: ref.privateIp });
    }
    return out;
  }

  async current(): Promise<Current> {
    const [cloud, instances] = await Promise.all([readCurrent(this.a.client, this.scope), this.instances()]);
    return { cloud, instances };
  }

  async desired(snap: SwarmSnapshot): Promise<Desired> {
    return { listeners: desiredListeners(snap.services, snap.nodes, snap.tasks), nodes: snap.nodes };
  }

  plan(current: Current, desired: Desired): Planned {
    const p = planSlb({
      cluster: this.t.name,
      desired: desired.listeners,
      nodes: desired.nodes,
      instances: current.instances,
      current: current.cloud,
      adoptId: this.scope.adoptId,
    });
    return { ...p, where: this.where(current.cloud.lb) };
  }

  private made?: NonNullable<SlbCurrent['lb']>;

  async apply(p: Planned, current: Current, log: Log): Promise<void> {
    try {
      this.made = await applySlb(this.a.client, current.cloud.lb, p, current.cloud.securityGroupId, {
        cluster: this.t.name,
        labels: this.t.labels,
        user: this.a.tags,
        log,
      });
    } catch (err) {
      throw new UserError(
        `updating the load balancer failed (run "lb sync" again to finish): ${oneLine(err)}`,
      );
    }
  }

  private inSync(lb: NonNullable<SlbCurrent['lb']>, p: SlbPlan): InSync {
    return {
      provider: 'slb',
      id: lb.id,
      address: lb.address,
      listeners: p.listeners.create.length + p.listeners.update.length + p.kept,
      where: this.where(lb),
    };
  }

  async verify(p: Planned, desired: Desired): Promise<InSync> {
    const left = this.plan(await this.current(), desired).plan.steps;
    if (left.length) {
      throw new UserError(
        `the load balancer is not in sync after the update: ${left.map((x) => `${x.op} ${x.kind} ${x.name}`).join(', ')}`,
      );
    }
    return this.inSync(this.made!, p);
  }

  unchanged(p: Planned, current: Current): InSync | undefined {
    return current.cloud.lb ? this.inSync(current.cloud.lb, p) : undefined;
  }

  async remove(o: RemoveOptions): Promise<string[]> {
    const c = this.a.client;
    let keepRules = false;
    if (o.clusterGoes) {
      // Rules in a group of the cluster's own need no revoking: the group goes right after.
      const groups = await describeSecurityGroups(c, { tag: { key: TAG.cluster, value: this.t.name } });
      keepRules = groups.some((g) => g.SecurityGroupName === this.scope.securityGroup.name);
    }
    let instances: string[] | undefined;
    if (this.t.kind === 'manager') {
      instances = await this.instances()
        .then((is) => is.map((i) => i.id))
        .catch(() => [this.a.instanceOf(this.t.machine!).id].filter((x): x is string => !!x));
    }
    return removeClusterLoadBalancer(c, this.scope, o.log, keepRules, instances);
  }

  async describe(swarm: () => Promise<SwarmSnapshot>): Promise<LbStatus> {
    // The SLB's own state is shown even when the swarm (which maps a hand-made swarm's nodes) is away.
    const [current, instances] = await Promise.all([
      readCurrent(this.a.client, this.scope),
      this.instances().catch((): ClusterInstance[] => []),
    ]);
    const cloud: Current = { cloud: current, instances };
    const lb = current.lb;
    let pending: number | undefined;
    let swarmError: string | undefined;
    try {
      pending = this.plan(cloud, await this.desired(await swarm())).plan.steps.length;
    } catch (err) {
      swarmError = oneLine(err);
    }
    const health = lb ? await describeHealthStatus(this.a.client, lb.id) : [];
    const names = new Map(cloud.instances.map((i) => [i.id, i.name]));
    const nameOf = (id: string) => names.get(id) ?? id;
    const backends = [...current.backends].sort((a, b) =>
      nameOf(a).localeCompare(nameOf(b), undefined, { numeric: true }),
    );
    const listeners = current.listeners.map((l) => ({
      listener: listenerKey({ protocol: l.protocol, port: l.port }),
      owned: isOwned(l.description, this.t.name),
      status: l.status ?? null,
      backendPort: l.backendPort ?? null,
      description: l.description,
      backends: health
        .filter(
          (h) =>
            Number(h.ListenerPort ?? l.port) === l.port &&
            (!h.Protocol || h.Protocol.toLowerCase() === l.protocol),
        )
        .map((h) => ({
          server: h.ServerId,
          node: names.get(h.ServerId) ?? null,
          health: h.ServerHealthStatus,
        }))
        .sort((a, b) => nameOf(a.server).localeCompare(nameOf(b.server), undefined, { numeric: true })),
    }));
    return {
      provider: 'slb',
      pending,
      swarmError,
      details: {
        provider: 'slb',
        loadBalancer: lb
          ? { id: lb.id, name: lb.name ?? null, address: lb.address ?? null, adopted: lb.adopted }
          : null,
        listeners,
        backends: backends.map((id) => ({ server: id, node: names.get(id) ?? null })),
      },
    };
  }
}
