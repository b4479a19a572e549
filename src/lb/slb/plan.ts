/**
 * The SLB plan, pure: what an Aliyun load balancer in front of a swarm should have, compared with what
 * it has. One listener per published TCP/UDP port (ours carry an ownership Description; others are
 * never touched), the cluster's Ready and Active nodes as backend servers, and security-group rules
 * that let clients reach the published ports (a layer-4 SLB keeps the client's address).
 */
import type { HealthCheck, ListenerConfig, ListenerInfo, SlbProtocol } from '../../cloud/aliyun/slb.js';
import { compareListeners, listenerKey } from '../desired.js';
import type { Listener, SwarmNodeInfo } from '../model.js';
import { diffByKey, diffSteps, orderSteps, type Plan, type PlanSkip, type PlanStep } from '../plan.js';

/**
 * Listener health check: a TCP connect (UDP: a probe) to the backend port every 2 s, 2 s timeout;
 * a node joins after 2 good checks and leaves after 3 bad ones. Host-mode ports answer only on nodes
 * that run a task, so the check is what keeps traffic off the others.
 */
export const HEALTH_CHECK: HealthCheck = { intervalS: 2, timeoutS: 2, healthy: 2, unhealthy: 3 };

/** Kinds in dependency order (deletes run the other way round). */
export const KINDS = ['load-balancer', 'security-rule', 'backend', 'listener'] as const;

/** Source of the published-port rules: anyone (a layer-4 SLB passes the client's address through). */
export const PUBLIC_CIDR = '0.0.0.0/0';

const DESCRIPTION_MAX = 80;

export const ownerPrefix = (cluster: string) => `swarmup/${cluster}`;

/** `swarmup/<cluster>/<services>`: letters, digits and `-/._` only, as SLB descriptions allow. */
export function listenerDescription(cluster: string, services: readonly string[]): string {
  const d = `${ownerPrefix(cluster)}/${services.join('.') || '-'}`.replace(/[^a-zA-Z0-9\-/._]/g, '_');
  return d.slice(0, DESCRIPTION_MAX);
}

/** A listener is ours when its Description says so; nothing else is ever changed. */
export const isOwned = (description: string | undefined, cluster: string): boolean =>
  !!description &&
  (description === ownerPrefix(cluster) || description.startsWith(`${ownerPrefix(cluster)}/`));

/** The Description of our published-port security-group rules. */
export const ruleDescription = (cluster: string) => `${ownerPrefix(cluster)}/lb`;

export interface LoadBalancerInfo {
  id: string;
  name?: string;
  address?: string;
  /** Given with --aliyunecs-slb-id: never deleted, only our listeners and backends leave it. */
  adopted: boolean;
}

/**
 * A security-group rule for published ports: a run of consecutive ports of one protocol, so that 200
 * services on ports 20000-20199 take one rule (a group holds at most 200).
 */
export interface PortRule {
  protocol: SlbProtocol;
  from: number;
  to: number;
}

/** Published ports as rules: consecutive ports of a protocol merged into one range. */
export function portRules(ports: ReadonlyArray<{ protocol: SlbProtocol; port: number }>): PortRule[] {
  const out: PortRule[] = [];
  const sorted = [...ports].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  for (const { protocol, port } of sorted) {
    const last = out[out.length - 1];
    if (last && last.protocol === protocol && port <= last.to + 1) last.to = Math.max(last.to, port);
    else out.push({ protocol, from: port, to: port });
  }
  // Listed like listeners: by port, then protocol.
  return out.sort((a, b) => a.from - b.from || a.protocol.localeCompare(b.protocol));
}

export const portRuleName = (r: PortRule) =>
  `${r.protocol}/${r.from === r.to ? r.from : `${r.from}-${r.to}`}`;

export interface ClusterInstance {
  id: string;
  name: string;
  privateIp?: string;
}

/** What the load balancer and the cluster's security group have now. */
export interface SlbCurrent {
  lb?: LoadBalancerInfo;
  /** Our own SLBs not in use (replaced by an adopted one, or a duplicate): deleted by the plan. */
  stale?: LoadBalancerInfo[];
  /** Every listener, ours or not. */
  listeners: ListenerInfo[];
  /** Backend server ids of the load balancer. */
  backends: string[];
  /** The cluster's security group (undefined when it has none: no rules are planned). */
  securityGroupId?: string;
  /** Our published-port rules in that group. */
  rules: PortRule[];
}

export interface SlbPlanInput {
  cluster: string;
  desired: Listener[];
  nodes: SwarmNodeInfo[];
  instances: ClusterInstance[];
  current: SlbCurrent;
  /** The SLB named by --aliyunecs-slb-id, when the cluster adopts one. */
  adoptId?: string;
}

