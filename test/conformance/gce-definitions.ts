/**
 * The Compute Engine v1 API as its published definitions describe it, derived when first asked for:
 * every service, method and `google.api.http` rule, request message, resource message, JSON name
 * and enum of the `compute.proto` shipped inside @google-cloud/compute, plus `httpHealthChecks`
 * (absent from compute.proto) from the discovery-generated @googleapis/compute package. Nothing of
 * either is copied into this repository: both are read from node_modules.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

export type Scalar = 'string' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'double' | 'float';

export interface FieldDef {
  /** The proto field name (`I_p_address`); the JSON name is the key in MessageDef.fields. */
  proto: string;
  json: string;
  /** A scalar, or the full name of a message. */
  type: Scalar | string;
  repeated: boolean;
  /** map<string, type> (labels: map<string, string>); `type` is the value's. */
  map: boolean;
  /** Allowed names when the field is a string that the definition ties to an enum. */
  enumValues?: string[];
  enumName?: string;
  /** Documented as output only: the server sets it, a request has no business sending it. */
  outputOnly: boolean;
  /** Documented as settable only through the resource's setLabels method. */
  setLabelsOnly: boolean;
  /** The field's documentation (for the documented shape of references). */
  comment: string;
}

export interface MessageDef {
  name: string;
  /** By JSON name. */
  fields: Map<string, FieldDef>;
}

export interface OperationDef {
  /** `compute.addresses.insert`. */
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/compute/v1/projects/{project}/regions/{region}/addresses`. */
  path: string;
  pathParams: string[];
  /** Query parameters by JSON name (and, as transcoding allows, by proto name). */
  query: Map<string, FieldDef>;
  /** The request field the body binds to, and its message. */
  body?: { field: string; message: string };
  /** Request fields marked REQUIRED (path parameters, the body), by JSON name. */
  required: string[];
  source: 'compute.proto' | '@googleapis/compute';
}

export interface GceApi {
  operations: OperationDef[];
  messages: Map<string, MessageDef>;
  /** Collection names that appear in the http rules (`instances`, `targetPools`, ...). */
  collections: Set<string>;
  /** The operation whose http rule matches, with its path parameters. */
  match(method: string, path: string): { op: OperationDef; params: Record<string, string> } | undefined;
}

/** System parameters every Google API takes in the query, whatever the method. */
export const SYSTEM_PARAMS: ReadonlySet<string> = new Set([
  '$.xgafv',
  'access_token',
  'alt',
  'callback',
  'fields',
  'key',
  'oauth_token',
  'prettyPrint',
  'quotaUser',
  'upload_protocol',
  'uploadType',
  'userIp',
]);

/** proto3's JSON name of a field: underscores dropped, the letter after each one upper-cased. */
export const jsonName = (proto: string): string => proto.replace(/_(.)/g, (_, c: string) => c.toUpperCase());

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

const SCALARS = new Set(['string', 'bool', 'int32', 'uint32', 'int64', 'uint64', 'double', 'float']);
const PACKAGE = 'google.cloud.compute.v1';

const require = createRequire(import.meta.url);

/** Where a package's files are (its package.json's folder; packages may not export it). */
function packageDir(name: string): string {
  const entry = require.resolve(name);
  let dir = dirname(entry);
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of ${name}`);
    dir = up;
  }
  return dir;
}

function outputOnly(comment: string): boolean {
  return /^\s*(Output only\.|\[Output Only\])/i.test(comment) || /^Output only\./m.test(comment);
}

/** The full name of a field's message or enum (types outside the package, google.protobuf.Any, as written). */
function typeName(f: protobuf.Field): string {
  try {
    return f.resolve().resolvedType?.fullName.replace(/^\./, '') ?? f.type;
  } catch {
    return f.type;
  }
}

function fieldOf(f: protobuf.Field, owner: protobuf.Type): FieldDef {
  const comment = f.comment ?? '';
  const def: FieldDef = {
    proto: f.name,
    json: jsonName(f.name),
    type: SCALARS.has(f.type) ? f.type : typeName(f),
    repeated: f.repeated,
    map: f instanceof protobuf.MapField,
    outputOnly: outputOnly(comment),
    setLabelsOnly: /can only be added or modified by the\s*setLabels method/i.test(comment),
    comment,
  };
  const m = /Check the (\w+) enum for the list of possible values/.exec(comment);
  if (m && f.type === 'string') {
    let scope: protobuf.NamespaceBase | null = owner;
    while (scope) {
      const e = scope.nested?.[m[1]];
      if (e instanceof protobuf.Enum) {
        def.enumName = e.fullName.replace(/^\./, '');
        // UNDEFINED_* = 0 is the proto conversion's "not set", not a value of the API.
        def.enumValues = Object.keys(e.values).filter((v) => e.values[v] !== 0 || !/^UNDEFINED_/.test(v));
        break;
      }
      scope = scope.parent;
    }
  }
  return def;
}

