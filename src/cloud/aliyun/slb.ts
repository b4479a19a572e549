/** Typed wrappers for the SLB actions swarmup uses: one small function per action. */
import { clientToken, isNotFound, type AliyunClient } from './client.js';
import { paged } from './ecs.js';
import { ecsTagParams, slbTagsJson, type Tags } from './tags.js';

export type SlbProtocol = 'tcp' | 'udp';

// Listeners are named by port and protocol; a missing one answers InvalidParameter "does not exist"
// (isNotFound in client.ts knows that form).

export interface LoadBalancer {
  LoadBalancerId: string;
  LoadBalancerName?: string;
  Address?: string;
  LoadBalancerStatus?: string;
  AddressType?: string;
  CreateTimeStamp?: number | string;
  Tags?: unknown;
}

export interface BackendServer {
  ServerId: string;
  Weight?: number | string;
  Type?: string;
}

export interface LoadBalancerAttribute extends LoadBalancer {
  BackendServers?: { BackendServer?: BackendServer[] };
}

/** Health check of a listener: a connect to the backend port (TCP) or a probe (UDP). */
export interface HealthCheck {
  intervalS: number;
  timeoutS: number;
  healthy: number;
  unhealthy: number;
}

export interface ListenerConfig {
  protocol: SlbProtocol;
  port: number;
  backendPort: number;
  description: string;
  healthCheck: HealthCheck;
}

/** A listener as read back: its config (health check when the API told us) and status. */
export interface ListenerInfo {
  protocol: SlbProtocol | string;
  port: number;
  backendPort?: number;
  description: string;
  /** running | stopped | starting | configuring | stopping */
  status?: string;
  healthCheck?: HealthCheck;
}

const upper = (p: string) => p.toUpperCase();

export async function createLoadBalancer(
  c: AliyunClient,
  p: { name: string; tags: Tags; addressType?: 'internet' | 'intranet'; spec?: string; vswitchId?: string },
  token = clientToken(),
): Promise<{ LoadBalancerId: string; Address: string }> {
  return c.slb(
    'CreateLoadBalancer',
    {
      RegionId: c.regionId,
      LoadBalancerName: p.name,
      AddressType: p.addressType ?? 'internet',
      LoadBalancerSpec: p.spec ?? 'slb.s1.small',
      InternetChargeType: 'paybytraffic',
      VSwitchId: p.vswitchId,
      ...ecsTagParams(p.tags),
      ClientToken: token,
    },
    { idempotent: true },
  );
}

/** DescribeLoadBalancers by id and/or tags (all pages). */
export async function describeLoadBalancers(
  c: AliyunClient,
  q: { id?: string; tags?: Tags },
): Promise<LoadBalancer[]> {
  return paged(100, async (page) => {
    const r = await c.slb<{ LoadBalancers?: { LoadBalancer?: LoadBalancer[] }; TotalCount?: number }>(
      'DescribeLoadBalancers',
      {
        RegionId: c.regionId,
        LoadBalancerId: q.id,
        Tags: q.tags ? slbTagsJson(q.tags) : undefined,
        PageNumber: page,
        PageSize: 100,
      },
    );
    const items = r.LoadBalancers?.LoadBalancer ?? [];
    return { items, total: Number(r.TotalCount ?? items.length) };
  });
}

