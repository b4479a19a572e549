/**
 * Reads the root directory of an ISO9660 image, as a guest's kernel would for a cloud-init seed: Joliet
 * names when a Joliet descriptor is there, else Rock Ridge (NM) names, else primary names lower-cased
 * with the `;1` version and a trailing dot removed (Linux's map=normal). Written apart from the driver's
 * writer on purpose, so each checks the other.
 */

const SECTOR = 2048;

export interface IsoImage {
  volumeId: string;
  /** Which name space the files were read from. */
  names: 'joliet' | 'rockridge' | 'primary';
  files: Map<string, Buffer>;
}

function ucs2be(b: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

/** The NM (alternate name) entry of a directory record's system use area, if any. */
function rockRidgeName(rec: Buffer, nameEnd: number): string | undefined {
  let off = nameEnd + (nameEnd % 2 === 1 ? 1 : 0);
  let name = '';
  let found = false;
  while (off + 4 <= rec.length) {
    const sig = rec.subarray(off, off + 2).toString('latin1');
    const len = rec[off + 2];
    if (len < 4 || off + len > rec.length) break;
    if (sig === 'NM') {
      const flags = rec[off + 4];
      if (!(flags & 0x06)) name += rec.subarray(off + 5, off + len).toString('utf8');
      found = true;
    }
    off += len;
  }
  return found ? name : undefined;
}

function readDir(
  img: Buffer,
  extent: number,
  size: number,
  joliet: boolean,
): Array<{ name: string; rr?: string; data: Buffer }> {
  const out: Array<{ name: string; rr?: string; data: Buffer }> = [];
  const start = extent * SECTOR;
  let off = start;
  while (off < start + size) {
    const len = img[off];
    if (len === 0) {
      off = (Math.floor((off - start) / SECTOR) + 1) * SECTOR + start; // records do not cross sectors
      continue;
    }
    const rec = img.subarray(off, off + len);
    const fileExtent = rec.readUInt32LE(2);
    const fileSize = rec.readUInt32LE(10);
    const flags = rec[25];
    const nameLen = rec[32];
    const raw = rec.subarray(33, 33 + nameLen);
    off += len;
    if (nameLen === 1 && (raw[0] === 0 || raw[0] === 1)) continue; // . and ..
    if (flags & 0x02) continue; // a directory: seeds have none
    const name = joliet ? ucs2be(raw) : raw.toString('latin1');
    out.push({
      name,
      rr: joliet ? undefined : rockRidgeName(rec, 33 + nameLen),
      data: img.subarray(fileExtent * SECTOR, fileExtent * SECTOR + fileSize),
    });
  }
  return out;
}

const stripVersion = (n: string) => n.replace(/;\d+$/, '').replace(/\.$/, '');

/** `names: 'primary'` ignores Joliet and Rock Ridge, as a kernel mounting with nojoliet,norock would. */
export function readIso9660(img: Buffer, opts: { names?: 'auto' | 'primary' } = {}): IsoImage {
  let primary: Buffer | undefined;
  let joliet: Buffer | undefined;
  for (let s = 16; (s + 1) * SECTOR <= img.length; s++) {
    const d = img.subarray(s * SECTOR, (s + 1) * SECTOR);
    if (d.subarray(1, 6).toString('latin1') !== 'CD001')
      throw new Error('not an ISO9660 image (no CD001 descriptor)');
    if (d[0] === 255) break;
    if (d[0] === 1) primary = d;
    if (d[0] === 2 && ['%/@', '%/C', '%/E'].includes(d.subarray(88, 91).toString('latin1'))) joliet = d;
  }
  if (!primary) throw new Error('ISO9660 image without a primary volume descriptor');
  const volumeId = primary.subarray(40, 72).toString('latin1').trim();
  if (opts.names === 'primary') joliet = undefined;
  const desc = joliet ?? primary;
  const root = desc.subarray(156, 190);
  const entries = readDir(img, root.readUInt32LE(2), root.readUInt32LE(10), !!joliet);
  const files = new Map<string, Buffer>();
  let names: IsoImage['names'] = joliet ? 'joliet' : 'primary';
  for (const e of entries) {
    if (joliet) files.set(stripVersion(e.name), e.data);
    else if (e.rr !== undefined && opts.names !== 'primary') {
      names = 'rockridge';
      files.set(e.rr, e.data);
    } else files.set(stripVersion(e.name).toLowerCase(), e.data);
  }
  return { volumeId, names, files };
}

/** True when the buffer (at least 34 KB) holds an ISO9660 primary volume descriptor. */
export const looksLikeIso = (head: Buffer): boolean =>
  head.length >= 16 * SECTOR + 6 &&
  head.subarray(16 * SECTOR + 1, 16 * SECTOR + 6).toString('latin1') === 'CD001';

/** True when the image has an El Torito boot record (volume descriptor type 0): a BIOS can boot it. */
export function isBootableIso(img: Buffer): boolean {
  for (let s = 16; (s + 1) * SECTOR <= img.length; s++) {
    const d = img.subarray(s * SECTOR, (s + 1) * SECTOR);
    if (d.subarray(1, 6).toString('latin1') !== 'CD001' || d[0] === 255) return false;
    if (d[0] === 0 && d.subarray(7, 30).toString('latin1') === 'EL TORITO SPECIFICATION') return true;
  }
  return false;
}
