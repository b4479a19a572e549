/** Just enough tar (ustar) to put files into a container and read one back (Engine archive API). */
import { tarHeader } from '../../util/tar.js';

export interface TarEntry {
  /** Relative path; a name ending in "/" is a directory. */
  name: string;
  content?: string;
  mode?: number;
}

function header(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  return tarHeader(name, size, mode, type);
}

/** A tar archive of the given entries, owned by root. */
export function tarOf(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.name.endsWith('/')) {
      parts.push(header(e.name, 0, e.mode ?? 0o755, '5'));
      continue;
    }
    const body = Buffer.from(e.content ?? '', 'utf8');
    parts.push(header(e.name, body.length, e.mode ?? 0o644, '0'), body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The first regular file in a tar archive (the Engine's archive of one file holds just that). */
export function firstFileOf(tar: Buffer): { name: string; content: string } | undefined {
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return undefined;
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156]);
    const start = off + 512;
    if (type === '0' || type === '\0') {
      return { name, content: tar.toString('utf8', start, start + size) };
    }
    off = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