/** DescribeLoadBalancerAttribute; undefined when there is no such load balancer. */
export async function describeLoadBalancerAttribute(
  c: AliyunClient,
  id: string,
): Promise<LoadBalancerAttribute | undefined> {
  try {
    return await c.slb<LoadBalancerAttribute>('DescribeLoadBalancerAttribute', {
      RegionId: c.regionId,
      LoadBalancerId: id,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function deleteLoadBalancer(c: AliyunClient, id: string): Promise<boolean> {
  try {
    await c.slb('DeleteLoadBalancer', { RegionId: c.regionId, LoadBalancerId: id });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** At most this many servers per Add/RemoveBackendServers call. */
export const BACKEND_BATCH = 20;

export function batches<T>(items: readonly T[], size = BACKEND_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function addBackendServers(c: AliyunClient, lbId: string, serverIds: string[]): Promise<void> {
  if (serverIds.length > BACKEND_BATCH)
    throw new Error(`AddBackendServers takes at most ${BACKEND_BATCH} servers`);
  await c.slb('AddBackendServers', {
    RegionId: c.regionId,
    LoadBalancerId: lbId,
    BackendServers: JSON.stringify(serverIds.map((ServerId) => ({ ServerId, Weight: '100', Type: 'ecs' }))),
  });
}

export async function removeBackendServers(
  c: AliyunClient,
  lbId: string,
  serverIds: string[],
): Promise<void> {
  if (serverIds.length > BACKEND_BATCH)
    throw new Error(`RemoveBackendServers takes at most ${BACKEND_BATCH} servers`);
  await c.slb('RemoveBackendServers', {
    RegionId: c.regionId,
    LoadBalancerId: lbId,
    BackendServers: JSON.stringify(serverIds.map((ServerId) => ({ ServerId, Weight: '100', Type: 'ecs' }))),
  });
}

/**
 * The parameters of a listener. The health-check interval is spelt as each action's definition spells
 * it: `healthCheckInterval` on Create{TCP,UDP}Listener, `HealthCheckInterval` on Set…ListenerAttribute.
 */
function listenerParams(
  c: AliyunClient,
  lbId: string,
  l: ListenerConfig,
  intervalName: 'healthCheckInterval' | 'HealthCheckInterval',
): Record<string, unknown> {
  const h = l.healthCheck;
  return {
    RegionId: c.regionId,
    LoadBalancerId: lbId,
    ListenerPort: l.port,
    Bandwidth: -1,
    Scheduler: 'wrr',
    Description: l.description,
    ...(l.protocol === 'tcp' ? { HealthCheckSwitch: 'on', HealthCheckType: 'tcp' } : {}),
    HealthCheckConnectPort: l.backendPort,
    HealthyThreshold: h.healthy,
    UnhealthyThreshold: h.unhealthy,
    HealthCheckConnectTimeout: h.timeoutS,
    [intervalName]: h.intervalS,
  };
}

/** Create{TCP,UDP}Listener: the listener exists stopped until StartLoadBalancerListener. */
export async function createListener(c: AliyunClient, lbId: string, l: ListenerConfig): Promise<void> {
  await c.slb(`CreateLoadBalancer${upper(l.protocol)}Listener`, {
    ...listenerParams(c, lbId, l, 'healthCheckInterval'),
    BackendServerPort: l.backendPort,
  });
}

/** Set{TCP,UDP}ListenerAttribute: everything but the backend port (that needs delete and create). */
export async function setListenerAttribute(c: AliyunClient, lbId: string, l: ListenerConfig): Promise<void> {
  await c.slb(
    `SetLoadBalancer${upper(l.protocol)}ListenerAttribute`,
    listenerParams(c, lbId, l, 'HealthCheckInterval'),
  );
}

const listenerId = (c: AliyunClient, lbId: string, port: number, protocol: string) => ({
  RegionId: c.regionId,
  LoadBalancerId: lbId,
  ListenerPort: port,
  ListenerProtocol: protocol,
});

export async function startListener(
  c: AliyunClient,
  lbId: string,
  port: number,
  protocol: string,
): Promise<void> {
  await c.slb('StartLoadBalancerListener', listenerId(c, lbId, port, protocol));
}

/** DeleteLoadBalancerListener; a listener already gone is fine. */
export async function deleteListener(
  c: AliyunClient,
  lbId: string,
  port: number,
  protocol: string,
): Promise<void> {
  try {
    await c.slb('DeleteLoadBalancerListener', listenerId(c, lbId, port, protocol));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

interface RawListenerAttribute {
  ListenerPort: number | string;
  BackendServerPort?: number | string;
  Status?: string;
  Description?: string;
  HealthCheckInterval?: number | string;
  HealthCheckConnectTimeout?: number | string;
  HealthyThreshold?: number | string;
  UnhealthyThreshold?: number | string;
}

const num = (v: unknown): number | undefined =>
  v === undefined || v === '' || v === null ? undefined : Number(v);

export function healthCheckOf(r: RawListenerAttribute): HealthCheck | undefined {
  const h = {
    intervalS: num(r.HealthCheckInterval),
    timeoutS: num(r.HealthCheckConnectTimeout),
    healthy: num(r.HealthyThreshold),
    unhealthy: num(r.UnhealthyThreshold),
  };
  return Object.values(h).some((v) => v === undefined) ? undefined : (h as HealthCheck);
}

interface RawListener extends RawListenerAttribute {
  ListenerProtocol: string;
  TCPListenerConfig?: RawListenerAttribute;
  UDPListenerConfig?: RawListenerAttribute;
}

/** DescribeLoadBalancerListeners: every listener of a load balancer with its config, 100 per call. */
export async function describeListeners(c: AliyunClient, lbId: string): Promise<ListenerInfo[]> {
  const out: ListenerInfo[] = [];
  let token: string | undefined;
  do {
    const r = await c.slb<{ Listeners?: RawListener[]; NextToken?: string }>(
      'DescribeLoadBalancerListeners',
      {
        RegionId: c.regionId,
        LoadBalancerId: [lbId],
        MaxResults: 100,
        NextToken: token,
      },
    );
    for (const l of r.Listeners ?? []) {
      const protocol = l.ListenerProtocol.toLowerCase();
      const config = (protocol === 'udp' ? l.UDPListenerConfig : l.TCPListenerConfig) ?? l;
      out.push({
        protocol,
        port: Number(l.ListenerPort),
        backendPort: num(l.BackendServerPort),
        description: l.Description ?? '',
        status: l.Status,
        healthCheck: healthCheckOf(config),
      });
    }
    token = r.NextToken || undefined;
  } while (token);
  return out;
}

export interface HealthStatus {
  ServerId: string;
  Port?: number | string;
  ListenerPort?: number | string;
  Protocol?: string;
  ServerHealthStatus: string;
}

/** DescribeHealthStatus: the health of every backend for every listener (or one). */
export async function describeHealthStatus(c: AliyunClient, lbId: string): Promise<HealthStatus[]> {
  const r = await c.slb<{ BackendServers?: { BackendServer?: HealthStatus[] } }>('DescribeHealthStatus', {
    RegionId: c.regionId,
    LoadBalancerId: lbId,
  });
  return r.BackendServers?.BackendServer ?? [];
}