function messagesOf(ns: protobuf.NamespaceBase, out: Map<string, MessageDef>): void {
  for (const t of ns.nestedArray) {
    if (t instanceof protobuf.Type) {
      const fields = new Map<string, FieldDef>();
      for (const f of t.fieldsArray) {
        const d = fieldOf(f, t);
        fields.set(d.json, d);
      }
      out.set(t.fullName.replace(/^\./, ''), { name: t.fullName.replace(/^\./, ''), fields });
      messagesOf(t, out);
    }
  }
}

const HTTP_VERBS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function fromProto(messages: Map<string, MessageDef>): OperationDef[] {
  const file = join(
    packageDir('@google-cloud/compute'),
    'build/protos/google/cloud/compute/v1/compute.proto',
  );
  const root = protobuf.parse(readFileSync(file, 'utf8'), {
    keepCase: true,
    alternateCommentMode: true,
  }).root;
  const ns = root.lookup(PACKAGE) as protobuf.Namespace;
  messagesOf(ns, messages);
  const ops: OperationDef[] = [];
  for (const svc of ns.nestedArray) {
    if (!(svc instanceof protobuf.Service)) continue;
    for (const m of svc.methodsArray) {
      const opts = (m.options ?? {}) as Record<string, string>;
      const verb = HTTP_VERBS.find((v) => opts[`(google.api.http).${v}`]);
      if (!verb) continue;
      const path = opts[`(google.api.http).${verb}`];
      const bodyField = opts['(google.api.http).body'];
      const reqName = `${PACKAGE}.${m.requestType}`;
      const req = messages.get(reqName);
      if (!req) throw new Error(`compute.proto: no message ${reqName}`);
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]);
      const query = new Map<string, FieldDef>();
      let body: OperationDef['body'];
      const required: string[] = [];
      const reqType = root.lookupType(reqName);
      for (const f of reqType.fieldsArray) {
        const d = req.fields.get(jsonName(f.name))!;
        const behavior = (f.options ?? {})['(google.api.field_behavior)'];
        if (behavior === 'REQUIRED') required.push(d.json);
        if (f.name === bodyField) body = { field: d.json, message: d.type };
        else if (!pathParams.includes(f.name)) {
          query.set(d.json, d);
          query.set(d.proto, d);
        }
      }
      ops.push({
        id: `compute.${lowerFirst(svc.name)}.${lowerFirst(m.name)}`,
        method: verb.toUpperCase() as OperationDef['method'],
        path,
        pathParams: pathParams.map(jsonName),
        query,
        body,
        required,
        source: 'compute.proto',
      });
    }
  }
  return ops;
}

/**
 * httpHealthChecks from @googleapis/compute: the method table of `Resource$Httphealthchecks` (url,
 * method, required and path parameters) in build/v1.js and the `Schema$HttpHealthCheck` and
 * `Params$Resource$Httphealthchecks$*` interfaces in build/v1.d.ts.
 */
