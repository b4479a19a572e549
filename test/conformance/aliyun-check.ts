/**
 * Checks one recorded Aliyun RPC request against the definitions (aliyun-definitions.ts): the
 * product and version, the action, the signature parameters, and every parameter of the action by
 * its exact name and casing (`Tag.N.Key`), type, JSON-valued form (`BackendServers`), valid values,
 * range, required or deprecated.
 */
import {
  aliyunAction,
  COMMON_PARAMS,
  ECS_VERSION,
  paramPattern,
  SLB_VERSION,
  type ActionDef,
  type ParamDef,
} from './aliyun-definitions.js';
import type { Checked, Violation } from './violation.js';

export interface AliyunRequest {
  method: string;
  /** Every parameter as the server decoded it (query and form body), signature parameters included. */
  params: Record<string, string>;
}

const PRODUCT: Record<string, string> = { [ECS_VERSION]: 'Ecs', [SLB_VERSION]: 'Slb' };
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface Compiled {
  def: ParamDef;
  re: RegExp;
}

const compiled = new WeakMap<ActionDef, Compiled[]>();

function patterns(a: ActionDef): Compiled[] {
  let c = compiled.get(a);
  if (!c) {
    c = a.params.map((def) => ({ def, re: paramPattern(def.name) }));
    compiled.set(a, c);
  }
  return c;
}

function checkValue(def: ParamDef, value: string, say: (problem: string) => void): void {
  switch (def.type) {
    case 'integer':
      if (!/^-?\d+$/.test(value)) return say(`Integer parameter: got "${value}"`);
      break;
    case 'boolean':
      if (!/^(true|false)$/i.test(value)) return say(`Boolean parameter: got "${value}"`);
      break;
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return say(`a JSON-valued parameter: "${value}" is not JSON`);
      }
      const j = def.json!;
      if (j.kind === 'array' && !Array.isArray(parsed)) return say('must be a JSON array');
      if (j.kind === 'object' && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)))
        return say('must be a JSON object');
      if (Array.isArray(parsed)) {
        if (j.maxItems !== undefined && parsed.length > j.maxItems)
          say(`holds ${parsed.length} items; at most ${j.maxItems}`);
        if (j.itemKeys)
          parsed.forEach((item, i) => {
            if (typeof item !== 'object' || item === null)
              return say(`item ${i + 1}: expected an object with ${j.itemKeys!.join(', ')}`);
            for (const k of Object.keys(item))
              if (!j.itemKeys!.includes(k))
                say(`item ${i + 1} has the key "${k}"; the definition knows ${j.itemKeys!.join(', ')}`);
          });
      }
      return;
    }
  }
  if (def.enum) {
    const hit = def.caseInsensitive
      ? def.enum.some((v) => v.toLowerCase() === value.toLowerCase())
      : def.enum.includes(value);
    if (!hit) say(`"${value}" is not one of ${def.enum.join(', ')}`);
  }
  if (def.min !== undefined || def.max !== undefined) {
    const n = Number(value);
    if (def.type === 'integer' || /^-?\d+$/.test(value)) {
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max))
        say(`${value} is outside ${def.min ?? '-∞'}..${def.max ?? '∞'}`);
    }
  }
}

/** Check one request against the definitions of its product and action. */
export function checkAliyunRequest(r: AliyunRequest): Checked {
  const p = r.params;
  const action = p.Action ?? '';
  const version = p.Version ?? '';
  const product = PRODUCT[version];
  const call = `${product?.toLowerCase() ?? version} ${action}`;
  const operation = `${product ?? '?'} ${version} ${action}`;
  const out: Violation[] = [];
  const say = (field: string, problem: string) =>
    out.push({ cloud: 'aliyun', call, operation, field, problem });

  for (const [name, rule] of Object.entries(COMMON_PARAMS)) {
    const v = p[name];
    if (v === undefined || v === '') {
      if (rule.required) say(name, 'signature parameter missing');
    } else if (rule.values && !rule.values.includes(v))
      say(name, `"${v}" is not one of ${rule.values.join(', ')}`);
  }
  if (p.Timestamp && !TIMESTAMP_RE.test(p.Timestamp))
    say('Timestamp', `"${p.Timestamp}" is not ISO 8601 UTC to the second (YYYY-MM-DDThh:mm:ssZ)`);
  if (!product) {
    say('Version', `"${version}" is neither ECS ${ECS_VERSION} nor SLB ${SLB_VERSION}`);
    return { violations: out };
  }
  const def = aliyunAction(version, action);
  if (!def) {
    say(
      'Action',
      version === SLB_VERSION
        ? `${action} is not written down in test/conformance/slb-2014-05-15.json (add its facts from Alibaba's API reference)`
        : `${action} is not an action of ${product} ${version} (@alicloud/ecs20140526)`,
    );
    return { violations: out };
  }
  const defs = patterns(def);
  const present = new Map<ParamDef, string[]>();
  for (const [key, value] of Object.entries(p)) {
    if (key in COMMON_PARAMS && !defs.some((d) => d.re.test(key))) continue;
    const hit = defs.find((d) => d.re.test(key));
    if (!hit) {
      const lower = key.toLowerCase();
      const near = defs.find(
        (d) =>
          d.re.source.toLowerCase() === paramPattern(key).source.toLowerCase() ||
          new RegExp(d.re.source, 'i').test(lower),
      );
      say(
        key,
        near
          ? `unknown parameter: the definition spells it "${near.def.name}" (names are case-sensitive; the gateway ignores unknown names)`
          : `${action} has no parameter "${key}" (the gateway ignores unknown names)`,
      );
      continue;
    }
    const d = hit.def;
    const m = hit.re.exec(key)!;
    present.set(d, [...(present.get(d) ?? []), key]);
    if (d.deprecated) say(key, 'deprecated by the definition');
    if (d.maxIndex !== undefined && m[1] !== undefined && Number(m[1]) > d.maxIndex)
      say(key, `index ${m[1]} is beyond ${d.maxIndex}`);
    checkValue(d, value, (problem) => say(key, problem));
  }
  for (const { def: d, re } of defs) {
    if (d.required && !present.has(d)) say(d.name, 'required parameter missing');
    if (d.requiredInParent) {
      // `Permissions.N.IpProtocol`: required in every `Permissions.N` that is present.
      const parent = d.name.slice(0, d.name.lastIndexOf('.'));
      const parentRe = paramPattern(parent);
      const indexes = new Set<string>();
      for (const key of Object.keys(p)) {
        const prefix = key.split('.').slice(0, parent.split('.').length).join('.');
        if (parentRe.test(prefix)) indexes.add(prefix);
      }
      for (const idx of indexes) {
        const want = `${idx}.${d.name.slice(parent.length + 1)}`;
        if (!re.test(want) || p[want] === undefined || p[want] === '')
          say(want, 'required parameter missing');
      }
    }
  }
  return { operation, violations: out };
}
