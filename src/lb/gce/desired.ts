/** What the cluster's GCE load balancer should be, from the swarm's listeners (pure). */
import { gceName, ownerDescription, ownerTag, resourceLabels, type Owner } from '../../cloud/gce/labels.js';
import { networkUrl } from '../../cloud/gce/api.js';
import { UserError } from '../../errors.js';
import type { Listener } from '../model.js';
import type { PlanSkip } from '../plan.js';
import type { DesiredLb, FirewallRuleSpec, LbProtocol } from './model.js';
import { chunk, collapsePorts, firewallPort } from './ranges.js';

/** Where GCE's health checkers (and network LB probes) come from: the firewall must let them in. */
export const HEALTH_CHECK_RANGES = ['130.211.0.0/22', '35.191.0.0/16', '209.85.152.0/22', '209.85.204.0/22'];

/**
 * The health check: every node runs a tiny HTTP server as a global swarm service publishing a
 * host-mode port, and the legacy HTTP health check asks it for `/`. A node is healthy when its
 * Docker engine runs swarm tasks and the node is reachable on a published host port through the
 * firewall: what serving published ports needs. Kubernetes' timing (8 s, 1 s, 1 up, 3 down).
 */
export const HEALTH = {
  service: 'swarmup-lb-health',
  port: Number(process.env.SWARMUP_LB_HEALTH_PORT) || 10256,
  /** Set: the image to use. Unset: keep the running service's image, else `defaultImage`. */
  image: process.env.SWARMUP_LB_HEALTH_IMAGE || undefined,
  defaultImage: 'busybox:1.36',
  path: '/',
  checkIntervalSec: 8,
  timeoutSec: 1,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
};

/** A firewall rule holds at most 100 ports or port ranges. */
export const MAX_FIREWALL_PORTS = 100;

export function lbNames(cluster: string) {
  const prefix = `swarmup-${cluster}`;
  return {
    address: `${prefix}-lb`,
    firewall: (i: number) => (i === 0 ? `${prefix}-lb` : `${prefix}-lb-${i + 1}`),
    firewallPrefix: `${prefix}-lb`,
    healthFirewall: `${prefix}-lb-health`,
    healthCheck: `${prefix}-lb`,
    pool: `${prefix}-lb`,
    rule: (protocol: LbProtocol, [lo, hi]: readonly [number, number]) =>
      gceName(prefix, `${protocol}${lo}${lo === hi ? '' : `-${hi}`}`),
    rulePrefix: `${prefix}-`,
  };
}

export interface LbInputs {
  cluster: string;
  region: string;
  network: string;
  listeners: Listener[];
  /** `zones/<z>/instances/<n>` of the Ready, Active nodes. */
  instances: string[];
  storeId?: string;
  /** `--google-labels` and the cluster's labels (`--label`, `swarmup.expires`), as on its instances. */
  labels?: { user?: Record<string, string>; membership?: Record<string, string> };
  health?: { image: string; port: number };
  /** Network tags of the instances the firewall rules let traffic in to (default: the cluster's). */
  targetTags?: string[];
}

export interface DesiredResult {
  desired: DesiredLb;
  skipped: PlanSkip[];
  /** `tcp/80` → services publishing it, for the plan's detail. */
  portServices: Map<string, string[]>;
}

/** The desired load balancer; `present: false` is the empty one (`lb rm`). */
export function desiredLb(i: LbInputs, present = true): DesiredResult {
  const names = lbNames(i.cluster);
  const owner: Owner = { kind: 'cluster', name: i.cluster };
  const labels = resourceLabels({
    user: i.labels?.user,
    membership: i.labels?.membership,
    cluster: i.cluster,
    role: 'lb',
    store: i.storeId,
  });
  const desc = (role: string) => ownerDescription(owner, role);
  const skipped: PlanSkip[] = [];
  const ports: Record<LbProtocol, number[]> = { tcp: [], udp: [] };
  const portServices = new Map<string, string[]>();
  const health = i.health ?? { image: HEALTH.image ?? HEALTH.defaultImage, port: HEALTH.port };
  for (const l of i.listeners) {
    if (l.protocol !== 'tcp' && l.protocol !== 'udp') {
      skipped.push({
        kind: 'forwarding-rule',
        name: `${l.protocol}/${l.port}`,
        reason: `a GCE target pool balances TCP and UDP only (${l.services.join(', ')})`,
      });
      continue;
    }
    if (l.port === health.port && l.protocol === 'tcp') {
      throw new UserError(
        `published port tcp/${l.port} (${l.services.join(', ')}) is the load balancer's health port: publish another port or set SWARMUP_LB_HEALTH_PORT`,
      );
    }
    ports[l.protocol].push(l.port);
    portServices.set(`${l.protocol}/${l.port}`, l.services);
  }
  if (!present) {
    return {
      desired: {
        firewalls: [],
        ports: { tcp: [], udp: [] },
        ruleName: names.rule,
        ruleDescription: '',
        ruleLabels: {},
      },
      skipped: [],
      portServices,
    };
  }
  const tags = i.targetTags?.length ? [...new Set(i.targetTags)].sort() : [ownerTag(owner)];
  const network = networkUrl(i);
  // Published ports, collapsed into ranges per protocol; more than 100 entries → more rules.
  const entries: Array<{ protocol: LbProtocol; port: string }> = [];
  for (const protocol of ['tcp', 'udp'] as LbProtocol[]) {
    for (const r of collapsePorts(ports[protocol])) entries.push({ protocol, port: firewallPort(r) });
  }
  const firewalls: FirewallRuleSpec[] = chunk(entries, MAX_FIREWALL_PORTS).map((c, n) => ({
    name: names.firewall(n),
    description: desc('lb-firewall'),
    network,
    allowed: (['tcp', 'udp'] as const)
      .map((p) => ({ IPProtocol: p, ports: c.filter((e) => e.protocol === p).map((e) => e.port) }))
      .filter((a) => a.ports.length > 0),
    sourceRanges: ['0.0.0.0/0', ...HEALTH_CHECK_RANGES],
    targetTags: tags,
  }));
  firewalls.push({
    name: names.healthFirewall,
    description: desc('lb-health-firewall'),
    network,
    allowed: [{ IPProtocol: 'tcp', ports: [String(health.port)] }],
    sourceRanges: [...HEALTH_CHECK_RANGES],
    targetTags: tags,
  });
  return {
    desired: {
      address: { name: names.address, description: desc('lb-address'), labels },
      firewalls,
      healthCheck: {
        name: names.healthCheck,
        description: desc('lb-health-check'),
        port: health.port,
        requestPath: HEALTH.path,
        checkIntervalSec: HEALTH.checkIntervalSec,
        timeoutSec: HEALTH.timeoutSec,
        healthyThreshold: HEALTH.healthyThreshold,
        unhealthyThreshold: HEALTH.unhealthyThreshold,
      },
      pool: {
        name: names.pool,
        description: desc('lb-target-pool'),
        healthCheck: `global/httpHealthChecks/${names.healthCheck}`,
        instances: [...new Set(i.instances)].sort(),
      },
      ports,
      ruleName: names.rule,
      ruleDescription: desc('lb-forwarding-rule'),
      ruleLabels: labels,
      healthService: { name: HEALTH.service, image: health.image, port: health.port },
    },
    skipped,
    portServices,
  };
}
