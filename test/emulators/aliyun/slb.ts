// SLB 2014-05-15 (Classic Load Balancer): load balancers on loopback addresses, TCP/UDP listeners that
// are created stopped and forward real traffic once started (slb-listeners.ts), backend servers = ECS
// instances.
import type { Context, Handler } from './context.js';
import type { Ecs } from './ecs.js';
import { ApiError, invalid, missing } from './errors.js';
import { ecsTime, resourceId } from './ids.js';
import {
  checkTag,
  pageByToken,
  matchesTags,
  mergeTags,
  paginate,
  type Params,
  type Tag,
  tagList,
  wildcard,
} from './params.js';
import { SlbListeners } from './slb-listeners.js';
import type { LoadBalancer } from './slb-model.js';

const BATCH_LIMIT = 20;

export class Slb {
  readonly lbs = new Map<string, LoadBalancer>();
  private listeners: SlbListeners;
  private tokens = new Map<string, { fingerprint: string; id: string; result: Record<string, unknown> }>();

  constructor(
    private ctx: Context,
    private ecs: Ecs,
  ) {
    this.listeners = new SlbListeners(ctx, ecs, this.lbs, (p) => this.lb(p));
    ecs.onInstanceDeleted = (id) => {
      for (const lb of this.lbs.values()) lb.backends = lb.backends.filter((b) => b.ServerId !== id);
    };
  }

  handlers(): Record<string, Handler> {
    return {
      DescribeRegions: () => ({
        Regions: {
          Region: this.ctx
            .regions()
            .map((r) => ({ RegionId: r, LocalName: r, RegionEndpoint: 'slb.aliyuncs.com' })),
        },
      }),
      DescribeZones: (p) => {
        const zones = this.ctx.zones(this.ctx.region(p));
        return {
          Zones: {
            Zone: zones.map((z) => ({
              ZoneId: z,
              LocalName: z,
              SlaveZones: {
                SlaveZone: zones.filter((s) => s !== z).map((s) => ({ ZoneId: s, LocalName: s })),
              },
            })),
          },
        };
      },
      ...this.listeners.handlers(),
      CreateLoadBalancer: (p) => this.create(p),
      DeleteLoadBalancer: (p) => this.remove(p),
      DescribeLoadBalancers: (p) => this.describe(p),
      DescribeLoadBalancerAttribute: (p) => this.attribute(this.lb(p)),
      SetLoadBalancerName: (p) => {
        this.lb(p).name = p.req('LoadBalancerName');
        return {};
      },
      AddBackendServers: (p) => this.addBackends(p),
      SetBackendServers: (p) => this.addBackends(p, true),
      RemoveBackendServers: (p) => this.removeBackends(p),
      AddTags: (p) => {
        const lb = this.lb(p);
        const tags = this.jsonTags(p, 'Tags');
        if (!tags) throw missing('Tags');
        mergeTags(lb.tags, tags);
        return {};
      },
      RemoveTags: (p) => {
        const lb = this.lb(p);
        const tags = this.jsonTags(p, 'Tags');
        if (!tags) throw missing('Tags');
        for (const t of tags) if (lb.tags.get(t.Key) === t.Value || t.Value === '') lb.tags.delete(t.Key);
        return {};
      },
      DescribeTags: (p) => this.describeTags(p),
      TagResources: (p) => {
        const lbs = this.byResourceIds(p);
        const tags = p.tags();
        if (tags.length === 0) throw missing('Tag.1.Key');
        for (const lb of lbs) mergeTags(lb.tags, tags);
        return {};
      },
      UntagResources: (p) => {
        const keys = p.list('TagKey');
        const all = p.bool('All');
        for (const lb of this.byResourceIds(p)) {
          if (all) lb.tags.clear();
          else for (const k of keys) lb.tags.delete(k);
        }
        return {};
      },
      ListTagResources: (p) => {
        const region = this.ctx.region(p);
        if (p.req('ResourceType') !== 'instance') throw invalid('ResourceType', 'must be "instance"');
        const ids = p.list('ResourceId');
        const tags = p.tags();
        const rows = [...this.lbs.values()]
          .filter(
            (lb) =>
              lb.regionId === region &&
              (ids.length === 0 || ids.includes(lb.id)) &&
              matchesTags(lb.tags, tags),
          )
          .flatMap((lb) =>
            tagList(lb.tags).map((t) => ({ ResourceId: lb.id, ResourceType: 'instance', ...t })),
          );
        return pageByToken(p, rows, 'TagResources', 'TagResource');
      },
    };
  }

