import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** swarmup's own version, from package.json (two levels up when built, one when run from source). */
export function swarmupVersion(): string {
  if (cached) return cached;
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'swarmup' && pkg.version) return (cached = pkg.version);
    } catch {
      // try the next location
    }
  }
  return (cached = '0.0.0');
}
