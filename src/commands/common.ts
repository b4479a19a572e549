import type { Command } from 'commander';
import { Store, resolveStorePath } from '../store/store.js';
import { mapBounded } from '../util/async.js';
import { UserError, oneLine } from '../errors.js';
import { envBool } from '../util/env.js';

export function storeOf(cmd: Command): Store {
  return new Store(resolveStorePath(cmd.optsWithGlobals().storagePath as string | undefined));
}

/** --native-ssh (or MACHINE_NATIVE_SSH): ssh2 for every SSH session, no OpenSSH client. */
export function nativeSsh(cmd: Command): boolean {
  return !!cmd.optsWithGlobals().nativeSsh || envBool('MACHINE_NATIVE_SSH');
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

/**
 * Ask a yes/no question (on stderr), as docker-machine: a terminal is asked; without one, a line of
 * stdin answers (`yes | swarmup rm NAME`), and no input at all is refused with a hint about the flag.
 */
export async function confirm(question: string, flagHint: string): Promise<boolean> {
  const { createInterface } = await import('node:readline');
  const tty = !!process.stdin.isTTY;
  process.stderr.write(`${question} (y/n): `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const line = await new Promise<string | undefined>((resolve) => {
    rl.once('line', (l) => resolve(l));
    rl.once('close', () => resolve(undefined));
  });
  rl.close();
  process.stdin.pause();
  if (!tty) process.stderr.write('\n');
  if (line === undefined) {
    if (!tty)
      throw new UserError(`No answer: not a terminal and nothing on stdin; pass ${flagHint} to confirm`);
    return false;
  }
  return /^y/i.test(line.trim());
}
