// Identifiers and time formats in the shapes Aliyun uses.
import { randomBytes, randomUUID } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix` + `length` lowercase letters/digits (i-..., sg-..., lb-...). */
export function resourceId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALNUM[b % ALNUM.length];
  return `${prefix}${s}`;
}

export const requestId = (): string => randomUUID().toUpperCase();

/** ECS times: `2024-05-01T08:30Z` (minutes). */
export const ecsTime = (ms: number): string => new Date(ms).toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z');

/** SLB / key pair times: `2024-05-01T08:30:12Z`. */
export const slbTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A random access key pair in Aliyun's shape (LTAI... id). */
export function newAccessKey(): { id: string; secret: string } {
  const id = `LTAI${resourceId('', 20)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, 'X')}`;
  const secret = randomBytes(22)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 30);
  return { id, secret };
}
