// Input rules of the Compute API: resource names, labels, tags, metadata, ports, CIDRs, request ids.
import { isIPv4 } from 'node:net';
import { createHash } from 'node:crypto';
import { badRequest, invalidField, requiredField } from './errors.js';

export const NAME_PATTERN = '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?';
const NAME_RE = new RegExp(`^${NAME_PATTERN}$`);

export const isValidName = (name: unknown): name is string => typeof name === 'string' && NAME_RE.test(name);

/** Throws the API's 400 for a missing or malformed `resource.name`. */
export function checkName(name: unknown, field = 'resource.name'): string {
  if (name === undefined || name === null || name === '') throw requiredField(field);
  if (!isValidName(name)) throw invalidField(field, name, `Must be a match of regex '(?:${NAME_PATTERN})'`);
  return name;
}

const LABEL_KEY_RE = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE_RE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

export function checkLabels(labels: unknown, field = 'resource.labels'): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels))
    throw invalidField(field, '', 'Labels must be a map.');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 64) throw invalidField(field, '', 'At most 64 labels are allowed.');
  for (const [k, v] of entries) {
    if (!LABEL_KEY_RE.test(k))
      throw invalidField(
        field,
        '',
        `Label key '${k}' violates format constraints. The key must start with a lowercase character, can only contain lowercase letters, numeric characters, underscores and dashes. The key can be at most 63 characters long. International characters are allowed.`,
      );
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v))
      throw invalidField(
        field,
        '',
        `Label value '${String(v)}' violates format constraints. The value can only contain lowercase letters, numeric characters, underscores and dashes. The value can be at most 63 characters long. International characters are allowed.`,
      );
  }
  return { ...(labels as Record<string, string>) };
}

export function checkTags(items: unknown, field = 'resource.tags.items'): string[] {
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw invalidField(field, '', 'Must be a list.');
  if (items.length > 64) throw invalidField(field, '', 'At most 64 tags are allowed.');
  items.forEach((t, i) => {
    if (!isValidName(t))
      throw invalidField(`${field}[${i}]`, t, `Must be a match of regex '(?:${NAME_PATTERN})'`);
  });
  return [...new Set(items as string[])];
}

export interface MetadataItem {
  key: string;
  value: string;
}

const METADATA_KEY_RE = /^[a-zA-Z0-9-_]{1,128}$/;

export function checkMetadataItems(items: unknown, field = 'resource.metadata.items'): MetadataItem[] {
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw invalidField(field, '', 'Must be a list.');
  const seen = new Set<string>();
  let total = 0;
  const out = items.map((it: unknown, i) => {
    const { key, value } = (it ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || !METADATA_KEY_RE.test(key))
      throw invalidField(`${field}[${i}].key`, key, "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'");
    if (seen.has(key)) throw badRequest(`Duplicate metadata key "${key}".`, 'invalid');
    seen.add(key);
    const v = value === undefined || value === null ? '' : String(value);
    if (v.length > 256 * 1024)
      throw invalidField(`${field}[${i}].value`, '', 'Value too long (limit 256 KB).');
    total += key.length + v.length;
    return { key, value: v };
  });
  if (total > 512 * 1024) throw invalidField(field, '', 'Metadata too large (limit 512 KB in total).');
  return out;
}

/** An 8-byte base64 fingerprint of some content, like the API's opaque fingerprints. */
export function fingerprint(content: unknown): string {
  return createHash('sha256').update(JSON.stringify(content)).digest().subarray(0, 8).toString('base64');
}

/** "80" or "80-90"; returns [first, last] or undefined when malformed. */
export function parsePortRange(spec: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b > 65535 || a > b) return undefined;
  return [a, b];
}

export function isCidr(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || !isIPv4(ip)) return false;
  if (bits === undefined) return true;
  return /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `requestId` must be a non-zero UUID. */
export function checkRequestId(id: string): string {
  if (!UUID_RE.test(id) || /^[0-]+$/.test(id))
    throw invalidField(
      'requestId',
      id,
      'The request ID must be a valid UUID with the exception that zero UUID is not supported.',
    );
  return id.toLowerCase();
}

export function checkInt(value: unknown, field: string, min: number, max: number, dflt: number): number {
  if (value === undefined || value === null) return dflt;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw invalidField(field, value, `Must be an integer between ${min} and ${max}.`);
  return n;
}
