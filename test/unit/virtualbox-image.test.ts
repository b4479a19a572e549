import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  detectFormat,
  diskCapacity,
  ensureImage,
  lookupSum,
  parseChecksum,
} from '../../drivers/virtualbox/image.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

/** A sparse-VMDK header (streamOptimized images start the same way). */
function vmdk(bytes = 4096): Buffer {
  const b = Buffer.alloc(bytes);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(3, 4);
  b.writeBigUInt64LE(4194304n, 12);
  return b;
}

describe('checksums', () => {
  it('sha256:<hex>, sha512:<hex>, or bare hex whose length says which; lower-cased', () => {
    expect(parseChecksum(`sha256:${'AB'.repeat(32)}`)).toEqual({ algo: 'sha256', hex: 'ab'.repeat(32) });
    expect(parseChecksum('cd'.repeat(32))).toEqual({ algo: 'sha256', hex: 'cd'.repeat(32) });
    expect(parseChecksum(`SHA512:${'EF'.repeat(64)}`)).toEqual({ algo: 'sha512', hex: 'ef'.repeat(64) });
    expect(parseChecksum('01'.repeat(64))).toEqual({ algo: 'sha512', hex: '01'.repeat(64) });
    expect(parseChecksum(undefined)).toBeUndefined();
    const expected = /expected sha256:<64 hex digits> or sha512:<128 hex digits>/;
    expect(() => parseChecksum('sha512:abcd')).toThrow(expected);
    expect(() => parseChecksum(`sha512:${'a'.repeat(64)}`)).toThrow(expected); // a sha256 under sha512's name
    expect(() => parseChecksum(`sha256:${'a'.repeat(63)}`)).toThrow(expected);
    expect(() => parseChecksum(`md5:${'a'.repeat(32)}`)).toThrow(expected);
    expect(() => parseChecksum('a'.repeat(96))).toThrow(expected);
  });

  it("finds the image's line in SHA256SUMS (text or binary mode lines)", () => {
    const sums = `${'1'.repeat(64)} *ubuntu-24.04-server-cloudimg-amd64.img\n${'2'.repeat(64)} *ubuntu-24.04-server-cloudimg-amd64.vmdk\n${'3'.repeat(64)}  other.raw\n`;
    expect(lookupSum(sums, 'ubuntu-24.04-server-cloudimg-amd64.vmdk')).toBe('2'.repeat(64));
    expect(lookupSum(sums, 'other.raw')).toBe('3'.repeat(64));
    expect(lookupSum(sums, 'missing.vmdk')).toBeUndefined();
  });

  it("finds the image's line in Debian's SHA512SUMS, and only 128-digit sums there", () => {
    const sums = `${'a'.repeat(128)}  debian-12-generic-amd64.qcow2\n${'b'.repeat(128)}  debian-12-generic-amd64.raw\n${'c'.repeat(64)}  short.raw\n`;
    expect(lookupSum(sums, 'debian-12-generic-amd64.raw', 'sha512')).toBe('b'.repeat(128));
    expect(lookupSum(sums, 'short.raw', 'sha512')).toBeUndefined();
    expect(lookupSum(sums, 'debian-12-generic-amd64.raw', 'sha256')).toBeUndefined();
  });
});

describe('image formats', () => {
  const none = Buffer.alloc(0);
  it('recognizes what VirtualBox can clone or convert', () => {
    expect(detectFormat(vmdk(), none, 'a.vmdk')).toBe('vmdk');
    expect(detectFormat(Buffer.from('# Disk DescriptorFile\nversion=1\n'), none, 'a.vmdk')).toBe('vmdk');
    const vdi = Buffer.alloc(512);
    vdi.writeUInt32LE(0xbeda107f, 0x40);
    expect(detectFormat(vdi, none, 'a.vdi')).toBe('vdi');
    const tail = Buffer.alloc(512);
    tail.write('conectix', 0, 'latin1');
    expect(detectFormat(Buffer.alloc(512), tail, 'a.vhd')).toBe('vhd');
    expect(detectFormat(Buffer.alloc(512, 1), Buffer.alloc(512, 1), 'disk.raw')).toBe('raw');
  });

  it('refuses qcow2 and archives with a hint', () => {
    expect(() => detectFormat(Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'), none, 'd.qcow2')).toThrow(
      /qcow2 image, which VirtualBox cannot use/,
    );
    expect(() => detectFormat(Buffer.from('\xfd7zXZ\0', 'latin1'), none, 'd.tar.xz')).toThrow(
      /xz-compressed: unpack it/,
    );
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257, 'latin1');
    expect(() => detectFormat(tar, none, 'd.tar')).toThrow(/tar archive/);
  });
});

