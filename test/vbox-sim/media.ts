/** Media: the registry of disks and DVD images, and the disk commands that read and write them. */
import {
  closeSync,
  existsSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { int, parseArgs, table } from './args.js';
import { VBoxError, VBoxSyntaxError, fileNotFound } from './errors.js';
import { looksLikeIso } from './iso9660.js';
import { newUuid, withState, type Medium, type SimState } from './state.js';
import type { Io } from './io.js';

const VDI_SIGNATURE = 0xbeda107f;
const VDI_TEXT = '<<< Oracle VM VirtualBox Disk Image >>>\n';

function readAt(path: string, pos: number, len: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(len);
    const n = readSync(fd, b, 0, len, pos);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** What VirtualBox's VD backends would recognize: format and logical size, from the headers. */
export function probe(path: string): { format: Medium['format']; capacity: number } | undefined {
  const size = statSync(path).size;
  const head = readAt(path, 0, 40 * 1024);
  if (head.subarray(0, 4).toString('latin1') === 'KDMV' && head.length >= 20) {
    return { format: 'VMDK', capacity: Number(head.readBigUInt64LE(12)) * 512 };
  }
  if (head.subarray(0, 21).toString('latin1') === '# Disk DescriptorFile') {
    const sectors = [...head.toString('latin1').matchAll(/^RW (\d+) /gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    return { format: 'VMDK', capacity: sectors * 512 };
  }
  if (head.length >= 0x178 && head.readUInt32LE(0x40) === VDI_SIGNATURE) {
    return { format: 'VDI', capacity: Number(head.readBigUInt64LE(0x170)) };
  }
  const tail = readAt(path, Math.max(0, size - 512), 512);
  if (tail.subarray(0, 8).toString('latin1') === 'conectix') {
    return { format: 'VHD', capacity: Number(tail.readBigUInt64BE(48)) };
  }
  if (looksLikeIso(head)) return { format: 'ISO', capacity: size };
  return undefined;
}

/** A dynamic VDI as far as its header goes: pre-header, signature, version, header size, type, cbDisk. */
export function writeVdi(path: string, capacity: number): void {
  const b = Buffer.alloc(0x200, 0);
  b.write(VDI_TEXT, 0, 'latin1');
  b.writeUInt32LE(VDI_SIGNATURE, 0x40);
  b.writeUInt32LE(0x00010001, 0x44);
  b.writeUInt32LE(0x190, 0x48);
  b.writeUInt32LE(1, 0x4c); // dynamic
  b.writeBigUInt64LE(BigInt(capacity), 0x170);
  writeFileSync(path, b, { flag: 'wx' });
}

const notSupported = (path: string) =>
  new VBoxError(
    `Could not get the storage format of the medium '${path}' (VERR_NOT_SUPPORTED)`,
    'VBOX_E_IPRT_ERROR',
    'MediumWrap',
    'IMedium',
    `"OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())" at line 201 of file VBoxManageDisk.cpp`,
  );

/** A medium by UUID or path; an unregistered file is opened (and so registered), as VirtualBox does. */
export function openMedium(st: SimState, ref: string, kind: Medium['kind']): Medium {
  const byId = st.media.find((m) => m.uuid === ref);
  const path = resolve(ref);
  const known = byId ?? st.media.find((m) => m.location === path);
  if (known) {
    if (known.kind !== kind) throw notSupported(known.location); // a disk is not a DVD image, nor the reverse
    return known;
  }
  if (!existsSync(path)) throw fileNotFound(path);
  const p = probe(path);
  if (!p || (kind === 'dvd') !== (p.format === 'ISO')) throw notSupported(path);
  const m: Medium = { uuid: newUuid(), location: path, format: p.format, kind, capacity: p.capacity };
  st.media.push(m);
  return m;
}

/** The VMs a medium is attached to. */
export const attachedTo = (st: SimState, m: Medium) =>
  st.vms.filter((v) => v.attachments.some((a) => a.medium === m.uuid));

const progress = (io: Io) => io.err('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');

const kindOf = (word: string | undefined): Medium['kind'] | undefined =>
  word === 'disk' ? 'hdd' : word === 'dvd' ? 'dvd' : undefined;

/** `clonemedium [disk|dvd] <source> <target> [--format VDI|VMDK|VHD|RAW] [--variant ...] [--existing]` */
export function clonemedium(home: string, argv: string[], io: Io): void {
  const a = parseArgs(argv, table({ format: 1, variant: 1, existing: 0, o: 1 }));
  const pos = [...a.positional];
  const kind = kindOf(pos[0]) ?? 'hdd';
  if (kindOf(pos[0])) pos.shift();
  if (pos.length !== 2) throw new VBoxSyntaxError('Mandatory UUID or input file parameter missing');
  const format = (a.opts.find(([n]) => n === 'format')?.[1][0] ?? 'VDI').toUpperCase();
  if (!['VDI', 'VMDK', 'VHD', 'RAW'].includes(format))
    throw new VBoxSyntaxError(`Invalid format '${format}'`);
  const target = resolve(pos[1]);
  const uuid = withState(home, (st) => {
    const src = openMedium(st, pos[0], kind);
    if (existsSync(target)) {
      throw new VBoxError(
        `Could not create the clone medium '${target}' (VERR_ALREADY_EXISTS)`,
        'VBOX_E_FILE_ERROR',
        'MediumWrap',
        'IMedium',
        `"CloneTo(pDstMedium, ComSafeArrayAsInParam(l_variants), NULL, pProgress.asOutParam())" at line 1148 of file VBoxManageDisk.cpp`,
      );
    }
    writeVdi(target, src.capacity);
    const m: Medium = {
      uuid: newUuid(),
      location: target,
      format: format as Medium['format'],
      kind,
      capacity: src.capacity,
    };
    st.media.push(m);
    return m.uuid;
  });
  progress(io);
  io.out(`Clone medium created in format '${format}'. UUID: ${uuid}\n`);
}

/** `convertfromraw <raw> <target> [--format VDI]`: makes the file, registers nothing. */
export function convertfromraw(_home: string, argv: string[], io: Io): void {
  const a = parseArgs(argv, table({ format: 1, variant: 1, uuid: 1 }));
  if (a.positional.length !== 2) throw new VBoxSyntaxError('Incorrect number of parameters');
  const [src, dst] = a.positional.map((p) => resolve(p));
  if (!existsSync(src)) throw new VBoxError(`Cannot open the raw disk '${src}': VERR_FILE_NOT_FOUND`);
  if (existsSync(dst)) throw new VBoxError(`Cannot create the disk image "${dst}": VERR_ALREADY_EXISTS`);
  const size = statSync(src).size;
  io.out(`Converting from raw image file="${src}" to file="${dst}"...\n`);
  io.out(`Creating dynamic image with size ${size} bytes (${Math.ceil(size / 1048576)}MB)...\n`);
  writeVdi(dst, size);
}

/** `modifymedium [disk] <uuid|file> --resize <MB> | --resizebyte <bytes> | --type ... | --compact` */
export function modifymedium(home: string, argv: string[], io: Io): void {
  const a = parseArgs(
    argv,
    table({ resize: 1, resizebyte: 1, type: 1, compact: 0, autoreset: 1, description: 1 }),
  );
  const pos = [...a.positional];
  const kind = kindOf(pos[0]) ?? 'hdd';
  if (kindOf(pos[0])) pos.shift();
  if (pos.length !== 1) throw new VBoxSyntaxError('Mandatory UUID or input file parameter missing');
  let resized = false;
  withState(home, (st) => {
    const m = openMedium(st, pos[0], kind);
    for (const [name, [v]] of a.opts) {
      if (name !== 'resize' && name !== 'resizebyte') continue;
      const bytes = name === 'resize' ? int(name, v) * 1048576 : int(name, v);
      if (m.format !== 'VDI' && m.format !== 'VHD') {
        throw new VBoxError(
          'Resize medium operation for this format is not implemented yet!',
          'VBOX_E_NOT_SUPPORTED',
          'MediumWrap',
          'IMedium',
        );
      }
      if (bytes < m.capacity) {
        throw new VBoxError(
          `Shrinking is not yet supported for medium '${m.location}'`,
          'VBOX_E_NOT_SUPPORTED',
          'MediumWrap',
          'IMedium',
        );
      }
      if (attachedTo(st, m).some((v) => v.session)) {
        throw new VBoxError(
          `Cannot resize medium '${m.location}' because it is locked for reading by a running virtual machine`,
          'VBOX_E_INVALID_OBJECT_STATE',
          'MediumWrap',
          'IMedium',
        );
      }
      m.capacity = bytes;
      if (m.format === 'VDI' && existsSync(m.location)) {
        const fd = openSync(m.location, 'r+');
        try {
          const b = Buffer.alloc(8);
          b.writeBigUInt64LE(BigInt(bytes));
          writeSync(fd, b, 0, 8, 0x170);
        } finally {
          closeSync(fd);
        }
      }
      resized = true;
    }
  });
  if (resized) progress(io);
}

/** `closemedium [disk|dvd] <uuid|file> [--delete]` */
export function closemedium(home: string, argv: string[], io: Io): void {
  const a = parseArgs(argv, table({ delete: 0 }));
  const pos = [...a.positional];
  const kind = kindOf(pos[0]) ?? 'hdd';
  if (kindOf(pos[0])) pos.shift();
  if (pos.length !== 1) throw new VBoxSyntaxError('Mandatory UUID or input file parameter missing');
  const del = a.opts.some(([n]) => n === 'delete');
  withState(home, (st) => {
    const m = openMedium(st, pos[0], kind);
    const vms = attachedTo(st, m);
    if (vms.length) {
      throw new VBoxError(
        `Medium '${m.location}' cannot be closed because it is still attached to ${vms.length} virtual machines`,
        'VBOX_E_OBJECT_IN_USE',
        'MediumWrap',
        'IMedium',
        `"Close()" at line 1824 of file VBoxManageDisk.cpp`,
      );
    }
    st.media = st.media.filter((x) => x.uuid !== m.uuid);
    if (del) rmSync(m.location, { force: true });
  });
  if (del) progress(io);
}

/** `list hdds` / `list dvds` */
export function listMedia(st: SimState, kind: Medium['kind'], io: Io): void {
  const ms = st.media.filter((m) => m.kind === kind);
  io.out(
    ms
      .map((m) =>
        [
          `UUID:           ${m.uuid}`,
          ...(kind === 'hdd' ? ['Parent UUID:    base'] : []),
          `State:          ${existsSync(m.location) ? 'created' : 'inaccessible'}`,
          ...(kind === 'hdd' ? ['Type:           normal (base)'] : []),
          `Location:       ${m.location}`,
          ...(kind === 'hdd' ? [`Storage format: ${m.format}`] : []),
          `Capacity:       ${Math.round(m.capacity / 1048576)} MBytes`,
          'Encryption:     disabled',
          '',
        ].join('\n'),
      )
      .join('\n'),
  );
}
