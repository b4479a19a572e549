import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectFormat, ensureImage, lookupSum, parseChecksum } from '../../drivers/virtualbox/image.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A sparse-VMDK header (streamOptimized images start the same way). */
function vmdk(bytes = 4096): Buffer {
  const b = Buffer.alloc(bytes);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(3, 4);
  b.writeBigUInt64LE(4194304n, 12);
  return b;
}

describe('checksums', () => {
  it('sha256:<hex> or bare hex, lower-cased', () => {
    expect(parseChecksum(`sha256:${'AB'.repeat(32)}`)).toBe('ab'.repeat(32));
    expect(parseChecksum('cd'.repeat(32))).toBe('cd'.repeat(32));
    expect(parseChecksum(undefined)).toBeUndefined();
    expect(() => parseChecksum('sha512:abcd')).toThrow(/expected sha256:<64 hex digits>/);
    expect(() => parseChecksum(`sha256:${'a'.repeat(63)}`)).toThrow();
  });

  it("finds the image's line in SHA256SUMS (text or binary mode lines)", () => {
    const sums = `${'1'.repeat(64)} *ubuntu-24.04-server-cloudimg-amd64.img\n${'2'.repeat(64)} *ubuntu-24.04-server-cloudimg-amd64.vmdk\n${'3'.repeat(64)}  other.raw\n`;
    expect(lookupSum(sums, 'ubuntu-24.04-server-cloudimg-amd64.vmdk')).toBe('2'.repeat(64));
    expect(lookupSum(sums, 'other.raw')).toBe('3'.repeat(64));
    expect(lookupSum(sums, 'missing.vmdk')).toBeUndefined();
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

describe('the image cache', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let served = 0;
  const image = vmdk(300_000);
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
    expect(got).toMatchObject({ path: join(cache, 'src.vmdk'), sha256: sha(image), format: 'vmdk' });
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
    expect(got.sha256).toBe(sha(image));
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

  it('without a checksum and without SHA256SUMS it refuses to use the image', async () => {
    await expect(
      ensureImage({ url: `${base}/nosums/disk.vmdk`, cacheDir: join(dir, 'cache4'), log: logger }),
    ).rejects.toThrow(
      /cannot verify .*no --virtualbox-image-checksum given and .*SHA256SUMS cannot be read \(HTTP 404/,
    );
  });

  it('offline, a copy verified earlier is used with a warning', async () => {
    const cache = join(dir, 'cache3');
    server.close();
    log.length = 0;
    const got = await ensureImage({ url: `${base}/release/disk.vmdk`, cacheDir: cache, log: logger });
    expect(got.sha256).toBe(sha(image));
    expect(log.join('\n')).toMatch(/Warning: cannot verify .*using the cached disk.vmdk verified earlier/);
  });
});
