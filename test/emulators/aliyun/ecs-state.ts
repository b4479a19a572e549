// ECS resources and the lookups every ECS module shares.
import type { LaunchOptions } from './ecs-launch.js';
import { ApiError } from './errors.js';
import type { TagMap } from './params.js';

export type InstanceStatus = 'Pending' | 'Starting' | 'Running' | 'Stopping' | 'Stopped';

export interface Instance {
  id: string;
  name: string;
  hostName: string;
  /** Description, disks, charge type, requested private address. */
  launch: LaunchOptions;
  regionId: string;
  zoneId: string;
  instanceType: string;
  imageId: string;
  sgIds: string[];
  keyPairName?: string;
  /** RamRoleName: its STS credentials come from the instance metadata. */
  ramRole?: string;
  tags: TagMap;
  status: InstanceStatus;
  created: number;
  started?: number;
  privateIp?: string;
  publicIp: boolean;
  bandwidthOut: number;
  vpcId: string;
  vSwitchId: string;
  vmName: string;
  /** The machine behind: not made yet, made but not running (never started, or stopped), running. */
  vm: 'none' | 'stopped' | 'running';
  chain: Promise<void>;
  deleted: boolean;
}

export interface Rule {
  id: string;
  IpProtocol: string;
  PortRange: string;
  SourceCidrIp: string;
  SourceGroupId: string;
  Policy: string;
  Priority: number;
  NicType: string;
  Description: string;
  created: number;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  regionId: string;
  created: number;
  tags: TagMap;
  rules: Rule[];
}

export interface KeyPair {
  name: string;
  regionId: string;
  publicKey: string;
  fingerprint: string;
  created: number;
  tags: TagMap;
}

export class EcsState {
  readonly instances = new Map<string, Instance>();
  readonly groups = new Map<string, SecurityGroup>();
  readonly keyPairs = new Map<string, KeyPair>();
  /** Deleted instances still being released: they keep their security groups busy until `until`. */
  readonly releasing: { inst: Instance; until: number }[] = [];
  /** Every VM name ever requested, so stop() can remove them all. */
  readonly vmNames = new Set<string>();
  /** Called when an instance is deleted (the SLB drops it from its backends). */
  onInstanceDeleted: (id: string) => void = () => {};

  instance(id: string): Instance {
    const inst = this.instances.get(id);
    if (!inst) throw new ApiError('InvalidInstanceId.NotFound', 'The specified InstanceId does not exist.');
    return inst;
  }

  group(id: string): SecurityGroup {
    const g = this.groups.get(id);
    if (!g)
      throw new ApiError('InvalidSecurityGroupId.NotFound', 'The specified SecurityGroupId does not exist.');
    return g;
  }

  /** Instances (live or still being released) in a security group. */
  usersOf(sgId: string): Instance[] {
    const now = Date.now();
    for (let i = this.releasing.length - 1; i >= 0; i--)
      if (this.releasing[i].until <= now) this.releasing.splice(i, 1);
    return [
      ...[...this.instances.values()].filter((i) => i.sgIds.includes(sgId)),
      ...this.releasing.filter((r) => r.until > now && r.inst.sgIds.includes(sgId)).map((r) => r.inst),
    ];
  }
}
