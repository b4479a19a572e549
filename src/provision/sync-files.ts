import { createHash } from 'node:crypto';
import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { shq } from '../util/shell.js';

/** A file swarmup owns on a machine. */
export interface ManagedFile {
  path: string;
  content: string;
  mode: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Write only the files whose content differs; returns the paths written. */
export async function syncFiles(t: CommandTransport, files: ManagedFile[]): Promise<string[]> {
  const r = await t.exec(`sha256sum ${files.map((f) => shq(f.path)).join(' ')} 2>/dev/null; true`, {
    root: true,
  });
  const have = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) have.set(m[2], m[1]);
  }
  const stale = files.filter((f) => have.get(f.path) !== sha256(f.content));
  if (stale.length === 0) return [];
  // One exec for all files (each exec costs a round trip). The contents go on stdin, one base64 line
  // per file, never on the command line, where any local user could read the TLS key from /proc and
  // sudo would log it; each file is replaced atomically by rename.
  const script = [
    'set -e',
    'w() { mkdir -p "$(dirname "$1")"; tmp="$1.swarmup-tmp"; IFS= read -r b64; (umask 077; printf %s "$b64" | base64 -d > "$tmp"); chmod "$2" "$tmp"; mv -f "$tmp" "$1"; }',
    ...stale.map((f) => `w ${shq(f.path)} ${f.mode.toString(8)}`),
  ].join('\n');
  const stdin = stale.map((f) => Buffer.from(f.content).toString('base64') + '\n').join('');
  const w = await t.exec(script, { root: true, stdin });
  if (w.code !== 0)
    throw new UserError(`writing the engine configuration failed: ${(w.stderr || w.stdout).trim()}`);
  return stale.map((f) => f.path);
}
