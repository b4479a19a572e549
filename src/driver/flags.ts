import { UserError } from '../errors.js';
import type { DriverPlugin, FlagSpec, FlagValues } from './contract.js';

/**
 * A driver's flag values from `base`, then their environment variables, then (unless `defaults` is
 * false) their defaults. Label-based sweeps use this when no command line names the flags.
 */
export function flagsFromEnv(plugin: DriverPlugin, base: FlagValues = {}, defaults = true): FlagValues {
  const out: FlagValues = { ...base };
  for (const f of plugin.flags) {
    if (out[f.name] !== undefined) continue;
    const v = f.env ? process.env[f.env] : undefined;
    if (v !== undefined) out[f.name] = f.type === 'number' ? Number(v) : f.type === 'list' ? v.split(',') : v;
    else if (defaults && f.default !== undefined) out[f.name] = f.default;
  }
  return out;
}

/** Why a number flag's value is refused, or undefined when it is fine. */
export function numberProblem(f: FlagSpec, n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0) return 'expected a whole number';
  if (f.range && (n < f.range[0] || n > f.range[1])) return `expected ${f.range[0]} to ${f.range[1]}`;
  return undefined;
}

/**
 * A clear error for the first required driver flag that has no value, or a number out of its range
 * (values from a cluster file or a record do not pass commander's parsers).
 */
export function requireDriverFlags(plugin: DriverPlugin, flags: FlagValues): void {
  for (const f of plugin.flags) {
    const v = flags[f.name];
    if (f.type === 'number' && v !== undefined && v !== '') {
      const why = numberProblem(f, Number(v));
      if (why) throw new UserError(`invalid --${f.name} ${String(v)}: ${why}`);
    }
    if (f.required && (flags[f.name] === undefined || flags[f.name] === '')) {
      throw new UserError(
        `--${f.name} is required for the ${plugin.name} driver${f.env ? ` (or set ${f.env})` : ''}`,
      );
    }
  }
}

/** Driver flag values that may be saved (credentials never are). */
export function storableFlags(plugin: DriverPlugin, flags: FlagValues): FlagValues {
  const out: FlagValues = {};
  for (const f of plugin.flags) if (!f.secret && flags[f.name] !== undefined) out[f.name] = flags[f.name];
  return out;
}
