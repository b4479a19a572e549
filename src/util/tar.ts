/**
 * Just enough tar to copy files in and out of a machine through the Docker Engine's archive API
 * (`swarmup scp` on the docker driver): ustar with PAX records for long names, regular files,
 * directories and symbolic links, streamed. Files packed here are owned by root on the machine, as
 * if copied by its root login; files unpacked here belong to the local user.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readlink, stat, symlink } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(
  name: string,
  type: '0' | '5' | '2' | 'x',
  size: number,
  mode: number,
  mtime: number,
  link = '',
): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name.slice(0, 100), 0, 'utf8');
  b.write(octal(mode & 0o7777, 8), 100);
  b.write(octal(0, 8), 108); // uid root
  b.write(octal(0, 8), 116); // gid root
  b.write(octal(size, 12), 124);
  b.write(octal(Math.floor(mtime), 12), 136);
  b.write('        ', 148); // checksum placeholder
  b.write(type, 156);
  b.write(link.slice(0, 100), 157, 'utf8');
  b.write('ustar\u000000', 257, 'binary');
  b.write('root', 265);
  b.write('root', 297);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148);
  return b;
}

/** A PAX extended header carrying `path` (and `linkpath`) that do not fit ustar's 100 bytes. */
function paxRecords(fields: Record<string, string>): Buffer[] {
  const recs = Object.entries(fields).map(([k, v]) => {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len++;
    return `${len}${body}`;
  });
  const data = Buffer.from(recs.join(''), 'utf8');
  return [header('PaxHeader', 'x', data.length, 0o644, 0), data, pad(data.length)];
}

const pad = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

function entryHeader(
  name: string,
  type: '0' | '5' | '2',
  size: number,
  mode: number,
  mtime: number,
  link = '',
): Buffer[] {
  const long: Record<string, string> = {};
  if (Buffer.byteLength(name) > 100) long.path = name;
  if (Buffer.byteLength(link) > 100) long.linkpath = link;
  return [...(Object.keys(long).length ? paxRecords(long) : []), header(name, type, size, mode, mtime, link)];
}

/**
 * A tar stream of the local `source` under the top-level name `as`; directories only with
 * `recursive` (scp's rule). Symbolic links below the top are kept as links; the top is followed.
 */
export function packPath(source: string, as: string, recursive: boolean): Readable {
  async function* walk(path: string, name: string, top: boolean): AsyncGenerator<Buffer> {
    const st = top ? await stat(path) : await lstat(path);
    const mtime = st.mtimeMs / 1000;
    if (st.isSymbolicLink()) {
      yield* entryHeader(name, '2', 0, 0o777, mtime, await readlink(path));
    } else if (st.isDirectory()) {
      if (!recursive) throw new UserError(`scp: ${source}: not a regular file (use -r for directories)`);
      yield* entryHeader(`${name}/`, '5', 0, st.mode, mtime);
      for (const child of (await readdir(path)).sort())
        yield* walk(join(path, child), `${name}/${child}`, false);
    } else if (st.isFile()) {
      yield* entryHeader(name, '0', st.size, st.mode, mtime);
      let written = 0;
      for await (const chunk of createReadStream(path)) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (written !== st.size) throw new UserError(`scp: ${path} changed while it was copied`);
      yield pad(st.size);
    }
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* walk(source, as, true);
    yield Buffer.alloc(BLOCK * 2);
  }
  return Readable.from(all());
}

function field(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const end = s.indexOf(0);
  return s.subarray(0, end === -1 ? len : end).toString('utf8');
}

function parseOctal(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    // base-256 (large sizes)
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + b[i];
    return n;
  }
  const s = field(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!len) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

interface Entry {
  name: string;
  type: string;
  size: number;
  mode: number;
  link: string;
}

/**
 * Extract a tar stream, renaming its top-level entry: every entry's first path component is replaced
 * by `target` (an absolute path). Entries that would land outside `target` are refused.
 */
