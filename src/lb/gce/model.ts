/**
 * The GCE network load balancer of a cluster, as plain data: what exists (owned by the cluster) and
 * what should. One regional address, firewall rules for the published ports and for the health
 * checkers, one legacy HTTP health check, one target pool, forwarding rules (port ranges).
 */

export type LbProtocol = 'tcp' | 'udp';

export interface AddressSpec {
  name: string;
  description: string;
  labels: Record<string, string>;
}
export interface AddressCur {
  name: string;
  /** The reserved IP. */
  ip: string;
  description: string;
}

export interface FirewallRuleSpec {
  name: string;
  description: string;
  network: string;
  allowed: Array<{ IPProtocol: string; ports: string[] }>;
  sourceRanges: string[];
  targetTags: string[];
}
export interface FirewallRuleCur extends FirewallRuleSpec {
  disabled?: boolean;
}

export interface HealthCheckSpec {
  name: string;
  description: string;
  port: number;
  requestPath: string;
  checkIntervalSec: number;
  timeoutSec: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}
export type HealthCheckCur = HealthCheckSpec;

export interface PoolSpec {
  name: string;
  description: string;
  /** `global/httpHealthChecks/<name>` */
  healthCheck: string;
  /** `zones/<z>/instances/<n>`, sorted. */
  instances: string[];
}
export interface PoolCur {
  name: string;
  description: string;
  healthChecks: string[];
  instances: string[];
}

export interface RuleSpec {
  name: string;
  description: string;
  protocol: LbProtocol;
  range: readonly [number, number];
  labels: Record<string, string>;
  /** Name of the target pool it forwards to. */
  pool: string;
}
export interface RuleCur {
  name: string;
  description: string;
  protocol: LbProtocol;
  range: readonly [number, number];
  /** The reserved IP it listens on. */
  ip: string;
  /** `regions/<r>/targetPools/<name>` */
  target: string;
}

/** The swarm service every node runs so that the health check tells whether the node serves. */
export interface HealthServiceSpec {
  name: string;
  image: string;
  port: number;
}
export interface HealthServiceCur extends HealthServiceSpec {
  id: string;
  version: number;
}

/** Resources the cluster owns now (nothing it does not own is ever in here). */
export interface CurrentLb {
  address?: AddressCur;
  firewalls: FirewallRuleCur[];
  healthCheck?: HealthCheckCur;
  pool?: PoolCur;
  rules: RuleCur[];
  healthService?: HealthServiceCur;
}

export interface DesiredLb {
  address?: AddressSpec;
  firewalls: FirewallRuleSpec[];
  healthCheck?: HealthCheckSpec;
  pool?: PoolSpec;
  /** Published ports per protocol (the rules are laid out against what exists). */
  ports: Record<LbProtocol, number[]>;
  /** Used for the rules made for uncovered ports. */
  ruleName: (protocol: LbProtocol, range: readonly [number, number]) => string;
  ruleDescription: string;
  ruleLabels: Record<string, string>;
  healthService?: HealthServiceSpec;
}

/** Everything the GCE load balancer does to the world; the real one calls the API, tests record. */
export interface LbBackend {
  ensureHealthService(s: HealthServiceSpec, cur?: HealthServiceCur): Promise<void>;
  removeHealthService(cur: HealthServiceCur): Promise<void>;
  createAddress(a: AddressSpec): Promise<string>;
  deleteAddress(name: string): Promise<void>;
  createFirewall(f: FirewallRuleSpec): Promise<void>;
  patchFirewall(f: FirewallRuleSpec): Promise<void>;
  deleteFirewall(name: string): Promise<void>;
  createHealthCheck(h: HealthCheckSpec): Promise<void>;
  patchHealthCheck(h: HealthCheckSpec): Promise<void>;
  deleteHealthCheck(name: string): Promise<void>;
  createPool(p: PoolSpec): Promise<void>;
  deletePool(name: string): Promise<void>;
  addInstances(pool: string, instances: string[]): Promise<void>;
  removeInstances(pool: string, instances: string[]): Promise<void>;
  addPoolHealthCheck(pool: string, healthCheck: string): Promise<void>;
  removePoolHealthCheck(pool: string, healthCheck: string): Promise<void>;
  createRule(r: RuleSpec, ip: string): Promise<void>;
  deleteRule(name: string): Promise<void>;
}
