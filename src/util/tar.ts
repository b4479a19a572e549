/** Writing tar (ustar, with a PAX record for names past 100 bytes), in memory or as a stream. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export type TarType = '0' | '5' | 'x';

/** One 512-byte header, owned by root. */
export function tarHeader(name: string, size: number, mode: number, type: TarType): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(Buffer.from(name).subarray(0, 100).toString('utf8'), 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** Zero bytes that fill a member of `size` bytes up to a 512-byte block. */
export const tarPadding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);

/** The headers of one member: a PAX `path` record first when the name does not fit in 100 bytes. */
export function memberHeaders(name: string, size: number, mode: number, type: '0' | '5'): Buffer[] {
  if (Buffer.byteLength(name) <= 100) return [tarHeader(name, size, mode, type)];
  const field = ` path=${name}\n`;
  // The record's length counts its own digits.
  let len = Buffer.byteLength(field) + 1;
  while (String(len).length + Buffer.byteLength(field) !== len)
    len = String(len).length + Buffer.byteLength(field);
  const record = Buffer.from(`${len}${field}`);
  return [
    tarHeader(`PaxHeader/${name.slice(-80)}`, record.length, 0o644, 'x'),
    record,
    tarPadding(record.length),
    tarHeader(name, size, mode, type),
  ];
}

/** A member of a streamed archive: a directory (name ends in "/"), bytes, or a file on disk. */
export interface TarMember {
  name: string;
  mode?: number;
  content?: Buffer;
  /** A file to read (its size must be `size`). */
  path?: string;
  size?: number;
}

/** A tar archive of `members`, read from disk as it streams. */
export function tarStream(members: Iterable<TarMember>): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (const m of members) {
      if (m.name.endsWith('/')) {
        yield* memberHeaders(m.name, 0, m.mode ?? 0o755, '5');
        continue;
      }
      const size = m.content ? m.content.length : (m.size ?? 0);
      yield* memberHeaders(m.name, size, m.mode ?? 0o644, '0');
      if (m.content) yield m.content;
      else if (m.path) {
        let read = 0;
        for await (const chunk of createReadStream(m.path)) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (read !== size) throw new Error(`tar: ${m.path} changed while it was read`);
      }
      yield tarPadding(size);
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(gen());
}
