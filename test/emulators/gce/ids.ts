// Identifiers and timestamps in the API's formats.
import { randomBytes } from 'node:crypto';

/** A uint64 id as a decimal string (the API sends int64/uint64 as JSON strings). */
export function newId(): string {
  const v = randomBytes(8).readBigUInt64BE() >> 1n;
  return (v < 1_000_000_000_000_000n ? v + 1_000_000_000_000_000n : v).toString();
}

/** `operation-1700000000000-6123abc45d6e7-1a2b3c4d-5e6f7a8b`, like real operation names. */
export function newOperationName(): string {
  const hex = (n: number) => randomBytes(n).toString('hex');
  return `operation-${Date.now()}-${hex(7).slice(0, 13)}-${hex(4)}-${hex(4)}`;
}

/** RFC 3339 timestamp with a numeric offset, as the API writes them. */
export const timestamp = (ms = Date.now()): string => new Date(ms).toISOString().replace('Z', '+00:00');
