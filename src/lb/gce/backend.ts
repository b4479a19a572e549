/** Reading the cluster's load balancer from GCE (owned resources only) and changing it. */
import type Docker from 'dockerode';
import {
  resourcePath,
  type Address,
  type Firewall,
  type ForwardingRule,
  type Gce,
  type HttpHealthCheck,
  type TargetPool,
} from '../../cloud/gce/api.js';
import { ownedBy, parseOwner, type Owner } from '../../cloud/gce/labels.js';
import { UserError } from '../../errors.js';
import type { Plan } from '../plan.js';
import { chunk, parseRange, portRange } from './ranges.js';
import { HEALTH, lbNames } from './desired.js';
import type {
  AddressSpec,
  CurrentLb,
  FirewallRuleCur,
  FirewallRuleSpec,
  HealthCheckSpec,
  HealthServiceCur,
  HealthServiceSpec,
  LbBackend,
  PoolSpec,
  RuleCur,
  RuleSpec,
} from './model.js';

export interface ReadResult {
  current: CurrentLb;
  /** Resources with our fixed names that the cluster does not own (`target pool swarmup-c-lb`). */
  foreign: string[];
  /** Forwarding rules named with the cluster's prefix that it does not own: left alone. */
  unownedRules: string[];
}

/**
 * Refuse to sync when a resource the plan needs is someone else's: one of our fixed names, or a
 * forwarding rule the plan would create. Nothing has been changed when this throws.
 */
export function refuseForeign(
  read: ReadResult,
  plan: Plan,
  where: { project: string; cluster: string },
): void {
  const taken = new Set(read.unownedRules);
  const clash = [
    ...read.foreign,
    ...plan.steps
      .filter((s) => s.op === 'create' && s.kind === 'forwarding-rule' && taken.has(s.name))
      .map((s) => `forwarding rule ${s.name}`),
  ];
  if (!clash.length) return;
  const one = clash.length === 1;
  throw new UserError(
    `${clash.join(', ')} exist${one ? 's' : ''} in project ${where.project} but ${one ? 'is' : 'are'} not owned by cluster "${where.cluster}" (no swarmup ownership in the description): remove or rename ${one ? 'it' : 'them'}`,
  );
}

/**
 * What the cluster owns of its load balancer in `region`: five reads (address, the LB firewall rules
 * by name, health check, target pool, the cluster's forwarding rules by name), whatever the number
 * of services. Anything without the cluster's ownership description is left out.
 */