  // ------------------------------------------------------------------ load balancers

  private lb(p: Params): LoadBalancer {
    const lb = this.lbs.get(p.req('LoadBalancerId'));
    if (!lb)
      throw new ApiError('InvalidLoadBalancerId.NotFound', 'The specified LoadBalancerId does not exist.');
    return lb;
  }

  private byResourceIds(p: Params): LoadBalancer[] {
    this.ctx.region(p);
    if (p.req('ResourceType') !== 'instance') throw invalid('ResourceType', 'must be "instance"');
    const ids = p.list('ResourceId');
    if (ids.length === 0) throw missing('ResourceId.1');
    return ids.map((id) => {
      const lb = this.lbs.get(id);
      if (!lb)
        throw new ApiError('InvalidLoadBalancerId.NotFound', 'The specified LoadBalancerId does not exist.');
      return lb;
    });
  }

  /** `Tags='[{"TagKey":"k","TagValue":"v"}]'` (the SLB JSON form). */
  private jsonTags(p: Params, name: string): Tag[] | undefined {
    const arr = p.jsonArray(name);
    if (arr === undefined) return undefined;
    if (arr.length > 10) throw invalid(name, 'holds more than 10 tags');
    return arr.map((t) => {
      const o = t as { TagKey?: unknown; TagValue?: unknown };
      if (!o || typeof o.TagKey !== 'string' || o.TagKey === '')
        throw invalid(name, 'needs a TagKey in every item');
      const tag = { Key: o.TagKey, Value: typeof o.TagValue === 'string' ? o.TagValue : '' };
      checkTag(tag);
      return tag;
    });
  }

  private nextAddress(): string {
    const used = new Set([...this.lbs.values()].map((lb) => lb.address));
    for (let n = 1; n <= 254; n++) {
      const a = `${this.ctx.addressPrefix}${n}`;
      if (!used.has(a)) return a;
    }
    throw new ApiError(
      'OperationFailed.NoAvailableAddress',
      'No address is available for a new load balancer.',
    );
  }

