// Reading RPC parameters as they arrive: every value is a string; pop-core flattens arrays into
// `Name.N` / `Name.N.Field` keys; some APIs take JSON-encoded arrays in one parameter instead.
import { ApiError, invalid, missing } from './errors.js';

export interface Tag {
  Key: string;
  Value: string;
}

export class Params {
  constructor(readonly raw: Record<string, string>) {}

  str(name: string): string | undefined {
    const v = this.raw[name];
    return v === undefined || v === '' ? undefined : v;
  }

  req(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw missing(name);
    return v;
  }

  int(name: string, def: number, min = -Infinity, max = Infinity): number {
    const v = this.str(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v)) throw invalid(name, `must be an integer, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw invalid(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  reqInt(name: string, min: number, max: number): number {
    this.req(name);
    return this.int(name, 0, min, max);
  }

  bool(name: string, def = false): boolean {
    const v = this.str(name);
    if (v === undefined) return def;
    if (v === 'true' || v === 'True') return true;
    if (v === 'false' || v === 'False') return false;
    throw invalid(name, `must be true or false, got "${v}"`);
  }

  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.str(name);
    if (v === undefined) return def;
    const hit = values.find((x) => x.toLowerCase() === v.toLowerCase());
    if (!hit) throw invalid(name, `must be one of ${values.join('|')}, got "${v}"`);
    return hit;
  }

  /** A parameter holding a JSON array (e.g. InstanceIds='["i-1"]'); `code` names the malformed error. */
  jsonArray(name: string, code = 'InvalidParameter'): unknown[] | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw new ApiError(code, `The specified parameter "${name}" is not a valid JSON array: ${v}`);
    }
    if (!Array.isArray(parsed))
      throw new ApiError(code, `The specified parameter "${name}" must be a JSON array.`);
    return parsed;
  }

  /** A JSON array of strings (InstanceIds, KeyPairNames, SecurityGroupIds, ...). */
  jsonStrings(name: string, code = 'InvalidParameter', max = 100): string[] | undefined {
    const arr = this.jsonArray(name, code);
    if (arr === undefined) return undefined;
    if (arr.length > max)
      throw new ApiError(code, `The specified parameter "${name}" holds more than ${max} items.`);
    return arr.map((x) => {
      if (typeof x !== 'string')
        throw new ApiError(code, `The specified parameter "${name}" must hold strings.`);
      return x;
    });
  }

  /** `Name.1`, `Name.2`, ... (repeat list, as pop-core flattens a string array). */
  list(name: string): string[] {
    return this.indexed(name)
      .map((n) => this.raw[`${name}.${n}`])
      .filter((v): v is string => v !== undefined && v !== '');
  }

  /** Indexes N present as `Name.N` or `Name.N.Field`, ascending. */
  indexed(name: string): number[] {
    const seen = new Set<number>();
    const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)(\\.|$)`);
    for (const k of Object.keys(this.raw)) {
      const m = re.exec(k);
      if (m) seen.add(Number(m[1]));
    }
    return [...seen].sort((a, b) => a - b);
  }

  /** `Tag.N.Key` / `Tag.N.Value` (N = 1..20). A key without a value has Value ''. */
  tags(name = 'Tag'): Tag[] {
    const tags: Tag[] = [];
    for (const n of this.indexed(name)) {
      const key = this.raw[`${name}.${n}.Key`];
      const value = this.raw[`${name}.${n}.Value`] ?? '';
      if (key === undefined || key === '') {
        if (value !== '') throw missing(`${name}.${n}.Key`);
        continue;
      }
      tags.push({ Key: key, Value: value });
    }
    if (tags.length > 20) throw new ApiError('InvalidTagCount', 'The number of tags cannot exceed 20.');
    for (const t of tags) checkTag(t);
    return tags;
  }

  /** Every non-common parameter but ClientToken, for ClientToken idempotency checks. */
  fingerprint(): string {
    return JSON.stringify(Object.entries(callParams(this.raw, ['ClientToken'])));
  }
}