describe('the disk an image holds (what --virtualbox-disk-size may not be below)', () => {
  const none = Buffer.alloc(0);
  it('from the headers of each format', () => {
    expect(diskCapacity('vmdk', vmdk(), none, 4096)).toBe(4194304 * 512); // sectors at offset 12
    const descriptor = Buffer.from(
      '# Disk DescriptorFile\nversion=1\nRW 4192256 SPARSE "a-s001.vmdk"\nRW 2048 SPARSE "a-s002.vmdk"\n',
    );
    expect(diskCapacity('vmdk', descriptor, none, descriptor.length)).toBe((4192256 + 2048) * 512);
    const vdi = Buffer.alloc(512);
    vdi.writeUInt32LE(0xbeda107f, 0x40);
    vdi.writeBigUInt64LE(10n * 2n ** 30n, 0x170);
    expect(diskCapacity('vdi', vdi, none, 512)).toBe(10 * 2 ** 30);
    const footer = Buffer.alloc(512);
    footer.write('conectix', 0, 'latin1');
    footer.writeBigUInt64BE(3n * 2n ** 30n, 48);
    expect(diskCapacity('vhd', Buffer.alloc(512), footer, 1 << 20)).toBe(3 * 2 ** 30);
    expect(diskCapacity('raw', Buffer.alloc(512), none, 2 ** 31)).toBe(2 ** 31);
    expect(diskCapacity('vmdk', Buffer.from('# Disk DescriptorFile\n'), none, 22)).toBeUndefined();
  });

  it('is reported with the cached image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-vbox-cap-'));
    try {
      const img = vmdk();
      await writeFile(join(dir, 'cap.vmdk'), img);
      const got = await ensureImage({
        url: pathToFileURL(join(dir, 'cap.vmdk')).href,
        checksum: sha(img),
        cacheDir: join(dir, 'cache'),
        log: () => undefined,
      });
      expect(got.capacity).toBe(4194304 * 512);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the image cache', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let served = 0;
  const image = vmdk(300_000);
  const raw = Buffer.alloc(200_000, 7);
  const log: string[] = [];
  const logger = (m: string) => log.push(m);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmup-vbox-image-'));
    server = createServer((req, res) => {
      if (req.url === '/release/disk.vmdk') {
        served++;
        res.writeHead(200, { 'content-length': String(image.length) }).end(image);
      } else if (req.url === '/release/SHA256SUMS') {
        res.end(`${sha(image)} *disk.vmdk\n`);
      } else if (req.url === '/debian/disk.raw') {
        served++;
        res.writeHead(200, { 'content-length': String(raw.length) }).end(raw);
      } else if (req.url === '/debian/SHA512SUMS') {
        res.end(`${sha512(Buffer.from('other'))}  other.raw\n${sha512(raw)}  disk.raw\n`);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies a file:// image once, verified, and reuses it without reading the source again', async () => {
    const src = join(dir, 'src.vmdk');
    await writeFile(src, image);
    const cache = join(dir, 'cache1');
    const got = await ensureImage({
      url: pathToFileURL(src).href,
      checksum: `sha256:${sha(image)}`,
      cacheDir: cache,
      log: logger,
    });
    expect(got).toMatchObject({
      path: join(cache, 'src.vmdk'),
      checksum: `sha256:${sha(image)}`,
      format: 'vmdk',
    });
    expect(sha(await readFile(got.path))).toBe(sha(image));
    expect((await readFile(`${got.path}.sha256`, 'utf8')).trim()).toBe(sha(image));
    await rm(src);
    const again = await ensureImage({
      url: pathToFileURL(src).href,
      checksum: sha(image),
      cacheDir: cache,
      log: logger,
    });
    expect(again.path).toBe(got.path);
  });

  it('a wrong checksum fails with both sums and leaves nothing in the cache', async () => {
    const src = join(dir, 'bad.vmdk');
    await writeFile(src, image);
    const cache = join(dir, 'cache2');
    await expect(
      ensureImage({
        url: pathToFileURL(src).href,
        checksum: `sha256:${'0'.repeat(64)}`,
        cacheDir: cache,
        log: logger,
      }),
    ).rejects.toThrow(new RegExp(`checksum mismatch .*expected sha256 0{64}, got ${sha(image)}`));
    expect((await readdir(cache)).filter((f) => !f.endsWith('.lock'))).toEqual([]);
  });

  it("downloads over HTTP once, verified by the image's SHA256SUMS, with progress", async () => {
    const cache = join(dir, 'cache3');
    const seen: number[] = [];
    const got = await ensureImage({
      url: `${base}/release/disk.vmdk`,
      cacheDir: cache,
      log: logger,
      progress: (done) => seen.push(done),
    });
    expect(got.checksum).toBe(`sha256:${sha(image)}`);
    expect(served).toBe(1);
    expect(seen.at(-1)).toBe(image.length);
    await ensureImage({ url: `${base}/release/disk.vmdk`, cacheDir: cache, log: logger });
    expect(served).toBe(1);
    expect((await stat(got.path)).size).toBe(image.length);
  });

  it('a corrupted cached copy is downloaded again', async () => {
    const cache = join(dir, 'cache3');
    await writeFile(join(cache, 'disk.vmdk'), Buffer.from('garbage'));
    await writeFile(join(cache, 'disk.vmdk.sha256'), `${'f'.repeat(64)}\n`);
    await ensureImage({ url: `${base}/release/disk.vmdk`, cacheDir: cache, log: logger });
    expect(served).toBe(2);
    expect(sha(await readFile(join(cache, 'disk.vmdk')))).toBe(sha(image));
  });

  it('without a checksum and without SHA256SUMS or SHA512SUMS it refuses to use the image', async () => {
    await expect(
      ensureImage({ url: `${base}/nosums/disk.vmdk`, cacheDir: join(dir, 'cache4'), log: logger }),
    ).rejects.toThrow(
      /cannot verify .*no --virtualbox-image-checksum given and .*\/nosums\/SHA256SUMS cannot be read \(HTTP 404.*\/nosums\/SHA512SUMS cannot be read \(HTTP 404/,
    );
  });

  it('a Debian image: verified by the SHA512SUMS next to it (there is no SHA256SUMS), recorded as sha512', async () => {
    const cache = join(dir, 'cache5');
    const before = served;
    const got = await ensureImage({ url: `${base}/debian/disk.raw`, cacheDir: cache, log: logger });
    expect(got).toMatchObject({ checksum: `sha512:${sha512(raw)}`, format: 'raw' });
    expect(served).toBe(before + 1);
    expect((await readFile(`${got.path}.sha512`, 'utf8')).trim()).toBe(sha512(raw));
    // The recorded sum is trusted: no second download, no rehash needed.
    await ensureImage({ url: `${base}/debian/disk.raw`, cacheDir: cache, log: logger });
    expect(served).toBe(before + 1);
  });

  it('an explicit sha512 that does not match fails naming sha512, and leaves nothing in the cache', async () => {
    const src = join(dir, 'debian.raw');
    await writeFile(src, raw);
    const cache = join(dir, 'cache6');
    await expect(
      ensureImage({
        url: pathToFileURL(src).href,
        checksum: `sha512:${'0'.repeat(128)}`,
        cacheDir: cache,
        log: logger,
      }),
    ).rejects.toThrow(new RegExp(`checksum mismatch .*expected sha512 0{128}, got ${sha512(raw)}`));
    expect((await readdir(cache)).filter((f) => !f.endsWith('.lock'))).toEqual([]);
    const ok = await ensureImage({
      url: pathToFileURL(src).href,
      checksum: sha512(raw),
      cacheDir: cache,
      log: logger,
    });
    expect(ok.checksum).toBe(`sha512:${sha512(raw)}`);
  });

  it('offline, a copy verified earlier is used with a warning', async () => {
    const cache = join(dir, 'cache3');
    server.close();
    log.length = 0;
    const got = await ensureImage({ url: `${base}/release/disk.vmdk`, cacheDir: cache, log: logger });
    expect(got.checksum).toBe(`sha256:${sha(image)}`);
    expect(log.join('\n')).toMatch(/Warning: cannot verify .*using the cached disk.vmdk verified earlier/);
  });
});
