/**
 * What a driver hands to core modules (the load balancers) that need its cloud: a connected client
 * and where things are, through `DriverModule.cloud()`. Core modules never import a driver; drivers
 * never import the load balancers. Types only: the SDKs load when a client is made.
 */
import type { DriverModule, DriverState, FlagValues } from '../driver/contract.js';
import type { AliyunClient } from './aliyun/client.js';
import type { Tags } from './aliyun/tags.js';
import type { Gce } from './gce/api.js';

/** Whose cloud access: a cluster's (its flags) or a machine's made outside a cluster (its state). */
export interface CloudScope {
  /** Driver flags: the cluster record's options, then the environment (credentials come from there). */
  flags: FlagValues;
  /** A machine's saved state: where it is (project, zone, region, group) wins over the flags. */
  machine?: DriverState;
  /** The cluster the access is for (undefined: the machine's own). */
  cluster?: string;
}

/** A GCE instance as the load balancer needs it. */
export interface GceInstanceRef {
  /** `zones/<z>/instances/<n>` */
  path: string;
  /** The network tag its firewall rules target. */
  tag: string;
  internalIp?: string;
}

export interface GceAccess {
  provider: 'gce';
  gce: Gce;
  region: string;
  zone: string;
  network: string;
  /** `--google-labels`, for what the load balancer makes. */
  labels: Record<string, string>;
  /** A stored machine of this driver as an instance. */
  instanceOf(state: DriverState): GceInstanceRef;
  /** Where a stored machine is, for telling machines of one load balancer apart: `project p, region r`. */
  placeOf(state: DriverState): string;
}

/** An ECS instance as the load balancer needs it. */
export interface EcsInstanceRef {
  id?: string;
  name: string;
  privateIp?: string;
  securityGroup?: string;
}

export interface AliyunAccess {
  provider: 'aliyun';
  client: AliyunClient;
  /** `--aliyunecs-slb-id`: an SLB the user made, to add listeners to instead of making one. */
  slbId?: string;
  /** Name and VPC of the security group the published-port rules go into. */
  securityGroup: { name: string; vpcId?: string };
  /** `--aliyunecs-tag`, for what the load balancer makes. */
  tags: Tags;
  instanceOf(state: DriverState): EcsInstanceRef;
  /** Where a stored machine is: `region r`. */
  placeOf(state: DriverState): string;
}

export type CloudAccess = GceAccess | AliyunAccess;

/** A driver module with a cloud API (google, aliyunecs): see DriverModule in src/driver/contract.ts. */
export interface CloudDriverModule extends DriverModule {
  /** A connected client and where things are, for the cluster or machine in `scope`. */
  cloud(scope: CloudScope): Promise<CloudAccess>;
}

export const hasCloud = (m: DriverModule): m is CloudDriverModule =>
  typeof (m as Partial<CloudDriverModule>).cloud === 'function';
