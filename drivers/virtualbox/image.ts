import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { UserError, oneLine } from '../../src/errors.js';
import { withLock } from '../../src/store/lock.js';

/** Disk formats VirtualBox reads: it clones vmdk/vdi/vhd and converts raw with `convertfromraw`. */
export type DiskFormat = 'vmdk' | 'vdi' | 'vhd' | 'raw';

/** Digests an image can be checked with: Ubuntu publishes SHA256SUMS, Debian SHA512SUMS. */
export type SumAlgo = 'sha256' | 'sha512';
const HEX_LEN: Record<SumAlgo, number> = { sha256: 64, sha512: 128 };
/** The sums files looked up next to an image, in this order. */
const SUMS_FILES: Array<[string, SumAlgo]> = [
  ['SHA256SUMS', 'sha256'],
  ['SHA512SUMS', 'sha512'],
];

/** An expected digest: its algorithm and lower-case hex. */
export interface Checksum {
  algo: SumAlgo;
  hex: string;
}

export const formatChecksum = (c: Checksum): string => `${c.algo}:${c.hex}`;

/**
 * `sha256:<hex>`, `sha512:<hex>`, or bare hex whose length says which (64: sha256, 128: sha512);
 * undefined when not given.
 */
export function parseChecksum(value: string | undefined): Checksum | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(?:(sha256|sha512):)?([0-9a-fA-F]+)$/i.exec(value.trim());
  const named = m?.[1]?.toLowerCase() as SumAlgo | undefined;
  const algo = named ?? (['sha256', 'sha512'] as const).find((a) => HEX_LEN[a] === m?.[2].length);
  if (!m || !algo || m[2].length !== HEX_LEN[algo]) {
    throw new UserError(
      `invalid --virtualbox-image-checksum "${value}": expected sha256:<64 hex digits> or sha512:<128 hex digits>`,
    );
  }
  return { algo, hex: m[2].toLowerCase() };
}

/** The digest of `file` in a SHA256SUMS or SHA512SUMS file (`<hex> *name` or `<hex>  name` lines). */
export function lookupSum(sums: string, file: string, algo: SumAlgo = 'sha256'): string | undefined {
  const line = new RegExp(`^([0-9a-fA-F]{${HEX_LEN[algo]}})\\s+\\*?(.+?)\\s*$`);
  for (const l of sums.split(/\r?\n/)) {
    const m = line.exec(l);
    if (m && (m[2] === file || m[2] === `./${file}`)) return m[1].toLowerCase();
  }
  return undefined;
}

/** Recognize a disk image by its magic numbers; refuse formats VirtualBox cannot use directly. */
export function detectFormat(head: Buffer, tail: Buffer, name: string): DiskFormat {
  const ascii = head.subarray(0, 64).toString('latin1');
  if (head.subarray(0, 4).toString('latin1') === 'KDMV' || ascii.startsWith('# Disk DescriptorFile'))
    return 'vmdk';
  if (head.length >= 0x44 && head.readUInt32LE(0x40) === 0xbeda107f) return 'vdi';
  if (tail.subarray(0, 8).toString('latin1') === 'conectix' || ascii.startsWith('conectix')) return 'vhd';
  if (ascii.startsWith('QFI\xfb')) {
    throw new UserError(
      `${name} is a qcow2 image, which VirtualBox cannot use: take the .vmdk (Ubuntu) or the .raw (Debian) image`,
    );
  }
  const compressed: Array<[string, string]> = [
    ['\xfd7zXZ', 'xz'],
    ['\x1f\x8b', 'gzip'],
    ['BZh', 'bzip2'],
    ['PK\x03\x04', 'zip'],
  ];
  for (const [magic, kind] of compressed) {
    if (ascii.startsWith(magic))
      throw new UserError(`${name} is ${kind}-compressed: unpack it and use the disk image`);
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    throw new UserError(`${name} is a tar archive: unpack it and use the disk image inside`);
  }
  return 'raw';
}

/**
 * The size of the disk an image holds (what the VM sees), in bytes, from its header: a sparse VMDK's
 * capacity (sectors), a descriptor VMDK's extents, a VDI's cbDisk, a VHD footer's current size, or a raw
 * image's file size. Undefined when the header does not say.
 */
