// ECS 2014-05-26: the actions of instances, security groups, key pairs and tags, plus regions, zones
// and images; one shared state.
import type { Context, Handler } from './context.js';
import { EcsInstances, INSTANCE_TYPES } from './ecs-instances.js';
import { KeyPairs } from './ecs-key-pairs.js';
import { SecurityGroups } from './ecs-security-groups.js';
import { EcsState } from './ecs-state.js';
import { EcsTags } from './ecs-tags.js';
import { IMAGES } from './images.js';
import { paginate, type Params, wildcard } from './params.js';

export class Ecs {
  readonly s = new EcsState();
  private instancesApi: EcsInstances;

  constructor(private ctx: Context) {
    this.instancesApi = new EcsInstances(ctx, this.s);
  }

  get instances() {
    return this.s.instances;
  }

  get vmNames() {
    return this.s.vmNames;
  }

  set onInstanceDeleted(fn: (id: string) => void) {
    this.s.onInstanceDeleted = fn;
  }

  handlers(): Record<string, Handler> {
    return {
      DescribeRegions: () => ({
        Regions: {
          Region: this.ctx.regions().map((r) => ({
            RegionId: r,
            LocalName: r,
            RegionEndpoint: 'ecs.aliyuncs.com',
            Status: 'available',
          })),
        },
      }),
      DescribeZones: (p) => ({
        Zones: {
          Zone: this.ctx.zones(this.ctx.region(p)).map((z) => ({
            ZoneId: z,
            LocalName: z,
            AvailableInstanceTypes: { InstanceTypes: Object.keys(INSTANCE_TYPES) },
          })),
        },
      }),
      DescribeImages: (p) => this.describeImages(p),
      ...this.instancesApi.handlers(),
      ...new SecurityGroups(this.ctx, this.s).handlers(),
      ...new KeyPairs(this.ctx, this.s).handlers(),
      ...new EcsTags(this.ctx, this.s).handlers(),
    };
  }

  private describeImages(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const ids = p.str('ImageId')?.split(',');
    const name = p.str('ImageName');
    const all = IMAGES.filter(
      (i) =>
        (!ids || ids.includes(i.ImageId)) &&
        (!name || wildcard(name, i.ImageName)) &&
        (!p.str('ImageFamily') || i.ImageFamily === p.str('ImageFamily')) &&
        (!p.str('OSType') || i.OSType === p.str('OSType')) &&
        (!p.str('Architecture') || i.Architecture === p.str('Architecture')) &&
        (!p.str('ImageOwnerAlias') || i.ImageOwnerAlias === p.str('ImageOwnerAlias')) &&
        (!p.str('Status') || p.str('Status')!.split(',').includes(i.Status)),
    );
    const { page, ...rest } = paginate(p, all, 100);
    return { RegionId: region, Images: { Image: page }, ...rest };
  }

  /** Instances, security groups and key pairs; instances being released do not count. */
  count(): number {
    return this.s.instances.size + this.s.groups.size + this.s.keyPairs.size;
  }

  dump(): unknown {
    return {
      instances: [...this.s.instances.values()].map((i) => ({
        ...this.instancesApi.view(i),
        VmName: i.vmName,
        Vm: i.vm,
        SystemDisk: { ...i.launch.systemDisk },
        DataDisks: i.launch.dataDisks.map((d) => ({ ...d })),
        PasswordSet: i.launch.passwordSet,
      })),
      securityGroups: [...this.s.groups.values()].map((g) => ({
        id: g.id,
        name: g.name,
        regionId: g.regionId,
        vpcId: g.vpcId,
        tags: Object.fromEntries(g.tags),
        rules: g.rules,
      })),
      keyPairs: [...this.s.keyPairs.values()].map((k) => ({
        name: k.name,
        fingerprint: k.fingerprint,
        tags: Object.fromEntries(k.tags),
      })),
    };
  }
}
