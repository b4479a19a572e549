/**
 * The Aliyun RPC actions swarmup may call, as their published definitions describe them:
 * - ECS 2014-05-26 from the request models of @alicloud/ecs20140526 (node_modules, read when first
 *   asked for): every parameter's wire name and casing (`names()`), type (`types()`, nested models
 *   flattened as the SDK flattens them: `Tag.N.Key`, `SystemDisk.Category`), and from each
 *   parameter's documentation whether it is required or deprecated, its valid values and range;
 *   the version and the action list from the package's client.
 * - SLB 2014-05-15 from `slb-2014-05-15.json` beside this file: facts we wrote down from Alibaba's
 *   API reference (no SDK of it is on our registry).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ParamType = 'string' | 'integer' | 'boolean' | 'json';

export interface ParamDef {
  /** Wire name with `N` for a 1-based index: `Tag.N.Key`, `Permissions.N.IpProtocol`, `InstanceIds`. */
  name: string;
  type: ParamType;
  required?: boolean;
  /** Required only where its parent (`Tag.N`) appears. */
  requiredInParent?: boolean;
  enum?: string[];
  caseInsensitive?: boolean;
  min?: number;
  max?: number;
  deprecated?: boolean;
  /** A JSON-valued parameter: what the JSON must be and the keys of its objects. */
  json?: { kind: 'array' | 'object'; itemKeys?: string[]; maxItems?: number };
  /** Largest N of the parameter's repeat index, when documented. */
  maxIndex?: number;
}

export interface ActionDef {
  product: 'ecs' | 'slb';
  version: string;
  action: string;
  params: ParamDef[];
  source: string;
}

export const ECS_VERSION = '2014-05-26';
export const SLB_VERSION = '2014-05-15';

/** Parameters of every signed RPC request (signature v1), not the action's own. */
export const COMMON_PARAMS: Record<string, { required: boolean; values?: string[] }> = {
  Action: { required: true },
  Version: { required: true },
  Format: { required: false, values: ['JSON', 'XML'] },
  AccessKeyId: { required: true },
  Signature: { required: true },
  SignatureMethod: { required: true, values: ['HMAC-SHA1'] },
  SignatureVersion: { required: true, values: ['1.0'] },
  SignatureNonce: { required: true },
  Timestamp: { required: true },
  SecurityToken: { required: false },
  ResourceOwnerAccount: { required: false },
  ResourceOwnerId: { required: false },
  OwnerAccount: { required: false },
  OwnerId: { required: false },
};

const require = createRequire(import.meta.url);

function ecsDir(): string {
  const entry = require.resolve('@alicloud/ecs20140526');
  let dir = dirname(entry);
  while (!dir.endsWith(join('node_modules', '@alicloud', 'ecs20140526'))) dir = dirname(dir);
  return join(dir, 'dist');
}

type ModelType = string | { type: 'array' | 'map'; itemType?: ModelType } | ModelClass;
interface ModelClass {
  name: string;
  names(): Record<string, string>;
  types(): Record<string, ModelType>;
}

/** Per property of each class in a model's .d.ts: its documentation. */
function docsOf(dts: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const cls of dts.split(/export declare class /).slice(1)) {
    const name = /^(\w+)/.exec(cls)![1];
    const props = new Map<string, string>();
    for (const m of cls.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)\?:/g))
      props.set(m[2], m[1].replace(/^\s*\* ?/gm, '').trim());
    out.set(name, props);
  }
  return out;
}

/** What a parameter's documentation says: required, deprecated, valid values, range. */
export function readDoc(doc: string): Partial<ParamDef> {
  const out: Partial<ParamDef> = {};
  if (/^This parameter is required\.$/m.test(doc)) out.required = true;
  if (/@deprecated|This parameter is deprecated/.test(doc)) out.deprecated = true;
  if (/case-insensitive|not case-sensitive/i.test(doc)) out.caseInsensitive = true;
  // "Valid values: 1 to 100." / "Valid values: 0 to 100"
  const range = /Valid values(?: of \w+)?: (-?\d+) to (-?\d+)\b/.exec(doc);
  if (range && !/Valid values of N/.test(range[0])) {
    out.min = Number(range[1]);
    out.max = Number(range[2]);
  }
  const max = /Maximum value: (\d+)\./.exec(doc);
  if (max && out.max === undefined) out.max = Number(max[1]);
  const n = /Valid values of N: (\d+) to (\d+)/.exec(doc);
  if (n) out.maxIndex = Number(n[2]);
  // "Valid values:" followed directly by a list whose every item is a bare token.
  const list = /Valid values:\s*\n((?:\s*\n)*(?:[-*] +[^\n]+\n?(?:\s*\n)*)+)/.exec(doc);
  if (list) {
    const items = [...list[1].matchAll(/^[-*] +(.+)$/gm)].map((x) => x[1].trim());
    // `- value`, `- value.`, `- value: what it means`, `- value (default): ...`; anything else
    // (`- TCP/UDP: ...`, `- If ...`) is prose, not a closed list.
    const tokens = items.map(
      (it) =>
        /^(?:\*\*)?`?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)`?(?:\*\*)?(?: \(default\))?(?::.*|\.)?$/.exec(
          it,
        )?.[1],
    );
    if (tokens.length >= 2 && tokens.every((t): t is string => !!t)) out.enum = tokens;
  }
  return out;
}

