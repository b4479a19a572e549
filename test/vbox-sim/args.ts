import { VBoxSyntaxError } from './errors.js';

export interface ParsedArgs {
  /** Options in command-line order: name without leading dashes, and its values. */
  opts: Array<[string, string[]]>;
  positional: string[];
}

/**
 * Parse like RTGetOpt: `--name value`, `--name=value`, flags without values, positional arguments in any
 * position. `arity` says how many values an option takes (looking at what follows, for options such as
 * `--uartmode1 file <path>`), or undefined for an unknown option.
 */
export function parseArgs(
  argv: string[],
  arity: (name: string, rest: string[]) => number | undefined,
): ParsedArgs {
  const out: ParsedArgs = { opts: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
    const rest = eq > 0 ? [a.slice(eq + 1), ...argv.slice(i + 1)] : argv.slice(i + 1);
    const n = arity(name, rest);
    if (n === undefined) throw new VBoxSyntaxError(`Unknown option: ${a}`);
    if (rest.length < n) throw new VBoxSyntaxError(`Option ${a.replace(/=.*/, '')} requires an argument`);
    out.opts.push([name, rest.slice(0, n)]);
    i += eq > 0 ? Math.max(0, n - 1) : n;
  }
  return out;
}

/** VirtualBox 7's dashed names (`--nat-pf1`, 7.1's `--x86-hpet`) are the old names (`--natpf1`, `--hpet`). */
export const canonical = (name: string) => name.replace(/^x86-/, '').replace(/-/g, '');

/** A fixed table of options: name (or its VirtualBox 7 spelling) → arity. */
export function table(spec: Record<string, number>): (name: string) => number | undefined {
  return (name) => spec[name] ?? spec[canonical(name)];
}

export function onOff(opt: string, v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new VBoxSyntaxError(`Invalid --${opt} argument '${v}' (valid: on, off)`);
}

export function int(opt: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new VBoxSyntaxError(`Invalid --${opt} argument '${v}': not a number`);
  return Number(v);
}
