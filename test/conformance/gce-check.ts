/**
 * Checks one recorded Compute Engine request against the API's definitions (gce-definitions.ts):
 * method and path against an http rule, path and query parameters, the body by JSON name and type
 * (int64 as a string, enums by name, repeated fields as arrays, maps of strings), required fields,
 * output-only and setLabels-only fields, and the documented shape of references to other resources.
 */
import {
  gceApi,
  SYSTEM_PARAMS,
  type FieldDef,
  type GceApi,
  type MessageDef,
  type OperationDef,
} from './gce-definitions.js';
import type { Checked, Violation } from './violation.js';

export interface GceRequest {
  method: string;
  /** URL path, `/compute/v1/projects/...`. */
  path: string;
  /** Query string without `?`. */
  query?: string;
  /** The raw body, when there was one. */
  body?: string;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const UINT32 = { min: 0, max: 2 ** 32 - 1 };

/** A resource reference: full URL or partial (`projects/p/zones/z/instances/i`, `global/networks/n`). */
const REF_RE =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?(?:projects\/([^/]+)\/)?((?:global|regions\/[^/]+|zones\/[^/]+)\/[A-Za-z]+\/.+)$/;

interface Ctx {
  api: GceApi;
  op: OperationDef;
  out: Violation[];
  call: string;
}

function report(ctx: Ctx, field: string, problem: string): void {
  ctx.out.push({ cloud: 'gce', call: ctx.call, operation: ctx.op.id, field, problem });
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A scalar value in proto3 JSON's canonical form for its type. */
function checkScalar(ctx: Ctx, f: FieldDef, v: unknown, at: string): void {
  const t = f.type;
  const intIn = (r: { min: number; max: number }) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < r.min || v > r.max)
      report(ctx, at, `${t} field: expected an integer number, got ${JSON.stringify(v)}`);
  };
  switch (t) {
    case 'string':
      if (typeof v !== 'string') return report(ctx, at, `string field: got ${kind(v)} ${JSON.stringify(v)}`);
      if (f.enumValues && !f.enumValues.includes(v))
        return report(
          ctx,
          at,
          `"${v}" is not a value of enum ${f.enumName}: one of ${f.enumValues.join(', ')}`,
        );
      if (!f.enumValues) checkReference(ctx, f, v, at);
      return;
    case 'bool':
      if (typeof v !== 'boolean') report(ctx, at, `bool field: got ${kind(v)} ${JSON.stringify(v)}`);
      return;
    case 'int32':
      return intIn(INT32);
    case 'uint32':
      return intIn(UINT32);
    case 'int64':
    case 'uint64':
      if (typeof v !== 'string' || !(t === 'int64' ? /^-?\d+$/ : /^\d+$/).test(v))
        report(
          ctx,
          at,
          `${t} field: expected a decimal string (int64 is a JSON string), got ${JSON.stringify(v)}`,
        );
      return;
    case 'double':
    case 'float':
      if (typeof v !== 'number') report(ctx, at, `${t} field: expected a number, got ${JSON.stringify(v)}`);
      return;
  }
}

/**
 * A string that names another resource must have the shape the API documents: a full or partial URL
 * that resolves to a resource the API can get (a GET http rule), of a collection the field's
 * documentation names when it names any.
 */
function checkReference(ctx: Ctx, f: FieldDef, v: string, at: string): void {
  const m = REF_RE.exec(v);
  if (!m) return;
  const rest = m[2];
  const path = `/compute/v1/projects/${m[1] ?? '{project}'}/${rest}`;
  const hit = ctx.api.match('GET', path);
  if (!hit) {
    report(ctx, at, `"${v}" is not a URL of any resource the API can get (no GET http rule matches ${path})`);
    return;
  }
  const collection = collectionOf(hit.op.path);
  if (!collection) return;
  const documented = documentedCollections(ctx.api, f);
  if (documented.length && !documented.includes(collection))
    report(
      ctx,
      at,
      `"${v}" refers to ${collection}; the field documents a reference to ${documented.join(' or ')}`,
    );
}

/** The collection of the last `{coll}/{name}` pair of a rule (`images/family/{family}` → images). */
function collectionOf(path: string): string | undefined {
  const pairs = [...path.replace(/\/family\/\{family\}$/, '/{image}').matchAll(/\/(\w+)\/\{\w+\}/g)];
  return pairs.at(-1)?.[1];
}

const documentedCache = new WeakMap<FieldDef, string[]>();

/**
 * Collections a field's documentation names as what it refers to: those of the example URLs it
 * gives (`zones/zone/machineTypes/machine-type`, `global/networks/default`) and resource kinds it
 * names in CamelCase (`HttpHealthCheck` → httpHealthChecks).
 */
function documentedCollections(api: GceApi, f: FieldDef): string[] {
  let out = documentedCache.get(f);
  if (out) return out;
  const found = new Set<string>();
  for (const m of f.comment.matchAll(/(?:global|regions\/[\w{}-]+|zones\/[\w{}-]+)\/([a-zA-Z]+)\/[\w{}-]+/g))
    if (api.collections.has(m[1])) found.add(m[1]);
  for (const m of f.comment.matchAll(/\b([A-Z][a-z]+(?:[A-Z][a-z]+)+)\b/g)) {
    const c = `${m[1].charAt(0).toLowerCase()}${m[1].slice(1)}s`;
    if (api.collections.has(c)) found.add(c);
  }
  out = [...found];
  documentedCache.set(f, out);
  return out;
}