/** Flatten a request model into wire parameters, as the SDK's query flattening does. */
function flatten(
  cls: ModelClass,
  docs: Map<string, Map<string, string>>,
  prefix: string,
  nested: boolean,
  out: ParamDef[],
): void {
  const names = cls.names();
  const types = cls.types();
  const classDocs = docs.get(cls.name) ?? new Map<string, string>();
  for (const [prop, wire] of Object.entries(names)) {
    const t = types[prop];
    const doc = readDoc(classDocs.get(prop) ?? '');
    const name = `${prefix}${wire}`;
    const base = {
      ...doc,
      ...(nested && doc.required ? { required: false, requiredInParent: true } : {}),
    };
    if (typeof t === 'string') {
      const type = t === 'number' ? 'integer' : t === 'boolean' ? 'boolean' : 'string';
      // A documented list of values that cannot be of the parameter's type is prose, not an enum.
      if (type === 'integer' && base.enum?.some((v) => !/^-?\d+$/.test(v))) delete base.enum;
      out.push({ ...base, name, type });
    } else if (typeof t === 'function') {
      flatten(t, docs, `${name}.`, nested, out);
    } else if (t && typeof t === 'object' && 'type' in t && t.type === 'array') {
      const item = t.itemType;
      if (typeof item === 'function') flatten(item as ModelClass, docs, `${name}.N.`, true, out);
      else out.push({ ...base, name: `${name}.N`, type: item === 'number' ? 'integer' : 'string' });
    } else if (t && typeof t === 'object' && 'type' in t && t.type === 'map') {
      out.push({ ...base, name: `${name}.*`, type: 'string' });
    }
  }
}

let ecsCache: Map<string, ActionDef | null> | undefined;
let ecsActions: Set<string> | undefined;

/** The ECS action's definition from @alicloud/ecs20140526, or undefined when there is no such action. */
export function ecsAction(action: string): ActionDef | undefined {
  ecsCache ??= new Map();
  if (ecsCache.has(action)) return ecsCache.get(action) ?? undefined;
  const dir = ecsDir();
  if (!ecsActions) {
    const client = readFileSync(join(dir, 'client.js'), 'utf8');
    ecsActions = new Set(
      [...client.matchAll(/action: "(\w+)",\s*version: "([\d-]+)"/g)]
        .filter((m) => m[2] === ECS_VERSION)
        .map((m) => m[1]),
    );
  }
  let def: ActionDef | null = null;
  if (ecsActions.has(action)) {
    // The shrink variant, when there is one, is what goes on the wire (JSON-encoded members).
    const file = ['ShrinkRequest', 'Request']
      .map((s) => join(dir, 'models', `${action}${s}`))
      .find((f) => {
        try {
          readFileSync(`${f}.js`);
          return true;
        } catch {
          return false;
        }
      });
    if (file) {
      const mod = require(`${file}.js`) as Record<string, ModelClass>;
      const cls = mod[file.slice(file.lastIndexOf('/') + 1)];
      const params: ParamDef[] = [];
      flatten(cls, docsOf(readFileSync(`${file}.d.ts`, 'utf8')), '', false, params);
      def = { product: 'ecs', version: ECS_VERSION, action, params, source: '@alicloud/ecs20140526' };
    }
  }
  ecsCache.set(action, def);
  return def ?? undefined;
}

interface SlbFile {
  version: string;
  actions: Record<string, { reference: string; params: ParamDef[] }>;
}

let slbCache: SlbFile | undefined;

function slbFile(): SlbFile {
  if (slbCache) return slbCache;
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled into dist/, the JSON stays in the source tree.
  const candidates = [
    join(here, 'slb-2014-05-15.json'),
    join(here, '../../../test/conformance/slb-2014-05-15.json'),
  ];
  for (const f of candidates) {
    try {
      slbCache = JSON.parse(readFileSync(f, 'utf8')) as SlbFile;
      return slbCache;
    } catch {
      // next
    }
  }
  throw new Error(`conformance: slb-2014-05-15.json not found beside ${here}`);
}

export function slbAction(action: string): ActionDef | undefined {
  const a = slbFile().actions[action];
  if (!a) return undefined;
  return { product: 'slb', version: SLB_VERSION, action, params: a.params, source: a.reference };
}

/** Actions written down in the SLB file (for reports). */
export const slbActions = (): string[] => Object.keys(slbFile().actions);

export function aliyunAction(version: string, action: string): ActionDef | undefined {
  if (version === ECS_VERSION) return ecsAction(action);
  if (version === SLB_VERSION) return slbAction(action);
  return undefined;
}

/** The regex a parameter name stands for (`N` → a 1-based index, `*` → any key). */
export function paramPattern(name: string): RegExp {
  const src = name
    .split('.')
    .map((seg) =>
      seg === 'N' ? '([1-9]\\d*)' : seg === '*' ? '[^.]+' : seg.replace(/[$^()[\]\\|+?{}]/g, '\\$&'),
    )
    .join('\\.');
  return new RegExp(`^${src}$`);
}

/** `params` with `RegionId` added where the action's definition has one (tests calling actions by hand). */
export function withRegionId<T extends Record<string, unknown>>(
  version: string,
  action: string,
  regionId: string,
  params: T,
): T | (T & { RegionId: string }) {
  return aliyunAction(version, action)?.params.some((d) => d.name === 'RegionId')
    ? { RegionId: regionId, ...params }
    : params;
}
