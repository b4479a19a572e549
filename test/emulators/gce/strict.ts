// Requests checked against the API's own definitions (test/conformance/gce-definitions.ts, derived
// from compute.proto and @googleapis/compute): a body field or query parameter the request message
// does not have gets the API's answer, a 400 "Invalid JSON payload received. Unknown name ...".
import { gceApi, SYSTEM_PARAMS, type MessageDef } from '../../conformance/gce-definitions.js';
import { GceError } from './errors.js';

/** The 400 of the API's JSON transcoding: no domain, status INVALID_ARGUMENT, a BadRequest detail. */
class PayloadError extends GceError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(400, message, 'invalid');
  }

  override body() {
    const error = {
      code: 400,
      message: this.message,
      errors: [{ message: this.message, reason: 'invalid' }],
      status: 'INVALID_ARGUMENT',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ ...(this.field ? { field: this.field } : {}), description: this.message }],
        },
      ],
    };
    return { error } as unknown as ReturnType<GceError['body']>;
  }
}

const unknownName = (name: string, at: string) =>
  new PayloadError(
    `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`,
    at,
  );

const unknownQuery = (name: string) =>
  new PayloadError(
    `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
  );

/** Every object in the body against its message, by JSON or proto name (both parse). */
function walk(messages: Map<string, MessageDef>, msg: MessageDef, value: unknown, at: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const f = msg.fields.get(key) ?? [...msg.fields.values()].find((x) => x.proto === key);
    if (!f) throw unknownName(key, at);
    const sub = messages.get(f.type);
    if (!sub || v === null || typeof v !== 'object') continue;
    if (f.map) for (const [k, x] of Object.entries(v)) walk(messages, sub, x, `${at}.${f.proto}[${k}]`);
    else if (f.repeated && Array.isArray(v))
      v.forEach((x, i) => walk(messages, sub, x, `${at}.${f.proto}[${i}]`));
    else if (!f.repeated) walk(messages, sub, v, `${at}.${f.proto}`);
  }
}

/** Throws the API's 400 for a query parameter or body field its definition does not have. */
export function checkKnownNames(method: string, path: string, query: URLSearchParams, body: unknown): void {
  const api = gceApi();
  const hit = api.match(method, path);
  if (!hit) return;
  const { op } = hit;
  for (const k of query.keys()) if (!SYSTEM_PARAMS.has(k) && !op.query.has(k)) throw unknownQuery(k);
  if (body === undefined || !op.body) return;
  const msg = api.messages.get(op.body.message);
  // The body binds to the request's resource field: errors name it as the proto does.
  const field =
    op.source === 'compute.proto' ? op.body.field : `${op.id.split('.')[1].replace(/s$/, '')}Resource`;
  const at = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (msg) walk(api.messages, msg, body, at);
}
