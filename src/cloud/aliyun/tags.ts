/**
 * Tags: how swarmup marks what it makes on Aliyun, and how tags travel in each API. ECS takes
 * `Tag.N.Key`/`Tag.N.Value` (pop-core flattens `Tag: [{Key, Value}]`), SLB's DescribeLoadBalancers a
 * JSON `Tags` list, and both return `Tags.Tag[{TagKey, TagValue}]`.
 */
import type { ClusterMembership } from '../../driver/contract.js';
import { UserError } from '../../errors.js';

export type Tags = Record<string, string>;

export const TAG = {
  cluster: 'swarmup-cluster',
  role: 'swarmup-role',
  machine: 'swarmup-machine',
  store: 'swarmup-store',
  expires: 'swarmup-expires',
} as const;

/** Aliyun allows at most 20 tags on a resource. */
export const MAX_TAGS = 20;

function checkTag(key: string, value: string, what: string): void {
  if (!key || key.length > 128)
    throw new UserError(`invalid ${what} "${key}": a key has 1 to 128 characters`);
  if (/^(aliyun|acs:)/i.test(key) || /https?:\/\//i.test(key)) {
    throw new UserError(
      `invalid ${what} "${key}": a key may not start with aliyun or acs: nor contain http://`,
    );
  }
  if (value.length > 128 || /^(aliyun|acs:)/i.test(value) || /https?:\/\//i.test(value)) {
    throw new UserError(
      `invalid ${what} value "${value}": at most 128 characters, not starting with aliyun or acs:, no http://`,
    );
  }
}

/** `--aliyunecs-tag k=v` values (each may hold several, comma-separated). */
export function parseUserTags(list: readonly string[] | undefined): Tags {
  const out: Tags = {};
  for (const item of (list ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = item.indexOf('=');
    if (i < 1) throw new UserError(`invalid --aliyunecs-tag "${item}": expected key=value`);
    const key = item.slice(0, i).trim();
    const value = item.slice(i + 1).trim();
    checkTag(key, value, '--aliyunecs-tag');
    if (key.startsWith('swarmup-')) {
      throw new UserError(`invalid --aliyunecs-tag "${item}": swarmup-* tags are swarmup's own`);
    }
    out[key] = value;
  }
  return out;
}

/** Membership labels as tags: `swarmup.expires` becomes `swarmup-expires`; other labels stay as they are. */
export function labelTags(labels: Record<string, string>): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(labels)) {
    const key = k.startsWith('swarmup.') ? `swarmup-${k.slice('swarmup.'.length).replace(/\./g, '-')}` : k;
    checkTag(key, v, 'label');
    out[key] = v;
  }
  return out;
}

/** The tags of one resource: the user's, the cluster's labels, then swarmup's own (which win). */
export function resourceTags(o: {
  user: Tags;
  cluster?: Pick<ClusterMembership, 'name' | 'labels'>;
  role: string;
  storeId?: string;
  machine?: string;
}): Tags {
  const tags: Tags = {
    ...o.user,
    ...(o.cluster ? labelTags(o.cluster.labels) : {}),
    ...(o.cluster ? { [TAG.cluster]: o.cluster.name } : {}),
    [TAG.role]: o.role,
    ...(o.machine ? { [TAG.machine]: o.machine } : {}),
    ...(o.storeId ? { [TAG.store]: o.storeId } : {}),
  };
  const n = Object.keys(tags).length;
  if (n > MAX_TAGS) {
    throw new UserError(`too many tags (${n}): Aliyun allows ${MAX_TAGS} per resource, swarmup uses up to 5`);
  }
  return tags;
}

/** ECS request form: `{Tag: [{Key, Value}]}` → `Tag.1.Key=…&Tag.1.Value=…`. */
export function ecsTagParams(tags: Tags): { Tag?: Array<{ Key: string; Value: string }> } {
  const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  return list.length ? { Tag: list } : {};
}

/** An ECS filter on a key alone (any value) or a key and value. */
export function ecsTagFilter(key: string, value?: string): { Tag: Array<{ Key: string; Value?: string }> } {
  return { Tag: [value === undefined ? { Key: key } : { Key: key, Value: value }] };
}

/** SLB form: a JSON list `[{"TagKey":"k","TagValue":"v"}]` (DescribeLoadBalancers `Tags`). */
export function slbTagsJson(tags: Tags): string {
  return JSON.stringify(Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })));
}

/** Tags as a response carries them: `{Tags: {Tag: [{TagKey, TagValue}]}}` (or a bare list). */
export function tagsOf(resource: { Tags?: unknown }): Tags {
  const t = resource.Tags as { Tag?: unknown } | unknown[] | undefined;
  const list = (Array.isArray(t) ? t : (t as { Tag?: unknown } | undefined)?.Tag) ?? [];
  const out: Tags = {};
  for (const x of Array.isArray(list) ? list : []) {
    const e = x as { TagKey?: string; TagValue?: string; Key?: string; Value?: string };
    const k = e.TagKey ?? e.Key;
    if (k) out[k] = e.TagValue ?? e.Value ?? '';
  }
  return out;
}