export async function readLb(gce: Gce, region: string, cluster: string): Promise<ReadResult> {
  const names = lbNames(cluster);
  const owner: Owner = { kind: 'cluster', name: cluster };
  const p = gce.project;
  const foreign: string[] = [];
  const [address, firewalls, healthCheck, pool, rules] = await Promise.all([
    gce.find(`reading address ${names.address}`, (o) =>
      gce.addresses.get({ project: p, region, address: names.address }, o),
    ),
    gce.call('listing firewall rules', (o) =>
      gce.firewalls.list({ project: p, filter: `name eq "${names.firewallPrefix}.*"` }, o),
    ),
    gce.restFind<HttpHealthCheck>(
      `reading health check ${names.healthCheck}`,
      `global/httpHealthChecks/${names.healthCheck}`,
    ),
    gce.find(`reading target pool ${names.pool}`, (o) =>
      gce.targetPools.get({ project: p, region, targetPool: names.pool }, o),
    ),
    gce.call(`listing forwarding rules in ${region}`, (o) =>
      gce.forwardingRules.list({ project: p, region, filter: `name eq "${names.rulePrefix}.*"` }, o),
    ),
  ]);
  const mine = <T extends { name?: string | null; description?: string | null }>(
    r: T | undefined,
    role: string,
    kind: string,
  ): T | undefined => {
    if (!r) return undefined;
    if (ownedBy(r.description, owner) && parseOwner(r.description)?.role === role) return r;
    foreign.push(`${kind} ${String(r.name)}`);
    return undefined;
  };
  const a = mine<Address>(address, 'lb-address', 'address');
  const hc = mine<HttpHealthCheck>(healthCheck, 'lb-health-check', 'health check');
  const tp = mine<TargetPool>(pool, 'lb-target-pool', 'target pool');
  const ownFirewall = (f: Firewall) =>
    ownedBy(f.description, owner) && /^lb-/.test(parseOwner(f.description)?.role ?? '');
  // The prefix also matches other clusters' rules (`swarmup-c-lb-swarm` of cluster `c-lb`): only our
  // exact names count as taken.
  const fixedFirewall = new RegExp(`^${names.firewallPrefix}(-\\d+|-health)?$`);
  for (const f of firewalls)
    if (!ownFirewall(f) && fixedFirewall.test(String(f.name)))
      foreign.push(`firewall rule ${String(f.name)}`);
  const unownedRules = rules.filter((r) => !ownedBy(r.description, owner)).map((r) => String(r.name));
  const current: CurrentLb = {
    address: a
      ? { name: String(a.name), ip: String(a.address ?? ''), description: a.description ?? '' }
      : undefined,
    firewalls: firewalls.filter(ownFirewall).map((f): FirewallRuleCur => ({
      name: String(f.name),
      description: f.description ?? '',
      network: resourcePath(f.network),
      allowed: (f.allowed ?? []).map((x) => ({ IPProtocol: String(x.IPProtocol), ports: x.ports ?? [] })),
      sourceRanges: f.sourceRanges ?? [],
      targetTags: f.targetTags ?? [],
      disabled: !!f.disabled,
    })),
    healthCheck: hc
      ? {
          name: String(hc.name),
          description: hc.description ?? '',
          port: Number(hc.port ?? 80),
          requestPath: hc.requestPath ?? '/',
          checkIntervalSec: Number(hc.checkIntervalSec ?? 5),
          timeoutSec: Number(hc.timeoutSec ?? 5),
          healthyThreshold: Number(hc.healthyThreshold ?? 2),
          unhealthyThreshold: Number(hc.unhealthyThreshold ?? 2),
        }
      : undefined,
    pool: tp
      ? {
          name: String(tp.name),
          description: tp.description ?? '',
          healthChecks: (tp.healthChecks ?? []).map(resourcePath),
          instances: (tp.instances ?? []).map(resourcePath).sort(),
        }
      : undefined,
    rules: rules.flatMap((r: ForwardingRule): RuleCur[] => {
      if (!ownedBy(r.description, owner)) return [];
      const range = parseRange(r.portRange);
      const protocol = String(r.IPProtocol ?? '').toLowerCase();
      if (!range || (protocol !== 'tcp' && protocol !== 'udp')) {
        // Ours but not a shape we make: replace it.
        return [
          {
            name: String(r.name),
            description: r.description ?? '',
            protocol: 'tcp',
            range: [0, 0],
            ip: '',
            target: '',
          },
        ];
      }
      return [
        {
          name: String(r.name),
          description: r.description ?? '',
          protocol,
          range,
          ip: String(r.IPAddress ?? ''),
          target: resourcePath(r.target),
        },
      ];
    }),
  };
  return { current, foreign, unownedRules };
}

/** The health service on the swarm, if it is there. */
export async function readHealthService(docker: Docker): Promise<HealthServiceCur | undefined> {
  let s: {
    ID: string;
    Version?: { Index?: number };
    Spec?: {
      TaskTemplate?: { ContainerSpec?: { Image?: string } };
      EndpointSpec?: { Ports?: Array<{ PublishedPort?: number }> };
    };
  };
  try {
    s = await docker.getService(HEALTH.service).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  return {
    id: s.ID,
    version: s.Version?.Index ?? 0,
    name: HEALTH.service,
    image: (s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '').replace(/@sha256:[0-9a-f]+$/, ''),
    port: s.Spec?.EndpointSpec?.Ports?.[0]?.PublishedPort ?? 0,
  };
}

/** The service spec: busybox httpd on every node answering `ok <node>` on a host-mode port. */
export function healthServiceSpec(s: HealthServiceSpec): Record<string, unknown> {
  const script =
    'mkdir -p /tmp/swarmup-health && echo "ok $(hostname)" > /tmp/swarmup-health/index.html && exec httpd -f -p 8080 -h /tmp/swarmup-health';
  return {
    Name: s.name,
    Labels: { 'swarmup.lb': 'health' },
    TaskTemplate: {
      ContainerSpec: { Image: s.image, Command: ['/bin/sh', '-c', script], Hostname: '{{.Node.Hostname}}' },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Resources: { Limits: { MemoryBytes: 32 * 1024 * 1024, NanoCPUs: 100_000_000 } },
    },
    Mode: { Global: {} },
    EndpointSpec: {
      Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: s.port, PublishMode: 'host' }],
    },
  };
}

/** The real backend: Compute API calls (waited) and, for the health service, the swarm manager. */
export class GceLbBackend implements LbBackend {
  constructor(
    private readonly gce: Gce,
    private readonly region: string,
    private readonly docker?: Docker,
  ) {}

