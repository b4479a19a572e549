/**
 * Where the emulators report every request they serve, for the conformance gate (gate.ts). It lives
 * on globalThis so every copy of this module in a process shares it, keeps its own list whatever a
 * test does to an emulator's log (resetLog), and is dependency-free. It records only once the gate
 * has switched it on: an emulator running alone (`npm run emulator:gce`) keeps nothing here.
 */
export interface GceRecord {
  cloud: 'gce';
  method: string;
  path: string;
  query?: string;
  body?: string;
  status: number;
}

export interface AliyunRecord {
  cloud: 'aliyun';
  method: string;
  /** Every parameter, signature parameters included. */
  params: Record<string, string>;
  status: number;
}

export type ConformanceRecord = GceRecord | AliyunRecord;

interface Store {
  enabled: boolean;
  records: ConformanceRecord[];
  /** Requests whose violations a test provokes on purpose: matched and removed by the gate. */
  expected: ExpectedViolation[];
}

export interface ExpectedViolation {
  /** Matches the violation's call, operation or field (a substring or a regex). */
  call?: string | RegExp;
  operation?: string | RegExp;
  field?: string | RegExp;
  problem?: string | RegExp;
  /** Why the test sends it (shown when it was never seen). */
  why: string;
  seen?: number;
}

const KEY = Symbol.for('swarmup.conformance');
const MAX = 200_000;

function store(): Store {
  const g = globalThis as unknown as Record<symbol, Store | undefined>;
  return (g[KEY] ??= { enabled: false, records: [], expected: [] });
}

/** Start recording (the gate does, before any test of a file runs). */
export function enableRecording(): void {
  store().enabled = true;
}

export function record(r: ConformanceRecord): void {
  const s = store();
  if (!s.enabled) return;
  s.records.push(r);
  if (s.records.length > MAX) s.records.splice(0, s.records.length - MAX);
}

/** Every request recorded since the last take, and forget them. */
export function takeRecords(): ConformanceRecord[] {
  const s = store();
  const out = s.records;
  s.records = [];
  return out;
}

/**
 * Declare that this test file sends a request that breaks the definitions on purpose (to see the
 * emulator's answer to it). The gate then expects to see that violation at least once.
 */
export function expectViolation(e: ExpectedViolation): void {
  store().expected.push({ ...e, seen: 0 });
}

export function takeExpected(): ExpectedViolation[] {
  const s = store();
  const out = s.expected;
  s.expected = [];
  return out;
}
