import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The store is a trust boundary: it may have been copied from elsewhere or edited by hand, so every
 * path read from it must stay inside it. `rel` (relative to `base`) is resolved and refused with one
 * line naming the file it came from when it is absolute or climbs out of `base`.
 */
export function resolveInside(base: string, rel: unknown, what: string, file: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0')) {
    throw new UserError(`${file}: ${what} is missing or not a path; fix the file or remove the machine`);
  }
  const full = resolve(base, rel);
  const back = relative(base, full);
  if (isAbsolute(rel) || back === '' || back === '..' || back.startsWith(`..${sep}`) || isAbsolute(back)) {
    throw new UserError(
      `${file}: ${what} "${rel}" points outside ${base}; a store may only name files inside itself (fix the file or remove the machine)`,
    );
  }
  return full;
}

/** What went wrong with a file, in words, for the errno codes a hand-edited or broken store gives. */
export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of its path is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'it does not exist';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return code ?? (err as Error).message;
  }
}

/** A file's text, or undefined when it does not exist; any other failure is one line naming it. */
export async function readTextIfExists(path: string, hint: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${path}: ${describeIoError(err)}; ${hint}`);
  }
}

/**
 * `mkdir -p` that cannot hang: Node's recursive mkdir loops forever under /proc (its parent exists,
 * the child can never be made). Components are made one at a time; any failure is one line.
 */
export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      const s = await stat(at);
      if (!s.isDirectory()) {
        throw new UserError(
          `cannot use ${path}: ${at} is a file, not a directory (check --storage-path or SWARMUP_STORAGE_PATH)`,
        );
      }
      break;
    } catch (err) {
      if (err instanceof UserError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        const where = at === resolve(path) ? '' : `${at}: `;
        throw new UserError(
          `cannot use ${path}: ${where}${describeIoError(err)} (check --storage-path or SWARMUP_STORAGE_PATH)`,
        );
      }
      missing.unshift(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const dir of missing) {
    try {
      await mkdir(dir, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      const why =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'this file system does not allow new directories there'
          : describeIoError(err);
      throw new UserError(`cannot create ${dir}: ${why} (check --storage-path or SWARMUP_STORAGE_PATH)`);
    }
  }
}