function checkMessage(ctx: Ctx, msg: MessageDef | undefined, v: unknown, at: string, top: boolean): void {
  if (!msg) return;
  if (kind(v) !== 'object') return report(ctx, at, `message ${msg.name}: expected an object, got ${kind(v)}`);
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const here = `${at}.${key}`;
    const f = msg.fields.get(key);
    if (!f) {
      const byProto = [...msg.fields.values()].find((x) => x.proto === key);
      report(
        ctx,
        here,
        byProto
          ? `not the JSON name of ${msg.name}.${byProto.proto}: send "${byProto.json}"`
          : `${msg.name} has no field "${key}"`,
      );
      continue;
    }
    if (value === null || value === undefined) continue;
    // The REST transport writes unset maps and lists as {} and []: nothing is set by them.
    const empty =
      (Array.isArray(value) && value.length === 0) ||
      (kind(value) === 'object' &&
        (f.map || !ctx.api.messages.has(f.type)) &&
        Object.keys(value as object).length === 0);
    if (empty) continue;
    if (f.outputOnly) report(ctx, here, `${msg.name}.${f.json} is output only: the server sets it`);
    if (f.setLabelsOnly && top && ctx.op.id.endsWith('.insert'))
      report(
        ctx,
        here,
        `${msg.name}.${f.json} can only be added or modified by the setLabels method (the definition says so; insert ignores it)`,
      );
    checkField(ctx, f, value, here);
  }
}

function checkField(ctx: Ctx, f: FieldDef, v: unknown, at: string): void {
  if (f.map) {
    if (kind(v) !== 'object') return report(ctx, at, `map field: expected an object, got ${kind(v)}`);
    // map<string, V>: each value is a V (a string for labels, a message for perInstanceProperties).
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      checkOne(ctx, { ...f, map: false, repeated: false }, x, `${at}.${k}`);
    return;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) return report(ctx, at, `repeated field: expected an array, got ${kind(v)}`);
    v.forEach((x, i) => checkOne(ctx, f, x, `${at}[${i}]`));
    return;
  }
  checkOne(ctx, f, v, at);
}

function checkOne(ctx: Ctx, f: FieldDef, v: unknown, at: string): void {
  const msg = ctx.api.messages.get(f.type);
  if (msg) checkMessage(ctx, msg, v, at, false);
  else checkScalar(ctx, f, v, at);
}

/** Check one request; `api` defaults to the published definitions. */
export function checkGceRequest(r: GceRequest, api: GceApi = gceApi()): Checked {
  const call = `${r.method} ${r.path}${r.query ? `?${r.query}` : ''}`;
  const found = api.match(r.method, r.path);
  if (!found)
    return {
      violations: [
        {
          cloud: 'gce',
          call,
          operation: '?',
          field: 'path',
          problem: `no google.api.http rule of compute v1 matches ${r.method} ${r.path}`,
        },
      ],
    };
  const { op, params } = found;
  const ctx: Ctx = { api, op, out: [], call };
  for (const p of op.pathParams) if (!params[p]) report(ctx, p, 'required path parameter is empty');
  const query = new URLSearchParams(r.query ?? '');
  for (const [k, value] of query) {
    if (SYSTEM_PARAMS.has(k)) continue;
    const f = op.query.get(k);
    if (!f) {
      report(ctx, k, `${op.id} has no query parameter "${k}"`);
      continue;
    }
    const parsed =
      f.type === 'bool'
        ? value === 'true'
          ? true
          : value === 'false'
            ? false
            : value
        : ['int32', 'uint32'].includes(f.type) && /^-?\d+$/.test(value)
          ? Number(value)
          : value;
    checkField(ctx, { ...f, repeated: false }, parsed, k);
  }
  for (const req of op.required) {
    if (op.pathParams.includes(req)) continue;
    if (op.body && req === op.body.field) {
      if (!r.body?.trim()) report(ctx, req, `the request body (${op.body.message}) is required`);
      continue;
    }
    if (!query.has(req)) report(ctx, req, 'required query parameter missing');
  }
  if (r.body?.trim()) {
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch (err) {
      report(ctx, 'body', `not JSON: ${(err as Error).message}`);
      return { operation: op.id, violations: ctx.out };
    }
    if (!op.body) {
      // The REST transport sends `""` for a POST without a body (operations.wait, instances.start).
      const empty =
        body === '' || body === null || (kind(body) === 'object' && Object.keys(body as object).length === 0);
      if (!empty) report(ctx, 'body', `${op.id} takes no body; got ${r.body.slice(0, 80)}`);
    } else {
      checkMessage(ctx, api.messages.get(op.body.message), body, op.body.field, true);
    }
  }
  return { operation: op.id, violations: ctx.out };
}