function fromDiscovery(messages: Map<string, MessageDef>): OperationDef[] {
  const dir = join(packageDir('@googleapis/compute'), 'build');
  const js = readFileSync(join(dir, 'v1.js'), 'utf8');
  const dts = readFileSync(join(dir, 'v1.d.ts'), 'utf8');
  const interfaceBody = (name: string): string => {
    const start = dts.indexOf(`export interface ${name} `);
    if (start < 0) throw new Error(`@googleapis/compute: no interface ${name}`);
    const open = dts.indexOf('{', start);
    let depth = 0;
    for (let i = open; i < dts.length; i++) {
      if (dts[i] === '{') depth++;
      else if (dts[i] === '}' && --depth === 0) return dts.slice(open + 1, i);
    }
    throw new Error(`@googleapis/compute: unterminated interface ${name}`);
  };
  /** Members of an interface: name, TypeScript type, doc comment. */
  const members = (name: string) =>
    [...interfaceBody(name).matchAll(/(?:\/\*\*([\s\S]*?)\*\/\s*)?(\w+)\?: ([^;]+);/g)].map((x) => ({
      doc: (x[1] ?? '').replace(/^\s*\* ?/gm, '').trim(),
      name: x[2],
      type: x[3].replace(/ \| null$/, '').trim(),
    }));
  const scalarOf = (ts: string): Scalar => (ts === 'number' ? 'int32' : ts === 'boolean' ? 'bool' : 'string');
  const schema = 'HttpHealthCheck';
  const fields = new Map<string, FieldDef>();
  for (const m of members(`Schema$${schema}`)) {
    const doc = m.doc;
    fields.set(m.name, {
      proto: m.name,
      json: m.name,
      // id is a uint64 in the API, which discovery writes as a string
      type: m.name === 'id' ? 'uint64' : scalarOf(m.type),
      repeated: false,
      map: false,
      outputOnly: /^\[Output Only\]/.test(doc),
      setLabelsOnly: false,
      comment: doc,
    });
  }
  messages.set(`discovery.${schema}`, { name: `discovery.${schema}`, fields });

  const start = js.indexOf('class Resource$Httphealthchecks {');
  const end = js.indexOf('\n    class ', start + 10);
  const block = js.slice(start, end < 0 ? undefined : end);
  const ops: OperationDef[] = [];
  const methodRe =
    /\n {8}(\w+)\(paramsOrCallback[\s\S]*?'(\/compute\/v1\/[^']+)'[\s\S]*?method: '(\w+)'[\s\S]*?requiredParams: \[([^\]]*)\],\s*pathParams: \[([^\]]*)\]/g;
  const list = (s: string) => [...s.matchAll(/'(\w+)'/g)].map((x) => x[1]);
  for (const m of block.matchAll(methodRe)) {
    const [, name, path, method, req, pathParams] = m;
    const params = members(
      `Params$Resource$Httphealthchecks$${name.charAt(0).toUpperCase()}${name.slice(1).toLowerCase()}`,
    );
    const query = new Map<string, FieldDef>();
    let body: OperationDef['body'];
    for (const p of params) {
      if (p.name === 'requestBody') body = { field: 'resource', message: `discovery.${schema}` };
      else if (!list(pathParams).includes(p.name))
        query.set(p.name, {
          proto: p.name,
          json: p.name,
          type: scalarOf(p.type),
          repeated: false,
          map: false,
          outputOnly: false,
          setLabelsOnly: false,
          comment: p.doc,
        });
    }
    ops.push({
      id: `compute.httpHealthChecks.${name}`,
      method: method as OperationDef['method'],
      path,
      pathParams: list(pathParams),
      query,
      body,
      required: [...list(req), ...(body && method !== 'GET' ? [body.field] : [])],
      source: '@googleapis/compute',
    });
  }
  if (ops.length === 0) throw new Error('@googleapis/compute: no httpHealthChecks methods found');
  return ops;
}

function compile(ops: OperationDef[]) {
  return ops.map((op) => ({
    op,
    re: new RegExp(`^${op.path.replace(/\{(\w+)\}/g, '([^/]+)')}$`),
    names: [...op.path.matchAll(/\{(\w+)\}/g)].map((x) => jsonName(x[1])),
  }));
}

let cached: GceApi | undefined;

/** The API's definitions (parsed once per process, ~0.5 s). */
export function gceApi(): GceApi {
  if (cached) return cached;
  const messages = new Map<string, MessageDef>();
  const operations = [...fromProto(messages), ...fromDiscovery(messages)];
  const compiled = compile(operations);
  const collections = new Set<string>();
  for (const op of operations)
    for (const m of op.path.matchAll(/\}\/(\w+)(?=\/\{|$)/g)) collections.add(m[1]);
  cached = {
    operations,
    messages,
    collections,
    match(method, path) {
      const hits = compiled.filter((c) => c.op.method === method && c.re.test(path));
      // The most literal rule wins (`images/family/{family}` over `images/{image}`).
      hits.sort(
        (a, b) => b.op.path.replace(/\{\w+\}/g, '').length - a.op.path.replace(/\{\w+\}/g, '').length,
      );
      const hit = hits[0];
      if (!hit) return undefined;
      const m = hit.re.exec(path)!;
      const params: Record<string, string> = {};
      hit.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { op: hit.op, params };
    },
  };
  return cached;
}
