import type { DriverPlugin, FlagValues } from '../driver/contract.js';

/** commander's attribute name for a flag: `generic-ip-address` → `genericIpAddress`. */
export const attrName = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Pick a driver's flag values out of commander's parsed options, keyed by flag name. */
export function driverFlagValues(plugin: DriverPlugin, opts: Record<string, unknown>): FlagValues {
  const out: FlagValues = {};
  for (const f of plugin.flags) {
    let v = opts[attrName(f.name)] as FlagValues[string];
    if (f.type === 'list' && typeof v === 'string') v = v.split(',').filter(Boolean);
    if (f.type === 'number' && typeof v === 'string') v = Number(v);
    if (f.type === 'boolean' && typeof v === 'string') v = v === '1' || v === 'true';
    out[f.name] = v;
  }
  return out;
}
