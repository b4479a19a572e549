// ECS instances: states Pending/Starting/Running/Stopping/Stopped over `latencyMs`, a lab VM behind each.
import type { CallInfo, Context, Handler } from './context.js';
import { ApiError, missing } from './errors.js';
import { ecsTime, resourceId } from './ids.js';
import { IMAGES, type Image } from './images.js';
import { launchOptions } from './ecs-launch.js';
import type { EcsState, Instance, InstanceStatus } from './ecs-state.js';
import { matchesTags, mergeTags, paginate, pageOrToken, type Params, tagList, wildcard } from './params.js';

interface TokenEntry {
  fingerprint: string;
  ids: string[];
  result: Record<string, unknown>;
}

export const INSTANCE_TYPES: Record<string, [number, number]> = {
  'ecs.t5-lc1m1.small': [1, 1],
  'ecs.t5-lc1m2.small': [1, 2],
  'ecs.t6-c1m1.large': [2, 2],
  'ecs.n4.small': [1, 2],
  'ecs.n4.large': [2, 4],
  'ecs.g6.large': [2, 8],
  'ecs.g7.large': [2, 8],
  'ecs.c6.large': [2, 4],
  'ecs.c7.large': [2, 4],
  'ecs.u1-c1m2.large': [2, 4],
};

export class EcsInstances {
  private tokens = new Map<string, TokenEntry>();

  constructor(
    private ctx: Context,
    private s: EcsState,
  ) {}

  handlers(): Record<string, Handler> {
    return {
      CreateInstance: (p, c) => this.createInstance(p, c),
      RunInstances: (p, c) => this.runInstances(p, c),
      StartInstance: (p, c) => this.startInstance(p, c),
      StopInstance: (p, c) => this.stopInstance(p, c),
      RebootInstance: (p, c) => this.rebootInstance(p, c),
      DeleteInstance: (p) => this.deleteInstance(p),
      DescribeInstances: (p) => this.describeInstances(p),
      DescribeInstanceAttribute: (p) => this.view(this.s.instance(p.req('InstanceId'))),
      DescribeInstanceStatus: (p) => {
        const region = this.ctx.region(p);
        const all = [...this.s.instances.values()].filter(
          (i) => i.regionId === region && (!p.str('ZoneId') || i.zoneId === p.str('ZoneId')),
        );
        const { page, ...rest } = paginate(p, all, 50);
        return {
          InstanceStatuses: { InstanceStatus: page.map((i) => ({ InstanceId: i.id, Status: i.status })) },
          ...rest,
        };
      },
      AllocatePublicIpAddress: (p) => this.allocatePublicIp(p),
      JoinSecurityGroup: (p) => this.joinGroup(p, true),
      LeaveSecurityGroup: (p) => this.joinGroup(p, false),
    };
  }

  private schedule(inst: Instance, work: () => Promise<void>): void {
    const p = inst.chain.then(work).catch((err: unknown) => {
      this.ctx.warn(`instance ${inst.id}: ${err instanceof Error ? err.message : String(err)}`);
    });
    inst.chain = p;
    this.ctx.track(p);
  }

  private image(p: Params): Image {
    const family = p.str('ImageFamily');
    const id = p.str('ImageId');
    if (!id && !family) throw missing('ImageId');
    const img = id
      ? IMAGES.find((i) => i.ImageId === id)
      : IMAGES.filter((i) => i.ImageFamily === family).sort((a, b) =>
          b.CreationTime.localeCompare(a.CreationTime),
        )[0];
    if (!img) throw new ApiError('InvalidImageId.NotFound', 'The specified ImageId does not exist.');
    return img;
  }

