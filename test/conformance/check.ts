/** The gate's whole check: every recorded request against its cloud's definitions. */
import { checkAliyunRequest } from './aliyun-check.js';
import { checkGceRequest } from './gce-check.js';
import type { ConformanceRecord, ExpectedViolation } from './recorder.js';
import { formatViolation, type Violation } from './violation.js';

export interface GateResult {
  requests: number;
  /** Distinct operations seen, with how many requests each. */
  operations: Map<string, number>;
  violations: Violation[];
}

export function checkRecords(records: readonly ConformanceRecord[]): GateResult {
  const operations = new Map<string, number>();
  const violations: Violation[] = [];
  for (const r of records) {
    const c = r.cloud === 'gce' ? checkGceRequest(r) : checkAliyunRequest(r);
    if (c.operation) operations.set(c.operation, (operations.get(c.operation) ?? 0) + 1);
    violations.push(...c.violations);
  }
  return { requests: records.length, operations, violations };
}

const matches = (want: string | RegExp | undefined, have: string) =>
  want === undefined || (typeof want === 'string' ? have.includes(want) : want.test(have));

/** Violations a test declared it provokes are taken out; a declaration never seen is a failure too. */
export function withoutExpected(
  violations: readonly Violation[],
  expected: ExpectedViolation[],
): { unexpected: Violation[]; unseen: ExpectedViolation[] } {
  const unexpected = violations.filter((v) => {
    const e = expected.find(
      (x) =>
        matches(x.call, v.call) &&
        matches(x.operation, v.operation) &&
        matches(x.field, v.field) &&
        matches(x.problem, v.problem),
    );
    if (e) e.seen = (e.seen ?? 0) + 1;
    return !e;
  });
  return { unexpected, unseen: expected.filter((e) => !e.seen) };
}

/** One line per distinct (operation, field, problem), with how often and the first call. */
export function describeViolations(violations: readonly Violation[]): string[] {
  const groups = new Map<string, { v: Violation; n: number }>();
  for (const v of violations) {
    const k = `${v.operation}\0${v.field.replace(/\.\d+(?=\.|$)/g, '.N')}\0${v.problem.replace(/\d+/g, 'N')}`;
    const g = groups.get(k);
    if (g) g.n++;
    else groups.set(k, { v, n: 1 });
  }
  return [...groups.values()].map(({ v, n }) => `${formatViolation(v)}${n > 1 ? ` (${n} requests)` : ''}`);
}
