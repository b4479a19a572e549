import type { Command } from 'commander';
import { Store, resolveStorePath } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { UserError, oneLine } from '../errors.js';

export function storeOf(cmd: Command): Store {
  return new Store(resolveStorePath(cmd.optsWithGlobals().storagePath as string | undefined));
}

/** docker-machine convention: a verb without a machine name acts on "default". */
export function nameOr(name: string | undefined): string {
  return name || 'default';
}

export function namesOr(names: string[] | undefined): string[] {
  return names && names.length ? names : ['default'];
}

/**
 * Run `fn` for every name (in parallel, bounded). Errors are printed one per line and the command
 * fails at the end, so one bad machine does not hide the others' results.
 */
export async function forEachMachine(names: string[], fn: (name: string) => Promise<void>): Promise<void> {
  const failures = await mapBounded(names, 8, async (n) => {
    try {
      await fn(n);
      return undefined;
    } catch (err) {
      return err;
    }
  });
  const errs = failures.filter((e) => e !== undefined);
  if (errs.length === 1) throw errs[0];
  if (errs.length > 1) {
    for (const e of errs.slice(0, -1)) process.stderr.write(`${oneLine(e)}\n`);
    throw errs[errs.length - 1];
  }
}

/** Ask a yes/no question on the terminal; without a terminal, refuse with a hint about the flag. */
export async function confirm(question: string, flagHint: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UserError(`${question.trim()} Not asking without a terminal: pass ${flagHint} to confirm`);
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} (y/n): `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
