/**
 * vitest globalSetup of the e2e project: starts the fault suite's figures afresh and prints their
 * total when the run ends (only when fault files ran).
 */
import { readFileSync, rmSync } from 'node:fs';
import { figuresFile, formatFigures, newFigures, type Figures } from './harness.js';

export default function setup(): () => void {
  rmSync(figuresFile, { force: true });
  return () => {
    let all: Record<string, Figures>;
    try {
      all = JSON.parse(readFileSync(figuresFile, 'utf8')) as Record<string, Figures>;
    } catch {
      return;
    }
    const total = newFigures();
    for (const f of Object.values(all)) {
      total.cases += f.cases;
      total.kills += f.kills;
      total.converged += f.converged;
      total.leftovers += f.leftovers;
    }
    const per = Object.entries(all)
      .map(([k, f]) => `  ${k}: ${formatFigures(f)}`)
      .join('\n');
    process.stdout.write(`\nFault-injection figures:\n${per}\n  total: ${formatFigures(total)}\n`);
  };
}