  private newInstances(p: Params, amount: number, call: CallInfo, autoStart: boolean): Instance[] {
    const regionId = this.ctx.region(p);
    const zoneId =
      p.str('ZoneId') ?? (regionId === this.ctx.regionId ? this.ctx.zoneId : this.ctx.zones(regionId)[0]);
    if (!this.ctx.zones(regionId).includes(zoneId)) {
      throw new ApiError('InvalidZoneId.NotFound', 'The specified ZoneId does not exist.');
    }
    const image = this.image(p);
    const instanceType = p.req('InstanceType');
    if (!/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/.test(instanceType)) {
      throw new ApiError(
        'InvalidInstanceType.ValueNotSupported',
        'The specified InstanceType does not exist.',
      );
    }
    const name = p.str('InstanceName');
    if (name !== undefined && !/^[A-Za-z\u4e00-\u9fa5][\w.:\-\u4e00-\u9fa5[\],]{1,127}$/.test(name)) {
      throw new ApiError('InvalidInstanceName.Malformed', 'Specified instance name is not valid.');
    }
    const hostName = p.str('HostName');
    if (hostName !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$/.test(hostName)) {
      throw new ApiError('InvalidHostName.Malformed', 'Specified host name is not valid.');
    }
    const sgIds = [
      ...new Set([
        ...(p.str('SecurityGroupId') ? [p.req('SecurityGroupId')] : []),
        ...p.list('SecurityGroupIds'),
      ]),
    ];
    for (const sg of sgIds) {
      const g = this.s.groups.get(sg);
      if (!g || g.regionId !== regionId) {
        throw new ApiError(
          'InvalidSecurityGroupId.NotFound',
          'The specified SecurityGroupId does not exist.',
        );
      }
    }
    const keyPairName = p.str('KeyPairName');
    if (keyPairName !== undefined && !this.s.keyPairs.has(keyPairName)) {
      throw new ApiError(
        'InvalidKeyPairName.NotFound',
        'The specified KeyPairName does not exist in our records.',
      );
    }
    const launch = launchOptions(p, {
      vswitch: this.ctx.backing.vswitch,
      amount,
      taken: (ip) => [...this.s.instances.values()].some((i) => i.privateIp === ip),
    });
    const bandwidthOut = p.int('InternetMaxBandwidthOut', 0, 0, 100);
    const tags = p.tags();
    const quota = this.ctx.quotas.instances;
    if (quota !== undefined && this.s.instances.size + amount > quota) {
      throw new ApiError(
        'QuotaExceed.ElasticQuota',
        `No additional quota is available for the specified ECS instance type (quota ${quota} instances).`,
      );
    }
    const vSwitchId = p.str('VSwitchId') ?? '';
    // Neither CreateInstance nor RunInstances takes a VpcId: the vswitch's VPC is the security group's.
    const vpcId = vSwitchId && sgIds[0] ? this.s.groups.get(sgIds[0])!.vpcId || 'vpc-default' : '';
    const unique = p.bool('UniqueSuffix') && amount > 1;
    const out: Instance[] = [];
    for (let n = 1; n <= amount; n++) {
      const id = resourceId('i-', 20);
      const suffix = unique ? String(n).padStart(3, '0') : '';
      const inst: Instance = {
        id,
        name: name ? `${name}${suffix}` : id,
        hostName: hostName ? `${hostName}${suffix}` : `iZ${id.slice(2)}Z`,
        launch,
        regionId,
        zoneId,
        instanceType,
        imageId: image.ImageId,
        sgIds,
        keyPairName,
        tags: new Map(),
        status: 'Pending',
        created: Date.now(),
        privateIp: launch.privateIp,
        publicIp: false,
        bandwidthOut,
        vpcId,
        vSwitchId,
        vmName: `ali-${id}`,
        vm: 'none',
        chain: Promise.resolve(),
        deleted: false,
      };
      mergeTags(inst.tags, tags);
      this.s.instances.set(id, inst);
      this.s.vmNames.add(inst.vmName);
      out.push(inst);
      if (autoStart) this.launch(inst, call.fail);
      else this.prepare(inst);
    }
    return out;
  }

  private authorizedKey(inst: Instance): string | undefined {
    return inst.keyPairName ? this.s.keyPairs.get(inst.keyPairName)?.publicKey : undefined;
  }

  /** CreateInstance: Pending while the machine is made (never started: it answers nothing), then Stopped. */
  private prepare(inst: Instance): void {
    this.schedule(inst, async () => {
      const made = this.makeVm(inst).catch((err: unknown) =>
        this.ctx.warn(`creating ${inst.vmName}: ${String(err)}`),
      );
      await Promise.all([made, this.ctx.delay(this.ctx.latencyMs)]);
      if (!inst.deleted) inst.status = 'Stopped';
    });
  }

  private async makeVm(inst: Instance): Promise<void> {
    inst.privateIp = await this.ctx.backing.create(inst.vmName, {
      authorizedKey: this.authorizedKey(inst),
      ip: inst.launch.privateIp,
    });
    inst.vm = 'stopped';
  }

  /** RunInstances: Pending, Starting while the machine boots, Running (with a public IP when it has bandwidth). */
  private launch(inst: Instance, fail: boolean): void {
    this.schedule(inst, async () => {
      await this.ctx.delay(this.ctx.latencyMs / 2);
      if (inst.deleted) return;
      inst.status = 'Starting';
      if (fail) {
        await this.ctx.delay(this.ctx.latencyMs / 2);
        if (!inst.deleted) inst.status = 'Stopped';
        return;
      }
      if ((await this.bootVm(inst)) && inst.bandwidthOut > 0) inst.publicIp = true;
    });
  }

