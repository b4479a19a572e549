// SLB resources.
import type { Forwarder } from './forwarder.js';
import type { TagMap } from './params.js';

export type Protocol = 'tcp' | 'udp';

export interface BackendServer {
  ServerId: string;
  Weight: number;
  Type: string;
  Description: string;
}

export interface Listener {
  port: number;
  protocol: Protocol;
  backendPort: number;
  bandwidth: number;
  scheduler: string;
  status: 'stopped' | 'starting' | 'running' | 'stopping';
  healthCheck: 'on' | 'off';
  hcType: 'tcp' | 'http';
  hcPort?: number;
  hcUri: string;
  hcDomain: string;
  hcHttpCode: string;
  /** UDP listeners: HealthCheckReq / HealthCheckExp (letters and digits). */
  hcReq?: string;
  hcExp?: string;
  healthy: number;
  unhealthy: number;
  hcTimeout: number;
  hcInterval: number;
  description: string;
  persistence: number;
  established: number;
  forwarder?: Forwarder;
}

export interface LoadBalancer {
  id: string;
  name: string;
  address: string;
  addressType: string;
  spec: string;
  regionId: string;
  masterZoneId: string;
  slaveZoneId: string;
  vpcId: string;
  vSwitchId: string;
  bandwidth: number;
  internetChargeType: string;
  created: number;
  tags: TagMap;
  backends: BackendServer[];
  listeners: Map<string, Listener>;
}

export const lkey = (protocol: Protocol, port: number): string => `${protocol}:${port}`;