  private get p() {
    return this.gce.project;
  }

  private swarm(): Docker {
    if (!this.docker) throw new UserError('the health service needs a reachable manager of the cluster');
    return this.docker;
  }

  async ensureHealthService(s: HealthServiceSpec, cur?: HealthServiceCur): Promise<void> {
    const spec = healthServiceSpec(s);
    if (cur)
      await this.swarm()
        .getService(cur.id)
        .update({ ...spec, version: cur.version });
    else await this.swarm().createService(spec);
  }

  async removeHealthService(cur: HealthServiceCur): Promise<void> {
    try {
      await this.swarm().getService(cur.id).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }

  async createAddress(a: AddressSpec): Promise<string> {
    const g = this.gce;
    await g.mutate(`reserving address ${a.name}`, (o, requestId) =>
      g.addresses.insert(
        {
          requestId,
          project: this.p,
          region: this.region,
          addressResource: { name: a.name, description: a.description, addressType: 'EXTERNAL' },
        },
        o,
      ),
    );
    const got = await g.call(`reading address ${a.name}`, (o) =>
      g.addresses.get({ project: this.p, region: this.region, address: a.name }, o),
    );
    if (!got.address) throw new Error(`address ${a.name} has no IP after it was reserved`);
    // Labels of an address "can only be added or modified by the setLabels method": insert ignores them.
    if (Object.keys(a.labels).length)
      await g.mutate(`labelling address ${a.name}`, (o, requestId) =>
        g.addresses.setLabels(
          {
            requestId,
            project: this.p,
            region: this.region,
            resource: a.name,
            regionSetLabelsRequestResource: { labels: a.labels, labelFingerprint: got.labelFingerprint },
          },
          o,
        ),
      );
    return got.address;
  }

  async deleteAddress(name: string): Promise<void> {
    const g = this.gce;
    await g.remove(`releasing address ${name}`, (o, requestId) =>
      g.addresses.delete({ requestId, project: this.p, region: this.region, address: name }, o),
    );
  }

  private firewallResource(f: FirewallRuleSpec) {
    return {
      name: f.name,
      description: f.description,
      network: f.network,
      direction: 'INGRESS',
      allowed: f.allowed,
      sourceRanges: f.sourceRanges,
      targetTags: f.targetTags,
      disabled: false,
    };
  }

  async createFirewall(f: FirewallRuleSpec): Promise<void> {
    const g = this.gce;
    await g.mutate(`creating firewall rule ${f.name}`, (o, requestId) =>
      g.firewalls.insert({ requestId, project: this.p, firewallResource: this.firewallResource(f) }, o),
    );
  }

  async patchFirewall(f: FirewallRuleSpec): Promise<void> {
    const g = this.gce;
    await g.mutate(`updating firewall rule ${f.name}`, (o, requestId) =>
      g.firewalls.patch(
        { requestId, project: this.p, firewall: f.name, firewallResource: this.firewallResource(f) },
        o,
      ),
    );
  }

  async deleteFirewall(name: string): Promise<void> {
    const g = this.gce;
    await g.remove(`removing firewall rule ${name}`, (o, requestId) =>
      g.firewalls.delete({ requestId, project: this.p, firewall: name }, o),
    );
  }

  private hcBody(h: HealthCheckSpec): HttpHealthCheck {
    return {
      name: h.name,
      description: h.description,
      port: h.port,
      requestPath: h.requestPath,
      checkIntervalSec: h.checkIntervalSec,
      timeoutSec: h.timeoutSec,
      healthyThreshold: h.healthyThreshold,
      unhealthyThreshold: h.unhealthyThreshold,
    };
  }

  async createHealthCheck(h: HealthCheckSpec): Promise<void> {
    await this.gce.restMutate(
      `creating health check ${h.name}`,
      'POST',
      'global/httpHealthChecks',
      this.hcBody(h),
    );
  }

  async patchHealthCheck(h: HealthCheckSpec): Promise<void> {
    await this.gce.restMutate(
      `updating health check ${h.name}`,
      'PATCH',
      `global/httpHealthChecks/${h.name}`,
      this.hcBody(h),
    );
  }

  async deleteHealthCheck(name: string): Promise<void> {
    await this.gce.restRemove(`removing health check ${name}`, `global/httpHealthChecks/${name}`);
  }

  async createPool(pool: PoolSpec): Promise<void> {
    const g = this.gce;
    await g.mutate(`creating target pool ${pool.name}`, (o, requestId) =>
      g.targetPools.insert(
        {
          requestId,
          project: this.p,
          region: this.region,
          targetPoolResource: {
            name: pool.name,
            description: pool.description,
            healthChecks: [g.url(pool.healthCheck)],
            instances: pool.instances.map((i) => g.url(i)),
            sessionAffinity: 'NONE',
          },
        },
        o,
      ),
    );
  }

  async deletePool(name: string): Promise<void> {
    const g = this.gce;
    await g.remove(`removing target pool ${name}`, (o, requestId) =>
      g.targetPools.delete({ requestId, project: this.p, region: this.region, targetPool: name }, o),
    );
  }

  async addInstances(pool: string, instances: string[]): Promise<void> {
    const g = this.gce;
    for (const c of chunk(instances, 1000)) {
      await g.mutate(`adding ${c.length} instance(s) to target pool ${pool}`, (o, requestId) =>
        g.targetPools.addInstance(
          {
            requestId,
            project: this.p,
            region: this.region,
            targetPool: pool,
            targetPoolsAddInstanceRequestResource: { instances: c.map((i) => ({ instance: g.url(i) })) },
          },
          o,
        ),
      );
    }
  }

  async removeInstances(pool: string, instances: string[]): Promise<void> {
    const g = this.gce;
    for (const c of chunk(instances, 1000)) {
      await g.mutate(`removing ${c.length} instance(s) from target pool ${pool}`, (o, requestId) =>
        g.targetPools.removeInstance(
          {
            requestId,
            project: this.p,
            region: this.region,
            targetPool: pool,
            targetPoolsRemoveInstanceRequestResource: { instances: c.map((i) => ({ instance: g.url(i) })) },
          },
          o,
        ),
      );
    }
  }

  async addPoolHealthCheck(pool: string, healthCheck: string): Promise<void> {
    const g = this.gce;
    await g.mutate(`adding health check to target pool ${pool}`, (o, requestId) =>
      g.targetPools.addHealthCheck(
        {
          requestId,
          project: this.p,
          region: this.region,
          targetPool: pool,
          targetPoolsAddHealthCheckRequestResource: { healthChecks: [{ healthCheck: g.url(healthCheck) }] },
        },
        o,
      ),
    );
  }

  async removePoolHealthCheck(pool: string, healthCheck: string): Promise<void> {
    const g = this.gce;
    await g.mutate(`removing health check from target pool ${pool}`, (o, requestId) =>
      g.targetPools.removeHealthCheck(
        {
          requestId,
          project: this.p,
          region: this.region,
          targetPool: pool,
          targetPoolsRemoveHealthCheckRequestResource: {
            healthChecks: [{ healthCheck: g.url(healthCheck) }],
          },
        },
        o,
      ),
    );
  }

  async createRule(r: RuleSpec, ip: string): Promise<void> {
    const g = this.gce;
    await g.mutate(`creating forwarding rule ${r.name}`, (o, requestId) =>
      g.forwardingRules.insert(
        {
          requestId,
          project: this.p,
          region: this.region,
          forwardingRuleResource: {
            name: r.name,
            description: r.description,
            IPAddress: ip,
            IPProtocol: r.protocol.toUpperCase(),
            portRange: portRange(r.range),
            target: g.url(`regions/${this.region}/targetPools/${r.pool}`),
            loadBalancingScheme: 'EXTERNAL',
          },
        },
        o,
      ),
    );
    // Labels of a forwarding rule "can only be added or modified by the setLabels method": insert
    // ignores them, so they are set once the rule exists (with the fingerprint it has then).
    if (Object.keys(r.labels).length) {
      const rule = await g.call(`reading forwarding rule ${r.name}`, (o) =>
        g.forwardingRules.get({ project: this.p, region: this.region, forwardingRule: r.name }, o),
      );
      await g.mutate(`labelling forwarding rule ${r.name}`, (o, requestId) =>
        g.forwardingRules.setLabels(
          {
            requestId,
            project: this.p,
            region: this.region,
            resource: r.name,
            regionSetLabelsRequestResource: { labels: r.labels, labelFingerprint: rule.labelFingerprint },
          },
          o,
        ),
      );
    }
  }

  async deleteRule(name: string): Promise<void> {
    const g = this.gce;
    await g.remove(`removing forwarding rule ${name}`, (o, requestId) =>
      g.forwardingRules.delete({ requestId, project: this.p, region: this.region, forwardingRule: name }, o),
    );
  }
}
