// ECS tags on instances, security groups and key pairs.
import type { Context, Handler } from './context.js';
import { ApiError, invalid, missing } from './errors.js';
import type { EcsState } from './ecs-state.js';
import {
  matchesTags,
  mergeTags,
  pageByToken,
  paginate,
  type Params,
  type Tag,
  type TagMap,
  tagList,
} from './params.js';

export class EcsTags {
  constructor(
    private ctx: Context,
    private s: EcsState,
  ) {}

  handlers(): Record<string, Handler> {
    return {
      TagResources: (p) => this.tagResources(p, p.req('ResourceType'), p.list('ResourceId'), p.tags()),
      AddTags: (p) => this.tagResources(p, p.req('ResourceType'), [p.req('ResourceId')], p.tags()),
      UntagResources: (p) =>
        this.untag(p, p.req('ResourceType'), p.list('ResourceId'), p.list('TagKey'), p.bool('All')),
      RemoveTags: (p) =>
        this.untag(
          p,
          p.req('ResourceType'),
          [p.req('ResourceId')],
          p.tags().map((t) => t.Key),
          p.tags().length === 0,
        ),
      ListTagResources: (p) => this.listTagResources(p),
      DescribeTags: (p) => this.describeTags(p),
    };
  }

  private tagged(type: string, id: string): TagMap {
    const t = type.toLowerCase();
    const res =
      t === 'instance'
        ? this.s.instances.get(id)
        : t === 'securitygroup'
          ? this.s.groups.get(id)
          : t === 'keypair'
            ? this.s.keyPairs.get(id)
            : undefined;
    if (!res) {
      if (!['instance', 'securitygroup', 'keypair'].includes(t))
        throw invalid('ResourceType', `does not support "${type}"`);
      throw new ApiError('InvalidResourceId.NotFound', `The specified resource ${id} does not exist.`);
    }
    return res.tags;
  }

  private tagResources(p: Params, type: string, ids: string[], tags: Tag[]): Record<string, unknown> {
    this.ctx.region(p);
    if (ids.length === 0) throw missing('ResourceId.1');
    if (tags.length === 0) throw missing('Tag.1.Key');
    const maps = ids.map((id) => this.tagged(type, id));
    for (const m of maps) mergeTags(m, tags);
    return {};
  }

  private untag(
    p: Params,
    type: string,
    ids: string[],
    keys: string[],
    all: boolean,
  ): Record<string, unknown> {
    this.ctx.region(p);
    if (ids.length === 0) throw missing('ResourceId.1');
    for (const id of ids) {
      const m = this.tagged(type, id);
      if (all) m.clear();
      else for (const k of keys) m.delete(k);
    }
    return {};
  }

  private resources(type?: string): { type: string; id: string; tags: TagMap; regionId: string }[] {
    const out: { type: string; id: string; tags: TagMap; regionId: string }[] = [];
    const t = type?.toLowerCase();
    if (!t || t === 'instance')
      for (const i of this.s.instances.values())
        out.push({ type: 'instance', id: i.id, tags: i.tags, regionId: i.regionId });
    if (!t || t === 'securitygroup')
      for (const g of this.s.groups.values())
        out.push({ type: 'securitygroup', id: g.id, tags: g.tags, regionId: g.regionId });
    if (!t || t === 'keypair')
      for (const k of this.s.keyPairs.values())
        out.push({ type: 'keypair', id: k.name, tags: k.tags, regionId: k.regionId });
    return out;
  }

  private listTagResources(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const type = p.req('ResourceType');
    const ids = p.list('ResourceId');
    const tags = p.tags();
    if (ids.length === 0 && tags.length === 0) throw missing('ResourceId.1');
    const rows = this.resources(type)
      .filter(
        (r) => r.regionId === region && (ids.length === 0 || ids.includes(r.id)) && matchesTags(r.tags, tags),
      )
      .flatMap((r) => tagList(r.tags).map((t) => ({ ResourceId: r.id, ResourceType: r.type, ...t })));
    return pageByToken(p, rows, 'TagResources', 'TagResource');
  }

  private describeTags(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const type = p.str('ResourceType');
    const id = p.str('ResourceId');
    const tags = p.tags();
    const counts = new Map<string, { TagKey: string; TagValue: string; types: Record<string, number> }>();
    for (const r of this.resources(type)) {
      if (r.regionId !== region || (id && r.id !== id)) continue;
      for (const t of tagList(r.tags)) {
        if (tags.length > 0 && !matchesTags(new Map([[t.TagKey, t.TagValue]]), tags)) continue;
        const k = JSON.stringify([t.TagKey, t.TagValue]);
        const e = counts.get(k) ?? { ...t, types: {} };
        const label =
          r.type === 'securitygroup' ? 'Securitygroup' : r.type === 'keypair' ? 'KeyPair' : 'Instance';
        e.types[label] = (e.types[label] ?? 0) + 1;
        counts.set(k, e);
      }
    }
    const all = [...counts.values()].map((e) => ({
      TagKey: e.TagKey,
      TagValue: e.TagValue,
      ResourceTypeCount: e.types,
    }));
    const { page, ...rest } = paginate(p, all, 100, 50);
    return { Tags: { Tag: page }, ...rest };
  }
}