export function diskCapacity(
  format: DiskFormat,
  head: Buffer,
  tail: Buffer,
  fileSize: number,
): number | undefined {
  switch (format) {
    case 'raw':
      return fileSize;
    case 'vdi':
      return head.length >= 0x178 ? Number(head.readBigUInt64LE(0x170)) : undefined;
    case 'vhd': {
      const footer = tail.subarray(0, 8).toString('latin1') === 'conectix' ? tail : head;
      return footer.length >= 56 ? Number(footer.readBigUInt64BE(48)) : undefined;
    }
    case 'vmdk': {
      if (head.subarray(0, 4).toString('latin1') === 'KDMV')
        return head.length >= 20 ? Number(head.readBigUInt64LE(12)) * 512 : undefined;
      const extents = [...head.toString('latin1').matchAll(/^(?:RW|RDONLY) (\d+) /gm)];
      return extents.length ? extents.reduce((n, m) => n + Number(m[1]) * 512, 0) : undefined;
    }
  }
}

/** The first 64 KB (headers, a VMDK descriptor) and the last 512 bytes (a VHD footer) of a file. */
async function readEnds(path: string): Promise<{ head: Buffer; tail: Buffer; size: number }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(64 * 1024, size));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(512, size));
    await fh.read(tail, 0, tail.length, Math.max(0, size - 512));
    return { head, tail, size };
  } finally {
    await fh.close();
  }
}

export async function hashFile(path: string, algo: SumAlgo): Promise<string> {
  const h = createHash(algo);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** Progress of a download: bytes so far and the total when known. */
export type Progress = (done: number, total: number | undefined) => void;

interface Source {
  stream: Readable;
  size?: number;
}

async function openSource(url: URL): Promise<Source> {
  if (url.protocol === 'file:') {
    const path = fileURLToPath(url);
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) throw new UserError(`image ${url.href} does not exist`);
    return { stream: createReadStream(path), size };
  }
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body)
    throw new UserError(`downloading ${url.href} failed: HTTP ${res.status} ${res.statusText}`);
  const len = Number(res.headers.get('content-length'));
  return {
    stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
    size: len > 0 ? len : undefined,
  };
}

async function readText(url: URL): Promise<string> {
  if (url.protocol === 'file:') return readFile(fileURLToPath(url), 'utf8');
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  return res.text();
}

/**
 * The expected digest: the flag's, else the image's line in SHA256SUMS next to it, else in SHA512SUMS
 * (Debian publishes only that).
 */
async function expectedSum(url: URL, file: string, given: Checksum | undefined): Promise<Checksum> {
  if (given) return given;
  const unreadable: string[] = [];
  const without: string[] = [];
  for (const [name, algo] of SUMS_FILES) {
    const sumsUrl = new URL(name, url);
    let sums: string;
    try {
      sums = await readText(sumsUrl);
    } catch (err) {
      unreadable.push(`${sumsUrl.href} cannot be read (${oneLine(err)})`);
      continue;
    }
    const hex = lookupSum(sums, file, algo);
    if (hex) return { algo, hex };
    without.push(sumsUrl.href);
  }
  if (without.length) {
    throw new UserError(
      `cannot verify ${url.href}: ${without.join(' and ')} ${without.length > 1 ? 'have' : 'has'} no line for ${file}; pass --virtualbox-image-checksum`,
    );
  }
  throw new UserError(
    `cannot verify ${url.href}: no --virtualbox-image-checksum given and ${unreadable.join(', ')}`,
  );
}

function imageUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(
      `invalid --virtualbox-image-url "${raw}": expected an https://, http:// or file:// URL`,
    );
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
    throw new UserError(
      `invalid --virtualbox-image-url "${raw}": only https://, http:// and file:// are supported`,
    );
  }
  if (!basename(decodeURIComponent(url.pathname))) {
    throw new UserError(`invalid --virtualbox-image-url "${raw}": it names no file`);
  }
  return url;
}

/** Check the URL (and checksum format) early, before anything is made. */
export function validateImageSource(url: string, checksum: string | undefined): void {
  imageUrl(url);
  parseChecksum(checksum);
}

export interface CachedImage {
  path: string;
  /** The verified digest, e.g. `sha512:<hex>`. */
  checksum: string;
  format: DiskFormat;
  /** Lock file to hold while VirtualBox reads the cached image (clonemedium + closemedium). */
  lockPath: string;
  /** Size of the disk it holds, in bytes, when its header says. */
  capacity?: number;
}

