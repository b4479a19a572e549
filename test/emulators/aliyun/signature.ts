// Aliyun RPC signature v1, exactly as @alicloud/pop-core 1.8 (lib/rpc.js) computes it: sorted keys,
// RFC 3986 percent-encoding, StringToSign = METHOD&%2F&encode(canonical query), HMAC-SHA1 keyed with
// `secret&`, base64.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** encodeURIComponent plus `!'()*` (pop-core's `encode`). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')
    .replace(/\*/g, '%2A');
}

/** Canonical query of every parameter except `Signature`, keys sorted by UTF-16 code units. */
export function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
    .join('&');
}

export function stringToSign(method: string, params: Record<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalQuery(params))}`;
}

export function sign(method: string, params: Record<string, string>, secret: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign(method, params)).digest('base64');
}

/** Constant-time comparison of the received signature with the one computed from `secret`. */
export function signatureMatches(method: string, params: Record<string, string>, secret: string): boolean {
  const expected = Buffer.from(sign(method, params, secret));
  const got = Buffer.from(params.Signature ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Parse a query string or an application/x-www-form-urlencoded body into a null-prototype record
 * (`+` is a space; the last of repeated keys wins; undecodable input throws URIError).
 */
export function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!text) return out;
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    out[decodeURIComponent(rawKey.replace(/\+/g, ' '))] = decodeURIComponent(rawValue.replace(/\+/g, ' '));
  }
  return out;
}

/** pop-core's Timestamp format: UTC to the second, `YYYY-MM-DDThh:mm:ssZ`. */
export function popTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parse a request Timestamp; undefined when not in an accepted ISO 8601 UTC form. */
export function parseTimestamp(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