  /** Boot the machine (made first if it is not yet); Running on success, Stopped on failure. */
  private async bootVm(inst: Instance): Promise<boolean> {
    const boot = (async () => {
      if (inst.vm === 'none') await this.makeVm(inst);
      await this.ctx.backing.start(inst.vmName);
    })();
    const ok = await boot.then(
      () => true,
      (err: unknown) => {
        this.ctx.warn(`starting ${inst.vmName}: ${String(err)}`);
        return false;
      },
    );
    if (ok) inst.vm = 'running';
    await this.ctx.delay(this.ctx.latencyMs / 2);
    if (inst.deleted) return false;
    inst.status = ok ? 'Running' : 'Stopped';
    if (ok) inst.started = Date.now();
    return ok;
  }

  private requireStatus(inst: Instance, ...allowed: InstanceStatus[]): void {
    if (!allowed.includes(inst.status)) {
      throw new ApiError(
        'IncorrectInstanceStatus',
        `The current status of the resource does not support this operation (instance ${inst.id} is ${inst.status}).`,
      );
    }
  }

  private createInstance(p: Params, call: CallInfo): Record<string, unknown> {
    return this.idempotent(p, 'CreateInstance', () => {
      const [inst] = this.newInstances(p, 1, call, false);
      return { ids: [inst.id], result: { InstanceId: inst.id } };
    });
  }

  private runInstances(p: Params, call: CallInfo): Record<string, unknown> {
    const amount = p.int('Amount', 1, 1, 100);
    return this.idempotent(p, 'RunInstances', () => {
      const created = this.newInstances(p, amount, call, true);
      const ids = created.map((i) => i.id);
      return { ids, result: { InstanceIdSets: { InstanceIdSet: ids }, TradePrice: 0 } };
    });
  }

  /** ClientToken: the same token and parameters answer the first result while its resources exist. */
  private idempotent(
    p: Params,
    action: string,
    make: () => { ids: string[]; result: Record<string, unknown> },
  ): Record<string, unknown> {
    const token = p.str('ClientToken');
    const key = `${action}:${token}`;
    if (token !== undefined) {
      const prev = this.tokens.get(key);
      if (prev && prev.ids.some((id) => this.s.instances.has(id))) {
        if (prev.fingerprint !== p.fingerprint()) {
          throw new ApiError(
            'IdempotentParameterMismatch',
            'The specified ClientToken was already used with different parameters.',
          );
        }
        return prev.result;
      }
    }
    const { ids, result } = make();
    if (token !== undefined) this.tokens.set(key, { fingerprint: p.fingerprint(), ids, result });
    return result;
  }