/**
 * The image in `<store>/cache/`, downloaded once and verified against its sha256 or sha512; a sidecar
 * file `<image>.sha256` (or `.sha512`) records the verified sum so that later creates need not hash it
 * again. Parallel creates wait for one download (a lock file per image).
 */
export async function ensureImage(opts: {
  url: string;
  checksum?: string;
  cacheDir: string;
  log: (m: string) => void;
  progress?: Progress;
}): Promise<CachedImage> {
  const url = imageUrl(opts.url);
  const file = basename(decodeURIComponent(url.pathname));
  await mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  const path = join(opts.cacheDir, file);
  const sidecar = (algo: SumAlgo) => `${path}.${algo}`;
  const lockPath = `${path}.lock`;
  const given = parseChecksum(opts.checksum);
  const verified = await withLock(
    lockPath,
    async (): Promise<Checksum> => {
      const recorded = async (algo: SumAlgo) =>
        (await readFile(sidecar(algo), 'utf8').catch(() => '')).trim();
      const cached = await stat(path).then(
        () => true,
        () => false,
      );
      let expected: Checksum;
      try {
        expected = await expectedSum(url, file, given);
      } catch (err) {
        // Offline with a verified copy in the cache: use it rather than fail.
        for (const algo of ['sha256', 'sha512'] as const) {
          const hex = cached ? await recorded(algo) : '';
          if (hex) {
            opts.log(`Warning: ${oneLine(err)}; using the cached ${file} verified earlier`);
            return { algo, hex };
          }
        }
        throw err;
      }
      const { algo, hex } = expected;
      if (cached && (await recorded(algo)) === hex) return expected;
      if (cached && (await hashFile(path, algo)) === hex) {
        await writeFile(sidecar(algo), `${hex}\n`);
        return expected;
      }
      await download(url, path, expected, opts.log, opts.progress);
      await writeFile(sidecar(algo), `${hex}\n`);
      return expected;
    },
    2 * 60 * 60_000,
  );
  const { head, tail, size } = await readEnds(path);
  const format = detectFormat(head, tail, file);
  const capacity = diskCapacity(format, head, tail, size);
  return { path, checksum: formatChecksum(verified), format, lockPath, ...(capacity ? { capacity } : {}) };
}

async function download(
  url: URL,
  path: string,
  expected: Checksum,
  log: (m: string) => void,
  progress?: Progress,
) {
  const part = `${path}.part-${process.pid}`;
  const name = basename(path);
  const src = await openSource(url);
  log(
    `${url.protocol === 'file:' ? 'Copying' : 'Downloading'} ${name}${src.size ? ` (${Math.round(src.size / 1e6)} MB)` : ''} into the cache...`,
  );
  const hash = createHash(expected.algo);
  let done = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      done += chunk.length;
      progress?.(done, src.size);
      cb(null, chunk);
    },
  });
  try {
    await mkdir(dirname(path), { recursive: true });
    await pipeline(src.stream, meter, createWriteStream(part, { mode: 0o600 }));
    const got = hash.digest('hex');
    if (got !== expected.hex) {
      throw new UserError(
        `checksum mismatch for ${url.href}: expected ${expected.algo} ${expected.hex}, got ${got}`,
      );
    }
    await rename(part, path);
  } catch (err) {
    await rm(part, { force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`downloading ${url.href} failed: ${oneLine(err)}`);
  }
}

/** A one-line progress bar for a terminal (`\r`-rewritten), printing at most every 200 ms. */
export function terminalProgress(name: string, out: NodeJS.WriteStream = process.stderr): Progress {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    const finished = total !== undefined && done >= total;
    if (now - last < 200 && !finished) return;
    last = now;
    const mb = (n: number) => (n / 1e6).toFixed(0);
    if (total) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      out.write(
        `\r${name} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor((done / total) * 100)}% (${mb(done)}/${mb(total)} MB)`,
      );
    } else {
      out.write(`\r${name} ${mb(done)} MB`);
    }
    if (finished) out.write('\n');
  };
}

/** Progress as log lines every 10 %, for logs and the cluster progress display. */
export function loggedProgress(name: string, log: (m: string) => void, verb = 'Downloading'): Progress {
  let shown = -1;
  return (done, total) => {
    if (!total) return;
    const tenth = Math.floor((done / total) * 10);
    if (tenth === shown) return;
    shown = tenth;
    log(`${verb} ${name}: ${tenth * 10}%`);
  };
}
