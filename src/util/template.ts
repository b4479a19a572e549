import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The templates/ folder of the installed package (found upwards from this file, built or not). */
export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'templates');
    if (existsSync(join(candidate, 'daemon.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('swarmup templates/ folder not found');
    dir = parent;
  }
}

/** Replace each `{{name}}` with its value; a placeholder without a value is an error, not a blank. */
export function renderTemplate(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{\{\s*([a-zA-Z][a-zA-Z0-9]*)\s*\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`template value "${key}" is missing`);
    return String(values[key]);
  });
}

export function renderTemplateFile(name: string, values: Record<string, string | number>): string {
  return renderTemplate(readFileSync(join(templatesDir(), name), 'utf8'), values);
}