  private startInstance(p: Params, call: CallInfo): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    this.requireStatus(inst, 'Stopped');
    inst.status = 'Starting';
    this.schedule(inst, async () => {
      if (call.fail) {
        await this.ctx.delay(this.ctx.latencyMs);
        if (!inst.deleted) inst.status = 'Stopped';
        return;
      }
      await this.ctx.delay(this.ctx.latencyMs / 2);
      await this.bootVm(inst);
    });
    return {};
  }

  private stopInstance(p: Params, call: CallInfo): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    this.requireStatus(inst, 'Running');
    inst.status = 'Stopping';
    this.schedule(inst, async () => {
      if (call.fail) {
        await this.ctx.delay(this.ctx.latencyMs);
        if (!inst.deleted) inst.status = 'Running';
        return;
      }
      await Promise.all([
        this.ctx.backing.stop(inst.vmName).then(() => void (inst.vm = 'stopped')),
        this.ctx.delay(this.ctx.latencyMs),
      ]);
      if (!inst.deleted) inst.status = 'Stopped';
    });
    return {};
  }

  private rebootInstance(p: Params, call: CallInfo): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    this.requireStatus(inst, 'Running');
    inst.status = 'Starting';
    this.schedule(inst, async () => {
      if (!call.fail) await this.ctx.backing.restart(inst.vmName);
      await this.ctx.delay(this.ctx.latencyMs);
      if (!inst.deleted) inst.status = 'Running';
    });
    return {};
  }

  private deleteInstance(p: Params): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    if (!p.bool('Force')) this.requireStatus(inst, 'Stopped');
    inst.deleted = true;
    this.s.instances.delete(inst.id);
    this.s.releasing.push({ inst, until: Date.now() + this.ctx.latencyMs });
    this.s.onInstanceDeleted(inst.id);
    this.schedule(inst, () => this.ctx.backing.remove(inst.vmName));
    return {};
  }

  private allocatePublicIp(p: Params): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    this.requireStatus(inst, 'Stopped', 'Running');
    if (!inst.privateIp) throw new ApiError('InternalError', 'The instance has no network interface yet.');
    inst.publicIp = true;
    return { IpAddress: inst.privateIp };
  }

  private joinGroup(p: Params, join: boolean): Record<string, unknown> {
    const inst = this.s.instance(p.req('InstanceId'));
    const sg = this.s.group(p.req('SecurityGroupId'));
    if (join && !inst.sgIds.includes(sg.id)) inst.sgIds.push(sg.id);
    if (!join) {
      if (!inst.sgIds.includes(sg.id)) {
        throw new ApiError(
          'InvalidInstanceId.NotBelongToGroup',
          'The instance is not in the specified security group.',
        );
      }
      if (inst.sgIds.length === 1) {
        throw new ApiError(
          'InvalidOperation.InstanceInOneGroup',
          'An instance must stay in at least one security group.',
        );
      }
      inst.sgIds = inst.sgIds.filter((g) => g !== sg.id);
    }
    return {};
  }

  private describeInstances(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const ids = p.jsonStrings('InstanceIds', 'InvalidInstanceIds.Malformed');
    const tags = p.tags();
    const name = p.str('InstanceName');
    const publicIps = p.jsonStrings('PublicIpAddresses', 'InvalidParameter');
    const privateIps = p.jsonStrings('PrivateIpAddresses', 'InvalidParameter');
    const match = (i: Instance) =>
      i.regionId === region &&
      (!ids || ids.includes(i.id)) &&
      (!name || wildcard(name, i.name)) &&
      (!p.str('Status') || i.status === p.str('Status')) &&
      (!p.str('ZoneId') || i.zoneId === p.str('ZoneId')) &&
      (!p.str('SecurityGroupId') || i.sgIds.includes(p.str('SecurityGroupId')!)) &&
      (!p.str('VpcId') || i.vpcId === p.str('VpcId')) &&
      (!p.str('VSwitchId') || i.vSwitchId === p.str('VSwitchId')) &&
      (!p.str('KeyPairName') || i.keyPairName === p.str('KeyPairName')) &&
      (!publicIps || (i.publicIp && publicIps.includes(i.privateIp ?? ''))) &&
      (!privateIps || privateIps.includes(i.privateIp ?? '')) &&
      matchesTags(i.tags, tags);
    const all = [...this.s.instances.values()].filter(match);
    const { page, ...rest } = pageOrToken(p, all, 100);
    return { Instances: { Instance: page.map((i) => this.view(i)) }, ...rest };
  }

  view(i: Instance): Record<string, unknown> {
    const [cpu, mem] = INSTANCE_TYPES[i.instanceType] ?? [2, 4];
    const ip = i.privateIp ? [i.privateIp] : [];
    return {
      InstanceId: i.id,
      InstanceName: i.name,
      HostName: i.hostName,
      Description: i.launch.description,
      Status: i.status,
      RegionId: i.regionId,
      ZoneId: i.zoneId,
      InstanceType: i.instanceType,
      InstanceTypeFamily: i.instanceType.split('.').slice(0, 2).join('.'),
      Cpu: cpu,
      Memory: mem * 1024,
      ImageId: i.imageId,
      OSType: 'linux',
      OSName: IMAGES.find((x) => x.ImageId === i.imageId)?.OSName ?? '',
      CreationTime: ecsTime(i.created),
      StartTime: i.started ? ecsTime(i.started) : '',
      ExpiredTime: '2099-12-31T15:59Z',
      InstanceChargeType: 'PostPaid',
      InternetChargeType: i.launch.internetChargeType,
      InternetMaxBandwidthOut: i.bandwidthOut,
      InternetMaxBandwidthIn: -1,
      InstanceNetworkType: i.vSwitchId ? 'vpc' : 'classic',
      IoOptimized: true,
      KeyPairName: i.keyPairName ?? '',
      SerialNumber: '',
      StoppedMode: i.status === 'Stopped' ? 'KeepCharging' : 'Not-applicable',
      DeletionProtection: false,
      PublicIpAddress: { IpAddress: i.publicIp ? ip : [] },
      InnerIpAddress: { IpAddress: ip },
      VpcAttributes: {
        VpcId: i.vpcId,
        VSwitchId: i.vSwitchId,
        NatIpAddress: '',
        PrivateIpAddress: { IpAddress: ip },
      },
      EipAddress: { IpAddress: '', AllocationId: '', InternetChargeType: '' },
      SecurityGroupIds: { SecurityGroupId: [...i.sgIds] },
      Tags: { Tag: tagList(i.tags) },
      OperationLocks: { LockReason: [] },
    };
  }
}
