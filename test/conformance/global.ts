/**
 * vitest global setup: a folder where each test file's gate (gate.ts) leaves its summary, and at the
 * end of the run one line with the total: requests checked, distinct operations, violations.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Summary {
  file: string;
  requests: number;
  operations: Record<string, number>;
  violations: string[];
}

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'swarmup-conformance-'));
  process.env.SWARMUP_CONFORMANCE_DIR = dir;
  return () => {
    const summaries = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Summary);
    rmSync(dir, { recursive: true, force: true });
    if (summaries.length === 0) return;
    const ops = new Set(summaries.flatMap((s) => Object.keys(s.operations)));
    const count = (prefix: string) => [...ops].filter((o) => o.startsWith(prefix)).length;
    const requests = summaries.reduce((n, s) => n + s.requests, 0);
    const broken = summaries.flatMap((s) => s.violations.map((v) => `${s.file}: ${v}`));
    process.stdout.write(
      `\nconformance gate: ${requests} requests from ${summaries.length} test file(s), ${ops.size} distinct operations ` +
        `(GCE ${count('compute.')}, ECS ${count('Ecs ')}, SLB ${count('Slb ')}), ${broken.length} violation(s)\n`,
    );
    if (process.env.SWARMUP_CONFORMANCE_LIST) process.stdout.write(`  ${[...ops].sort().join('\n  ')}\n`);
  };
}