export interface SlbPlan {
  plan: Plan;
  createLb: boolean;
  /** Ids of our own SLBs that are not in use. */
  deleteLbs: string[];
  listeners: {
    delete: ListenerInfo[];
    create: ListenerConfig[];
    update: Array<{ from: ListenerInfo; to: ListenerConfig }>;
  };
  /** Our listeners that stay as they are. */
  kept: number;
  backends: { add: string[]; remove: string[] };
  rules: { add: PortRule[]; remove: PortRule[] };
  /** Things the user should know (nodes that are not instances of the cluster, ...). */
  warnings: string[];
}

const sameHealthCheck = (a: HealthCheck | undefined, b: HealthCheck) =>
  !a ||
  (a.intervalS === b.intervalS &&
    a.timeoutS === b.timeoutS &&
    a.healthy === b.healthy &&
    a.unhealthy === b.unhealthy);

/** An owned listener needs no call when its backend port, description and health check match and it runs. */
export function listenerInSync(have: ListenerInfo, want: ListenerConfig): boolean {
  return (
    have.backendPort === want.backendPort &&
    have.description === want.description &&
    sameHealthCheck(have.healthCheck, want.healthCheck) &&
    (have.status ?? 'running') === 'running'
  );
}

/** What an update of an owned listener does: set attributes, start, or both. */
export function updateActions(have: ListenerInfo, want: ListenerConfig): { set: boolean; start: boolean } {
  return {
    set: have.description !== want.description || !sameHealthCheck(have.healthCheck, want.healthCheck),
    start: (have.status ?? 'running') !== 'running',
  };
}

const keyOf = (l: { protocol: string; port: number }) =>
  listenerKey({ protocol: l.protocol.toLowerCase(), port: l.port });

/** The backend server ids for the Ready and Active nodes (matched by private IP, else by name). */
export function desiredBackends(
  nodes: SwarmNodeInfo[],
  instances: ClusterInstance[],
): { ids: string[]; names: Map<string, string>; warnings: string[] } {
  const byIp = new Map(instances.filter((i) => i.privateIp).map((i) => [i.privateIp!, i]));
  const byName = new Map(instances.map((i) => [i.name, i]));
  const ids = new Set<string>();
  const names = new Map<string, string>();
  const warnings: string[] = [];
  for (const n of nodes.filter((x) => x.ready && x.active)) {
    const inst = byIp.get(n.address) ?? byName.get(n.hostname);
    if (!inst) {
      warnings.push(
        `node ${n.hostname} (${n.address}) is not an instance of this cluster; it gets no traffic`,
      );
      continue;
    }
    ids.add(inst.id);
    names.set(inst.id, n.hostname);
  }
  for (const i of instances) if (!names.has(i.id)) names.set(i.id, i.name);
  return { ids: [...ids].sort(), names, warnings };
}

/** Host-mode ports answer only where a task runs: say so when that is not every backend. */
function hostModeWarnings(kept: ListenerConfig[], desired: Listener[], backends: number): string[] {
  const keep = new Set(kept.map(keyOf));
  return desired
    .filter((l) => l.mode === 'host' && keep.has(listenerKey(l)) && l.backends.length < backends)
    .map(
      (l) =>
        `${listenerKey(l)} (${l.services.join(', ')}) is published in host mode on ${l.backends.length} of ${backends} nodes; ` +
        'the health check keeps traffic off the others (global mode or an ingress port serves on all)',
    );
}