export async function unpackRenamed(tar: NodeJS.ReadableStream, target: string): Promise<void> {
  const root = resolve(target);
  let buf = Buffer.alloc(0);
  let cur: Entry | undefined;
  let remaining = 0;
  let padding = 0;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let meta: { pax?: Buffer; paxWant?: number; longName?: Buffer; longWant?: number; kind?: string } = {};
  let next: Record<string, string> = {};
  let ended = false;

  const place = (name: string): string => {
    const parts = name.split('/').filter((p) => p && p !== '.');
    const dest = resolve(root, ...parts.slice(1));
    if (dest !== root && !dest.startsWith(root + sep))
      throw new UserError(`scp: refusing the archive entry ${name}`);
    return dest;
  };

  const begin = async (e: Entry): Promise<void> => {
    const dest = place(e.name);
    if (e.type === '5') {
      await mkdir(dest, { recursive: true, mode: e.mode || 0o755 });
    } else if (e.type === '2') {
      await mkdir(dirname(dest), { recursive: true });
      await symlink(e.link, dest).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } else if (e.type === '0' || e.type === '\0' || e.type === '') {
      await mkdir(dirname(dest), { recursive: true });
      out = createWriteStream(dest, { mode: e.mode || 0o644 });
    }
  };

  const write = (chunk: Buffer): Promise<void> =>
    new Promise((res, rej) => {
      if (!out) return res();
      out.write(chunk, (err) => (err ? rej(err) : res()));
    });
  const finish = (): Promise<void> =>
    new Promise((res, rej) => {
      const o = out;
      out = undefined;
      if (!o) return res();
      o.end((err?: Error | null) => (err ? rej(err) : res()));
    });

  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      buf = Buffer.concat([buf, chunk]);
      (async () => {
        for (;;) {
          if (ended) return;
          if (cur) {
            if (remaining > 0) {
              if (!buf.length) return;
              const n = Math.min(remaining, buf.length);
              const piece = buf.subarray(0, n);
              buf = buf.subarray(n);
              remaining -= n;
              if (meta.kind) {
                meta.pax = Buffer.concat([meta.pax ?? Buffer.alloc(0), piece]);
              } else await write(piece);
              if (remaining > 0) return;
            }
            if (buf.length < padding) return;
            buf = buf.subarray(padding);
            padding = 0;
            if (meta.kind === 'x') next = { ...next, ...parsePax(meta.pax ?? Buffer.alloc(0)) };
            else if (meta.kind === 'L')
              next.path = (meta.pax ?? Buffer.alloc(0)).toString('utf8').replace(/\0+$/, '');
            else if (meta.kind === 'K')
              next.linkpath = (meta.pax ?? Buffer.alloc(0)).toString('utf8').replace(/\0+$/, '');
            else await finish();
            meta = {};
            cur = undefined;
            continue;
          }
          if (buf.length < BLOCK) return;
          const h = buf.subarray(0, BLOCK);
          buf = buf.subarray(BLOCK);
          if (h.every((x) => x === 0)) {
            ended = true;
            return;
          }
          const type = String.fromCharCode(h[156] || 48);
          const prefix = field(h, 345, 155);
          const e: Entry = {
            name: next.path ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100)),
            type,
            size: parseOctal(h, 124, 12),
            mode: parseOctal(h, 100, 8),
            link: next.linkpath ?? field(h, 157, 100),
          };
          if (next.size) e.size = Number(next.size);
          cur = e;
          remaining = e.size;
          padding = (BLOCK - (e.size % BLOCK)) % BLOCK;
          if (type === 'x' || type === 'L' || type === 'K') {
            meta = { kind: type };
          } else if (type === 'g') {
            meta = { kind: 'g' };
          } else {
            next = {};
            await begin(e);
          }
        }
      })().then(() => done(), done);
    },
    final(done) {
      finish().then(() => done(), done);
    },
  });
  await pipeline(tar, sink);
}