  private create(p: Params): Record<string, unknown> {
    const regionId = this.ctx.region(p);
    const token = p.str('ClientToken');
    if (token !== undefined) {
      const prev = this.tokens.get(token);
      if (prev && this.lbs.has(prev.id)) {
        if (prev.fingerprint !== p.fingerprint()) {
          throw new ApiError(
            'IdempotentParameterMismatch',
            'The specified ClientToken was already used with different parameters.',
          );
        }
        return prev.result;
      }
    }
    const addressType = p.oneOf('AddressType', ['internet', 'intranet'] as const, 'internet');
    const name = p.str('LoadBalancerName');
    if (name !== undefined && (name.length > 80 || /^https?:\/\//.test(name))) {
      throw new ApiError('InvalidParameter.LoadBalancerName', 'The specified LoadBalancerName is not valid.');
    }
    const zones = this.ctx.zones(regionId);
    const master = p.str('MasterZoneId') ?? zones[0];
    if (!zones.includes(master))
      throw new ApiError('InvalidParameter.MasterZoneId', 'The specified MasterZoneId is not valid.');
    const tags = p.tags();
    const quota = this.ctx.quotas.loadBalancers;
    if (quota !== undefined && this.lbs.size >= quota) {
      throw new ApiError('QuotaExceed.LoadBalancer', `The quota of load balancers (${quota}) is exceeded.`);
    }
    const lb: LoadBalancer = {
      id: resourceId('lb-', 22),
      name: name ?? `auto_named_slb`,
      address: this.nextAddress(),
      addressType,
      spec: p.str('LoadBalancerSpec') ?? '',
      regionId,
      masterZoneId: master,
      slaveZoneId: p.str('SlaveZoneId') ?? zones.find((z) => z !== master) ?? '',
      vpcId: p.str('VpcId') ?? '',
      vSwitchId: p.str('VSwitchId') ?? '',
      bandwidth: p.int('Bandwidth', 5120, 1, 5120),
      internetChargeType: p.str('InternetChargeType') ?? 'paybytraffic',
      created: Date.now(),
      tags: new Map(),
      backends: [],
      listeners: new Map(),
    };
    mergeTags(lb.tags, tags);
    this.lbs.set(lb.id, lb);
    const result = {
      LoadBalancerId: lb.id,
      LoadBalancerName: lb.name,
      Address: lb.address,
      AddressIPVersion: 'ipv4',
      NetworkType: lb.vSwitchId ? 'vpc' : 'classic',
      VpcId: lb.vpcId,
      VSwitchId: lb.vSwitchId,
      ResourceGroupId: 'rg-default',
    };
    if (token !== undefined) this.tokens.set(token, { fingerprint: p.fingerprint(), id: lb.id, result });
    return result;
  }

  private async remove(p: Params): Promise<Record<string, unknown>> {
    const lb = this.lb(p);
    this.lbs.delete(lb.id);
    await Promise.all([...lb.listeners.values()].map((l) => l.forwarder?.stop()));
    return {};
  }

  private summary(lb: LoadBalancer): Record<string, unknown> {
    return {
      LoadBalancerId: lb.id,
      LoadBalancerName: lb.name,
      LoadBalancerStatus: 'active',
      Address: lb.address,
      AddressType: lb.addressType,
      AddressIPVersion: 'ipv4',
      RegionId: lb.regionId,
      RegionIdAlias: lb.regionId,
      NetworkType: lb.vSwitchId ? 'vpc' : 'classic',
      VpcId: lb.vpcId,
      VSwitchId: lb.vSwitchId,
      LoadBalancerSpec: lb.spec,
      Bandwidth: lb.bandwidth,
      InternetChargeType: lb.internetChargeType,
      PayType: 'PayOnDemand',
      MasterZoneId: lb.masterZoneId,
      SlaveZoneId: lb.slaveZoneId,
      CreateTime: ecsTime(lb.created),
      CreateTimeStamp: lb.created,
      ResourceGroupId: 'rg-default',
      Tags: { Tag: tagList(lb.tags) },
    };
  }

  private describe(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const ids = p.str('LoadBalancerId')?.split(',');
    const name = p.str('LoadBalancerName');
    const jsonTags = this.jsonTags(p, 'Tags') ?? [];
    const tags = p.tags();
    const serverId = p.str('ServerId');
    const all = [...this.lbs.values()].filter(
      (lb) =>
        lb.regionId === region &&
        (!ids || ids.includes(lb.id)) &&
        (!name || wildcard(name, lb.name)) &&
        (!p.str('Address') || lb.address === p.str('Address')) &&
        (!p.str('AddressType') || lb.addressType === p.str('AddressType')) &&
        (!p.str('VpcId') || lb.vpcId === p.str('VpcId')) &&
        (!p.str('VSwitchId') || lb.vSwitchId === p.str('VSwitchId')) &&
        (!serverId || lb.backends.some((b) => b.ServerId === serverId)) &&
        matchesTags(lb.tags, jsonTags) &&
        matchesTags(lb.tags, tags),
    );
    // Without PageNumber/PageSize the whole list comes back, as the real API does.
    if (p.str('PageNumber') === undefined && p.str('PageSize') === undefined) {
      return { LoadBalancers: { LoadBalancer: all.map((lb) => this.summary(lb)) }, TotalCount: all.length };
    }
    const { page, ...rest } = paginate(p, all, 100);
    return { LoadBalancers: { LoadBalancer: page.map((lb) => this.summary(lb)) }, ...rest };
  }

  private attribute(lb: LoadBalancer): Record<string, unknown> {
    const ls = this.listeners.sorted(lb);
    return {
      ...this.summary(lb),
      ListenerPorts: { ListenerPort: [...new Set(ls.map((l) => l.port))] },
      ListenerPortsAndProtocal: {
        ListenerPortAndProtocal: ls.map((l) => ({ ListenerPort: l.port, ListenerProtocal: l.protocol })),
      },
      ListenerPortsAndProtocol: {
        ListenerPortAndProtocol: ls.map((l) => ({
          ListenerPort: l.port,
          ListenerProtocol: l.protocol,
          Description: l.description,
        })),
      },
      BackendServers: {
        BackendServer: lb.backends.map((b) => ({
          ...b,
          ServerIp: this.ecs.instances.get(b.ServerId)?.privateIp ?? '',
        })),
      },
    };
  }

  // ------------------------------------------------------------------ backend servers

  private backendBatch(p: Params): unknown[] {
    const arr = p.jsonArray('BackendServers');
    if (arr === undefined) throw missing('BackendServers');
    if (arr.length === 0) throw invalid('BackendServers', 'is empty');
    if (arr.length > BATCH_LIMIT) {
      throw new ApiError(
        'InvalidParameter',
        `The number of backend servers in one request cannot exceed ${BATCH_LIMIT} (got ${arr.length}).`,
      );
    }
    return arr;
  }

  private addBackends(p: Params, setOnly = false): Record<string, unknown> {
    const lb = this.lb(p);
    const items = this.backendBatch(p).map((raw) => {
      const o = raw as Record<string, unknown>;
      if (!o || typeof o !== 'object' || typeof o.ServerId !== 'string' || !o.ServerId) {
        throw invalid('BackendServers', 'needs a ServerId in every item');
      }
      const weight = o.Weight === undefined ? 100 : Number(o.Weight);
      if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw invalid('Weight', 'must be 0..100');
      const type = o.Type === undefined ? 'ecs' : String(o.Type);
      if (type !== 'ecs' && type !== 'eni') throw invalid('Type', 'must be ecs or eni');
      const inst = this.ecs.instances.get(o.ServerId);
      if (!inst || inst.regionId !== lb.regionId) {
        throw new ApiError('InvalidParameter', `The specified ServerId ${o.ServerId} does not exist.`);
      }
      return {
        ServerId: o.ServerId,
        Weight: weight,
        Type: type,
        Description: typeof o.Description === 'string' ? o.Description : '',
      };
    });
    if (new Set(items.map((i) => i.ServerId)).size !== items.length) {
      throw invalid('BackendServers', 'lists a ServerId twice');
    }
    for (const item of items) {
      const have = lb.backends.find((b) => b.ServerId === item.ServerId);
      if (have) Object.assign(have, item);
      else if (setOnly)
        throw new ApiError('InvalidParameter', `The server ${item.ServerId} is not a backend of ${lb.id}.`);
      else lb.backends.push(item);
    }
    return { LoadBalancerId: lb.id, BackendServers: { BackendServer: lb.backends.map((b) => ({ ...b })) } };
  }

  private removeBackends(p: Params): Record<string, unknown> {
    const lb = this.lb(p);
    const ids = this.backendBatch(p).map((raw) => {
      if (typeof raw === 'string') return raw;
      const o = raw as Record<string, unknown>;
      if (!o || typeof o.ServerId !== 'string')
        throw invalid('BackendServers', 'needs a ServerId in every item');
      return o.ServerId;
    });
    lb.backends = lb.backends.filter((b) => !ids.includes(b.ServerId));
    return { LoadBalancerId: lb.id, BackendServers: { BackendServer: lb.backends.map((b) => ({ ...b })) } };
  }

  // ------------------------------------------------------------------ listeners

  private describeTags(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const id = p.str('LoadBalancerId');
    const filter = this.jsonTags(p, 'Tags') ?? [];
    const distinct = p.bool('DistinctKey');
    const counts = new Map<string, { TagKey: string; TagValue: string; InstanceCount: number }>();
    for (const lb of this.lbs.values()) {
      if (lb.regionId !== region || (id && !id.split(',').includes(lb.id))) continue;
      for (const t of tagList(lb.tags)) {
        if (filter.length > 0 && !matchesTags(new Map([[t.TagKey, t.TagValue]]), filter)) continue;
        const k = distinct ? t.TagKey : JSON.stringify([t.TagKey, t.TagValue]);
        const e = counts.get(k) ?? {
          TagKey: t.TagKey,
          TagValue: distinct ? '' : t.TagValue,
          InstanceCount: 0,
        };
        e.InstanceCount++;
        counts.set(k, e);
      }
    }
    const { page, ...rest } = paginate(p, [...counts.values()], 100, 50);
    return { TagSets: { TagSet: page }, ...rest };
  }

  count(): number {
    let n = this.lbs.size;
    for (const lb of this.lbs.values()) n += lb.listeners.size;
    return n;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.lbs.values()].flatMap((lb) => [...lb.listeners.values()].map((l) => l.forwarder?.stop())),
    );
  }

  dump(): unknown {
    return [...this.lbs.values()].map((lb) => ({
      ...this.attribute(lb),
      Listeners: this.listeners.sorted(lb).map((l) => ({
        ListenerProtocol: l.protocol,
        ...this.listeners.view(l),
        Forwarded: l.forwarder?.forwarded() ?? 0,
        Health: Object.fromEntries(
          lb.backends.map((b) => [b.ServerId, l.forwarder?.status(b.ServerId) ?? 'unavailable']),
        ),
      })),
    }));
  }
}
