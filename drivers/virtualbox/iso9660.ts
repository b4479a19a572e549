/**
 * A minimal ISO9660 image writer: one root directory with a few small files, a primary volume descriptor
 * (8.3-style upper-case names, which Linux shows lower-cased) and a Joliet supplementary descriptor
 * (the exact names, in UCS-2). Enough for a cloud-init NoCloud seed (volume label `cidata`).
 */

const SECTOR = 2048;

export interface IsoFile {
  name: string;
  content: string | Buffer;
}

const both16 = (b: Buffer, off: number, v: number) => {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
};
const both32 = (b: Buffer, off: number, v: number) => {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
};

/** ISO9660 d-characters: upper-case letters, digits and `_` (we keep `-` too; Linux accepts it). */
function primaryName(name: string): string {
  const base = name.toUpperCase().replace(/[^A-Z0-9_.-]/g, '_');
  return `${base.includes('.') ? base : `${base}.`};1`;
}

const ucs2 = (s: string): Buffer => {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return b;
};

/** Fill `len` bytes at `off` with `text` padded by spaces (a-/d-characters) or UCS-2 spaces (Joliet). */
function putText(b: Buffer, off: number, len: number, text: string, joliet: boolean): void {
  if (joliet) {
    for (let i = 0; i + 1 < len; i += 2) b.writeUInt16BE(0x20, off + i);
    ucs2(text.slice(0, Math.floor(len / 2))).copy(b, off);
  } else {
    b.fill(0x20, off, off + len);
    b.write(text.slice(0, len), off, 'ascii');
  }
}

/** 7-byte directory record date. */
function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** 17-byte volume descriptor date: "YYYYMMDDHHMMSScc" and a zero GMT offset. */
function volumeDate(d: Date | undefined): Buffer {
  const b = Buffer.alloc(17, 0);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const s = d
    ? `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`
    : '0000000000000000';
  b.write(s, 0, 'ascii');
  return b;
}

function dirRecord(name: Buffer, extent: number, size: number, isDir: boolean, date: Date): Buffer {
  const len = 33 + name.length + (name.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(len, 0);
  r[0] = len;
  both32(r, 2, extent);
  both32(r, 10, size);
  recordDate(date).copy(r, 18);
  r[25] = isDir ? 0x02 : 0x00;
  both16(r, 28, 1);
  r[32] = name.length;
  name.copy(r, 33);
  return r;
}

function pathTable(rootExtent: number, bigEndian: boolean): Buffer {
  const t = Buffer.alloc(10, 0);
  t[0] = 1;
  if (bigEndian) {
    t.writeUInt32BE(rootExtent, 2);
    t.writeUInt16BE(1, 6);
  } else {
    t.writeUInt32LE(rootExtent, 2);
    t.writeUInt16LE(1, 6);
  }
  return t;
}

export interface IsoOptions {
  volumeId: string;
  files: IsoFile[];
  /** Recording date of the volume and its files (default: now). */
  date?: Date;
}

/** Build the image in memory. Files are written in name order after the directories. */
export function buildIso9660(opts: IsoOptions): Buffer {
  const date = opts.date ?? new Date();
  const files = [...opts.files]
    .map((f) => ({ name: f.name, data: Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content) }))
    .sort((a, b) => (primaryName(a.name) < primaryName(b.name) ? -1 : 1));
  const PVD = 16;
  const SVD = 17;
  const L_PVD = 19;
  const M_PVD = 20;
  const L_SVD = 21;
  const M_SVD = 22;
  const ROOT_PVD = 23;
  const ROOT_SVD = 24;
  let next = 25;
  const extents = files.map((f) => {
    const at = next;
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
    return at;
  });
  const total = next;
  const img = Buffer.alloc(total * SECTOR, 0);

  const rootDir = (joliet: boolean, extent: number): Buffer => {
    const recs = [
      dirRecord(Buffer.from([0]), extent, SECTOR, true, date),
      dirRecord(Buffer.from([1]), extent, SECTOR, true, date),
      ...files.map((f, i) =>
        dirRecord(
          joliet ? ucs2(f.name) : Buffer.from(primaryName(f.name), 'ascii'),
          extents[i],
          f.data.length,
          false,
          date,
        ),
      ),
    ];
    const dir = Buffer.concat(recs);
    if (dir.length > SECTOR) throw new Error('too many files for a one-sector ISO9660 directory');
    return dir;
  };

  const descriptor = (type: 1 | 2, joliet: boolean, root: number, lTable: number, mTable: number): Buffer => {
    const d = Buffer.alloc(SECTOR, 0);
    d[0] = type;
    d.write('CD001', 1, 'ascii');
    d[6] = 1;
    putText(d, 8, 32, '', joliet);
    putText(d, 40, 32, opts.volumeId, joliet);
    both32(d, 80, total);
    if (joliet) d.write('%/E', 88, 'ascii');
    both16(d, 120, 1);
    both16(d, 124, 1);
    both16(d, 128, SECTOR);
    both32(d, 132, 10);
    d.writeUInt32LE(lTable, 140);
    d.writeUInt32BE(mTable, 148);
    dirRecord(Buffer.from([0]), root, SECTOR, true, date).copy(d, 156);
    putText(d, 190, 128, '', joliet);
    putText(d, 318, 128, '', joliet);
    putText(d, 446, 128, '', joliet);
    putText(d, 574, 128, 'SWARMUP', joliet);
    putText(d, 702, 37, '', joliet);
    putText(d, 739, 37, '', joliet);
    putText(d, 776, 37, '', joliet);
    volumeDate(date).copy(d, 813);
    volumeDate(date).copy(d, 830);
    volumeDate(undefined).copy(d, 847);
    volumeDate(undefined).copy(d, 864);
    d[881] = 1;
    return d;
  };

  descriptor(1, false, ROOT_PVD, L_PVD, M_PVD).copy(img, PVD * SECTOR);
  descriptor(2, true, ROOT_SVD, L_SVD, M_SVD).copy(img, SVD * SECTOR);
  const term = Buffer.alloc(SECTOR, 0);
  term[0] = 255;
  term.write('CD001', 1, 'ascii');
  term[6] = 1;
  term.copy(img, 18 * SECTOR);
  pathTable(ROOT_PVD, false).copy(img, L_PVD * SECTOR);
  pathTable(ROOT_PVD, true).copy(img, M_PVD * SECTOR);
  pathTable(ROOT_SVD, false).copy(img, L_SVD * SECTOR);
  pathTable(ROOT_SVD, true).copy(img, M_SVD * SECTOR);
  rootDir(false, ROOT_PVD).copy(img, ROOT_PVD * SECTOR);
  rootDir(true, ROOT_SVD).copy(img, ROOT_SVD * SECTOR);
  files.forEach((f, i) => f.data.copy(img, extents[i] * SECTOR));
  return img;
}