/** Compute the plan: listeners, backends and rules, each diffed, then ordered as the Alibaba controller does. */
export function planSlb(input: SlbPlanInput): SlbPlan {
  const { cluster, current } = input;
  const skipped: PlanSkip[] = [];
  const warnings: string[] = [];

  // Listeners: ours by Description; a desired port held by a listener we do not own is skipped.
  const owned = current.listeners.filter((l) => isOwned(l.description, cluster));
  const foreign = new Map(
    current.listeners.filter((l) => !isOwned(l.description, cluster)).map((l) => [keyOf(l), l]),
  );
  const wanted: ListenerConfig[] = [];
  for (const l of [...input.desired].sort(compareListeners)) {
    if (l.protocol !== 'tcp' && l.protocol !== 'udp') {
      skipped.push({
        kind: 'listener',
        name: listenerKey(l),
        reason: `${l.protocol.toUpperCase()} is not supported by SLB`,
      });
      continue;
    }
    const other = foreign.get(listenerKey(l));
    if (other) {
      skipped.push({
        kind: 'listener',
        name: listenerKey(l),
        reason: `the port is held by a listener swarmup does not own${other.description ? ` ("${other.description}")` : ''}; left alone`,
      });
      continue;
    }
    wanted.push({
      protocol: l.protocol,
      port: l.port,
      backendPort: l.backendPort,
      description: listenerDescription(cluster, l.services),
      healthCheck: HEALTH_CHECK,
    });
  }
  const d = diffByKey<ListenerConfig | ListenerInfo>(wanted, owned, keyOf, (w, h) =>
    listenerInSync(h as ListenerInfo, w as ListenerConfig),
  );
  const lDelete = d.delete as ListenerInfo[];
  const lCreate = d.create as ListenerConfig[];
  const lUpdate: Array<{ from: ListenerInfo; to: ListenerConfig }> = [];
  for (const u of d.update as Array<{ from: ListenerInfo; to: ListenerConfig }>) {
    // SLB cannot change a listener's backend port: delete it and create it again.
    if (u.from.backendPort !== u.to.backendPort) {
      lDelete.push(u.from);
      lCreate.push(u.to);
    } else lUpdate.push(u);
  }
  lDelete.sort(compareListeners);
  lCreate.sort(compareListeners);
  const services = (desc: string) => desc.slice(ownerPrefix(cluster).length + 1) || '-';
  const steps: PlanStep[] = [
    ...diffSteps<ListenerConfig | ListenerInfo>(
      { delete: lDelete, create: lCreate, update: lUpdate, unchanged: [] },
      {
        kind: 'listener',
        name: (t) => keyOf(t),
        create: (t) => `→ backend port ${(t as ListenerConfig).backendPort} (${services(t.description)})`,
        delete: (t) => `(${services(t.description)})`,
        update: (from, to) => {
          const a = updateActions(from as ListenerInfo, to as ListenerConfig);
          return `(${[a.set ? 'description, health check' : '', a.start ? 'start' : ''].filter(Boolean).join(' and ')})`;
        },
      },
    ),
  ];

  // The load balancer itself: made only when there is something to listen on.
  const createLb = !current.lb && lCreate.length > 0;
  const deleteLbs = (current.stale ?? []).map((lb) => lb.id);
  for (const lb of current.stale ?? []) {
    steps.push({
      op: 'delete',
      kind: 'load-balancer',
      name: lb.id,
      detail: current.lb?.adopted ? `(replaced by ${current.lb.id})` : '(a second one of this cluster)',
    });
  }
  if (createLb) {
    steps.push({
      op: 'create',
      kind: 'load-balancer',
      name: `swarmup-${cluster}`,
      detail: '(internet, pay by traffic)',
    });
  }

  // Backends: the Ready and Active nodes. On an adopted SLB only this cluster's instances may leave.
  const hasLb = !!current.lb || createLb;
  const want = desiredBackends(input.nodes, input.instances);
  warnings.push(...want.warnings, ...hostModeWarnings(wanted, input.desired, want.ids.length));
  const ours = new Set(input.instances.map((i) => i.id));
  const have = new Set(current.backends);
  const add = hasLb ? want.ids.filter((id) => !have.has(id)) : [];
  const wantSet = new Set(want.ids);
  const remove = current.backends.filter((id) => !wantSet.has(id) && (!current.lb?.adopted || ours.has(id)));
  const label = (id: string) => (want.names.get(id) ? `${want.names.get(id)} (${id})` : id);
  const byLabel = (a: string, b: string) => label(a).localeCompare(label(b), undefined, { numeric: true });
  for (const id of [...remove].sort(byLabel)) {
    steps.push({ op: 'delete', kind: 'backend', name: label(id), detail: '' });
  }
  for (const id of [...add].sort(byLabel)) {
    steps.push({ op: 'create', kind: 'backend', name: label(id), detail: '(weight 100)' });
  }

  // Published-port rules in the cluster's security group, for the listeners we keep.
  let rules: SlbPlan['rules'] = { add: [], remove: [] };
  if (current.securityGroupId && hasLb) {
    // A range that grows or shrinks is a different rule: the old one goes, the new one comes.
    const r = diffByKey(portRules(wanted), current.rules, portRuleName, () => true);
    rules = { add: r.create, remove: r.delete };
    steps.push(
      ...diffSteps(
        { ...r, update: [] },
        {
          kind: 'security-rule',
          name: portRuleName,
          create: () => `from ${PUBLIC_CIDR}`,
          delete: () => `from ${PUBLIC_CIDR}`,
          update: () => '',
        },
      ),
    );
  } else if (!current.securityGroupId && wanted.length) {
    warnings.push(
      'the cluster has no security group of its own: open the published ports to clients yourself',
    );
  }

  return {
    plan: { steps: orderSteps(steps, KINDS), skipped },
    createLb,
    deleteLbs,
    listeners: { delete: lDelete, create: lCreate, update: lUpdate },
    kept: d.unchanged.length,
    backends: { add, remove },
    rules,
    warnings,
  };
}