/** Parameters every request carries (signature, version, ...): not the call's own. */
const COMMON = new Set([
  'Action',
  'Format',
  'Timestamp',
  'Version',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'AccessKeyId',
  'Signature',
  'SecurityToken',
]);

/** The call's own parameters (common ones and `drop` left out), keys sorted. */
export function callParams(raw: Record<string, string>, drop: string[] = []): Record<string, string> {
  return Object.fromEntries(
    Object.keys(raw)
      .filter((k) => !COMMON.has(k) && !drop.includes(k))
      .sort()
      .map((k) => [k, raw[k]]),
  );
}

export function checkTag(t: Tag): void {
  if (t.Key.length > 128 || /^(aliyun|acs:)/i.test(t.Key) || /https?:\/\//.test(t.Key)) {
    throw new ApiError('InvalidTagKey.Malformed', `The specified tag key "${t.Key}" is not valid.`);
  }
  if (t.Value.length > 128 || /^(aliyun|acs:)/i.test(t.Value) || /https?:\/\//.test(t.Value)) {
    throw new ApiError('InvalidTagValue.Malformed', `The specified tag value "${t.Value}" is not valid.`);
  }
}

/** Resource tags keyed by tag key. */
export type TagMap = Map<string, string>;

export function mergeTags(target: TagMap, tags: Tag[]): void {
  for (const t of tags) target.set(t.Key, t.Value);
  if (target.size > 20) throw new ApiError('InvalidTagCount', 'A resource can have at most 20 tags.');
}

/** Every filter tag matches (a filter with an empty value matches the key alone). */
export function matchesTags(have: TagMap, want: Tag[]): boolean {
  return want.every((t) => have.has(t.Key) && (t.Value === '' || have.get(t.Key) === t.Value));
}

export const tagList = (tags: TagMap): { TagKey: string; TagValue: string }[] =>
  [...tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));

/** Page of `items` (PageNumber from 1, PageSize 1..max) plus the fields every Describe returns. */
export function paginate<T>(
  p: Params,
  items: T[],
  maxSize = 100,
  defSize = 10,
): { page: T[]; TotalCount: number; PageNumber: number; PageSize: number } {
  const PageNumber = p.int('PageNumber', 1, 1);
  const PageSize = p.int('PageSize', defSize, 1, maxSize);
  const start = (PageNumber - 1) * PageSize;
  return { page: items.slice(start, start + PageSize), TotalCount: items.length, PageNumber, PageSize };
}

/**
 * DescribeInstances / DescribeSecurityGroups: `NextToken` + `MaxResults` (the current form) when
 * either is given, else PageNumber/PageSize. A token names where the next page starts; '' ends.
 */
export function pageOrToken<T>(p: Params, items: T[], maxSize: number): { page: T[]; [k: string]: unknown } {
  if (p.str('NextToken') === undefined && p.str('MaxResults') === undefined)
    return paginate(p, items, maxSize);
  if (p.str('PageNumber') !== undefined)
    throw new ApiError('InvalidParameter', 'NextToken/MaxResults and PageNumber cannot be used together.');
  const token = p.str('NextToken');
  const start = token === undefined ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString(), 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw invalid('NextToken');
  const max = p.int('MaxResults', 10, 1, maxSize);
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : '';
  return { page, NextToken: next, TotalCount: items.length, MaxResults: max };
}

/** `*` wildcard match, as name filters accept. */
export function wildcard(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

/** Token-paged list (ListTagResources): NextToken is an offset; 50 rows a page. */
export function pageByToken<T>(p: Params, rows: T[], outer: string, inner: string): Record<string, unknown> {
  const token = p.str('NextToken');
  const start = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0) throw invalid('NextToken');
  const page = rows.slice(start, start + 50);
  const next = start + 50 < rows.length ? String(start + 50) : '';
  return { [outer]: { [inner]: page }, NextToken: next };
}
