/**
 * The conformance gate, a vitest setup file of every project: recording starts before a test file
 * runs, and after the file every request an emulator served during it is checked against the
 * clouds' published definitions. A violation fails the file, naming the call, the field and what the
 * definition says. Summaries go to SWARMUP_CONFORMANCE_DIR (set by global.ts) for the run's total.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { checkRecords, describeViolations, withoutExpected } from './check.js';
import { enableRecording, takeExpected, takeRecords } from './recorder.js';

enableRecording();

afterAll(() => {
  const records = takeRecords();
  const expected = takeExpected();
  if (records.length === 0 && expected.length === 0) return;
  const result = checkRecords(records);
  const { unexpected, unseen } = withoutExpected(result.violations, expected);
  const dir = process.env.SWARMUP_CONFORMANCE_DIR;
  if (dir) {
    writeFileSync(
      join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`),
      JSON.stringify({
        file: expect.getState().testPath ?? '',
        requests: result.requests,
        operations: Object.fromEntries(result.operations),
        violations: describeViolations(unexpected),
      }),
    );
  }
  const lines = [
    ...describeViolations(unexpected),
    ...unseen.map(
      (e) => `expected violation never seen (${e.why}): ${JSON.stringify({ ...e, seen: undefined })}`,
    ),
  ];
  if (lines.length)
    throw new Error(
      `conformance gate: ${lines.length} request rule(s) broken against the published API definitions (test/conformance):\n  ${lines.join('\n  ')}`,
    );
});
