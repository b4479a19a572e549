/** VM commands: createvm, modifyvm, showvminfo, storagectl, storageattach, sharedfolder, extra data. */
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { canonical, int, onOff, parseArgs, table } from './args.js';
import { VBoxError, VBoxSyntaxError, locked } from './errors.js';
import type { Io } from './io.js';
import { attachedTo, openMedium } from './media.js';
import {
  defaultNic,
  findVm,
  hostOs,
  isLocked,
  newUuid,
  reapAborted,
  withState,
  type Attachment,
  type NatRule,
  type SimState,
  type Vm,
} from './state.js';

export const OS_TYPES: Record<string, string> = {
  Other: 'Other/Unknown',
  Other_64: 'Other/Unknown (64-bit)',
  Linux26: 'Linux 2.6 / 3.x / 4.x / 5.x (32-bit)',
  Linux26_64: 'Linux 2.6 / 3.x / 4.x / 5.x (64-bit)',
  Linux_64: 'Other Linux (64-bit)',
  Ubuntu_64: 'Ubuntu (64-bit)',
  Ubuntu22_LTS_64: 'Ubuntu 22.04 LTS (Jammy Jellyfish) (64-bit)',
  Ubuntu24_LTS_64: 'Ubuntu 24.04 LTS (Noble Numbat) (64-bit)',
  Debian_64: 'Debian (64-bit)',
  Debian12_64: 'Debian 12 Bookworm (64-bit)',
};

const ONOFF = [
  'acpi',
  'ioapic',
  'rtcuseutc',
  'pae',
  'hpet',
  'hwvirtex',
  'nestedpaging',
  'largepages',
  'vtxvpid',
  'vtxux',
  'cpuhotplug',
  'accelerate3d',
  'bioslogofadein',
  'bioslogofadeout',
  'longmode',
  'x2apic',
  'apic',
  'pagefusion',
  'usb',
  'usbohci',
  'usbehci',
  'usbxhci',
  'nestedhwvirt',
  'triplefaultreset',
];
const INTS: Record<string, [number, number]> = {
  memory: [4, 2097152],
  cpus: [1, 64],
  vram: [0, 256],
  bioslogodisplaytime: [0, 65535],
  cpuexecutioncap: [1, 100],
};
const ENUMS: Record<string, string[]> = {
  firmware: ['bios', 'efi', 'efi32', 'efi64'],
  biosbootmenu: ['disabled', 'menuonly', 'messageandmenu'],
  graphicscontroller: ['none', 'vboxvga', 'vmsvga', 'vboxsvga'],
  paravirtprovider: ['none', 'default', 'legacy', 'minimal', 'hyperv', 'kvm'],
  audio: ['none', 'null', 'pulse', 'alsa', 'oss', 'default'],
  boot1: ['none', 'floppy', 'dvd', 'disk', 'net'],
  boot2: ['none', 'floppy', 'dvd', 'disk', 'net'],
  boot3: ['none', 'floppy', 'dvd', 'disk', 'net'],
  boot4: ['none', 'floppy', 'dvd', 'disk', 'net'],
};
const NIC_ATTACH: Attachment[] = [
  'none',
  'null',
  'nat',
  'bridged',
  'intnet',
  'hostonly',
  'hostonlynet',
  'generic',
  'natnetwork',
];
const NIC_TYPES = ['Am79C970A', 'Am79C973', 'Am79C960', '82540EM', '82543GC', '82545EM', 'virtio'];
const PROMISC = ['deny', 'allow-vms', 'allow-all'];
const NIC_OPT =
  /^(nic|nictype|cableconnected|nicpromisc|hostonlyadapter|hostonlynet|macaddress|natpf|natdnsproxy|natdnshostresolver|nicspeed)([1-8])$/;

const MODIFY_CTX = '"LockMachine(a->session, LockType_Write)" at line 640 of file VBoxManageModifyVM.cpp';

function defaultSettings(): Record<string, string | number> {
  return {
    memory: 128,
    cpus: 1,
    vram: 8,
    firmware: 'bios',
    acpi: 'on',
    ioapic: 'on',
    rtcuseutc: 'off',
    pae: 'on',
    hpet: 'off',
    hwvirtex: 'on',
    nestedpaging: 'on',
    largepages: 'on',
    vtxvpid: 'on',
    vtxux: 'on',
    cpuhotplug: 'off',
    accelerate3d: 'off',
    bioslogofadein: 'on',
    bioslogofadeout: 'on',
    bioslogodisplaytime: 0,
    biosbootmenu: 'messageandmenu',
    graphicscontroller: 'vboxvga',
    paravirtprovider: 'default',
    longmode: 'on',
    boot1: 'floppy',
    boot2: 'dvd',
    boot3: 'disk',
    boot4: 'none',
  };
}

// ---- createvm ------------------------------------------------------------------------------------

export function createvm(home: string, argv: string[], io: Io): void {
  const a = parseArgs(
    argv,
    table({ name: 1, basefolder: 1, register: 0, ostype: 1, groups: 1, uuid: 1, default: 0 }),
  );
  const opt = (n: string) => a.opts.find(([k]) => k === n)?.[1][0];
  const name = opt('name');
  if (!name) throw new VBoxSyntaxError('Parameter --name is required');
  const ostype = opt('ostype') ?? 'Other';
  if (!OS_TYPES[ostype])
    throw new VBoxError(
      `Guest OS type '${ostype}' is invalid`,
      'E_INVALIDARG',
      'VirtualBoxWrap',
      'IVirtualBox',
    );
  const base = resolve(opt('basefolder') ?? join(home, 'VirtualBox VMs'));
  const cfgFile = join(base, name, `${name}.vbox`);
  const register = a.opts.some(([k]) => k === 'register');
  const uuid = opt('uuid') ?? newUuid();
  withState(home, (st) => {
    if (existsSync(cfgFile)) {
      throw new VBoxError(
        `Machine settings file '${cfgFile}' already exists`,
        'VBOX_E_FILE_ERROR',
        'MachineWrap',
        'IMachine',
        '"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())" at line 274 of file VBoxManageMisc.cpp',
      );
    }
    if (st.vms.some((v) => v.uuid === uuid)) {
      throw new VBoxError(
        `Registered machine with UUID {${uuid}} already exists`,
        'VBOX_E_OBJECT_IN_USE',
        'VirtualBoxWrap',
        'IVirtualBox',
      );
    }
    mkdirSync(join(base, name, 'Logs'), { recursive: true });
    writeFileSync(
      cfgFile,
      `<?xml version="1.0"?>\n<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">\n  <Machine uuid="{${uuid}}" name="${name}" OSType="${ostype}" snapshotFolder="Snapshots"/>\n</VirtualBox>\n`,
    );
    if (!register) return;
    const vm: Vm = {
      uuid,
      name,
      cfgFile,
      ostype,
      settings: defaultSettings(),
      description: '',
      nics: Array.from({ length: 8 }, () => defaultNic()),
      uarts: [null, null, null, null],
      ctls: [],
      attachments: [],
      sharedFolders: [],
      extra: {},
      guestProps: {},
      state: 'poweroff',
      stateChange: new Date().toISOString(),
    };
    vm.nics[0].attachment = 'nat';
    st.vms.push(vm);
  });
  io.out(
    `Virtual machine '${name}' is created${register ? ' and registered' : ''}.\nUUID: ${uuid}\nSettings file: '${cfgFile}'\n`,
  );
}

// ---- modifyvm ------------------------------------------------------------------------------------

function modifyArity(name: string, rest: string[]): number | undefined {
  const n = canonical(name);
  if (ONOFF.includes(n) || INTS[n] || ENUMS[n] || ['name', 'description', 'groups', 'ostype'].includes(n))
    return 1;
  const nic = NIC_OPT.exec(n);
  // --host-only-netN (--hostonlynetN) exists on VirtualBox 7 for macOS only.
  if (nic?.[1] === 'hostonlynet' && hostOs() !== 'darwin') return undefined;
  if (nic) return nic[1] === 'natpf' && rest[0] === 'delete' ? 2 : 1;
  if (/^uart[1-4]$/.test(n)) return rest[0] === 'off' ? 1 : 2;
  if (/^uartmode[1-4]$/.test(n))
    return ['file', 'server', 'client', 'tcpserver', 'tcpclient'].includes(rest[0]) ? 2 : 1;
  return undefined;
}

function parseRule(v: string): NatRule {
  const f = v.split(',');
  if (f.length !== 6)
    throw new VBoxSyntaxError(
      `Invalid NAT rule '${v}': expected [<name>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>`,
    );
  const [name, proto, hostIp, hostPort, guestIp, guestPort] = f;
  if (proto !== 'tcp' && proto !== 'udp')
    throw new VBoxError(
      `Invalid proto '${proto}' specified for NIC`,
      'E_INVALIDARG',
      'NATEngineWrap',
      'INATEngine',
    );
  const port = (p: string) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535)
      throw new VBoxError(`Invalid port '${p}'`, 'E_INVALIDARG', 'NATEngineWrap', 'INATEngine');
    return n;
  };
  return {
    name: name || `${proto}_${hostPort}_${guestPort}`,
    proto,
    hostIp,
    hostPort: port(hostPort),
    guestIp,
    guestPort: port(guestPort),
  };
}

function applyNicOption(vm: Vm, opt: string, idx: number, values: string[]): void {
  const nic = vm.nics[idx - 1];
  const v = values[0];
  const natErr = (msg: string) =>
    new VBoxError(
      msg,
      'NS_ERROR_INVALID_ARG',
      'NATEngineWrap',
      'INATEngine',
      `"AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))" at line 2159 of file VBoxManageModifyVM.cpp`,
    );
  switch (opt) {
    case 'nic':
      if (!NIC_ATTACH.includes(v as Attachment) || (v === 'hostonlynet' && hostOs() !== 'darwin'))
        throw new VBoxSyntaxError(`Invalid type '${v}' specfied for NIC ${idx}`);
      nic.attachment = v as Attachment;
      return;
    case 'nictype':
      if (!NIC_TYPES.includes(v))
        throw new VBoxError(`Invalid NIC type '${v}' specified for NIC ${idx}`, 'E_INVALIDARG');
      nic.type = v;
      return;
    case 'cableconnected':
      nic.cable = onOff(`cableconnected${idx}`, v);
      return;
    case 'nicpromisc':
      if (!PROMISC.includes(v)) throw new VBoxError(`Unknown promiscuous mode policy '${v}'`, 'E_INVALIDARG');
      nic.promisc = v;
      return;
    case 'hostonlyadapter':
      nic.hostOnlyAdapter = v;
      return;
    case 'hostonlynet':
      nic.hostOnlyNetwork = v;
      return;
    case 'macaddress':
      if (v === 'auto') nic.mac = defaultNic().mac;
      // A unicast address: the low bit of the first octet clear.
      else if (/^[0-9a-fA-F]{12}$/.test(v) && (parseInt(v[1], 16) & 1) === 0) nic.mac = v.toUpperCase();
      else
        throw new VBoxError(
          `Invalid MAC address '${v}'`,
          'E_INVALIDARG',
          'NetworkAdapterWrap',
          'INetworkAdapter',
        );
      return;
    case 'natdnsproxy':
      nic.dnsProxy = onOff(`natdnsproxy${idx}`, v);
      return;
    case 'natdnshostresolver':
      nic.dnsHostResolver = onOff(`natdnshostresolver${idx}`, v);
      return;
    case 'nicspeed':
      int(`nicspeed${idx}`, v);
      return;
    case 'natpf': {
      if (v === 'delete') {
        const before = nic.natpf.length;
        nic.natpf = nic.natpf.filter((r) => r.name !== values[1]);
        if (nic.natpf.length === before) throw natErr('A NAT rule of this name does not exist');
        return;
      }
      const r = parseRule(v);
      if (nic.natpf.some((x) => x.name === r.name)) throw natErr('A NAT rule of this name already exists');
      if (nic.natpf.some((x) => x.proto === r.proto && x.hostPort === r.hostPort && x.hostIp === r.hostIp)) {
        throw natErr('A NAT rule for this host port and this host IP already exists');
      }
      nic.natpf.push(r);
      return;
    }
  }
}

export function modifyvm(home: string, argv: string[]): void {
  const a = parseArgs(argv, modifyArity);
  if (a.positional.length !== 1) throw new VBoxSyntaxError('Missing or extra VM name/UUID argument');
  withState(home, (st) => {
    const vm = findVm(st, a.positional[0], 'VBoxManageModifyVM.cpp', 547);
    reapAborted(vm);
    if (isLocked(vm)) throw locked(vm.name, MODIFY_CTX);
    for (const [rawName, values] of a.opts) {
      const n = canonical(rawName);
      const v = values[0];
      const nic = NIC_OPT.exec(n);
      if (nic) {
        applyNicOption(vm, nic[1], Number(nic[2]), values);
      } else if (/^uart[1-4]$/.test(n)) {
        const i = Number(n.slice(4)) - 1;
        if (v === 'off') vm.uarts[i] = null;
        else
          vm.uarts[i] = {
            io: values[0],
            irq: int(n, values[1]),
            mode: vm.uarts[i]?.mode ?? 'disconnected',
            path: vm.uarts[i]?.path ?? '',
          };
      } else if (/^uartmode[1-4]$/.test(n)) {
        const i = Number(n.slice(8)) - 1;
        const u = vm.uarts[i];
        if (!u)
          throw new VBoxError(
            `UART ${i + 1} is not enabled (use --uart${i + 1} first)`,
            'E_INVALIDARG',
            'SerialPortWrap',
            'ISerialPort',
          );
        if (values.length === 2) {
          if (values[0] === 'file' && !isAbsolute(values[1]))
            throw new VBoxError(
              `Path '${values[1]}' is not absolute`,
              'E_INVALIDARG',
              'SerialPortWrap',
              'ISerialPort',
            );
          u.mode = values[0] as typeof u.mode;
          u.path = values[1];
        } else if (v === 'disconnected') {
          u.mode = 'disconnected';
          u.path = '';
        } else throw new VBoxSyntaxError(`Invalid --${n} argument '${v}'`);
      } else if (ONOFF.includes(n)) {
        vm.settings[n] = onOff(n, v) ? 'on' : 'off';
      } else if (INTS[n]) {
        const x = int(n, v);
        const [lo, hi] = INTS[n];
        if (x < lo || x > hi)
          throw new VBoxError(`Invalid ${n} value ${x} (must be ${lo}..${hi})`, 'E_INVALIDARG');
        vm.settings[n] = x;
      } else if (ENUMS[n]) {
        if (!ENUMS[n].includes(v)) throw new VBoxSyntaxError(`Invalid --${n} argument '${v}'`);
        vm.settings[n] = v;
      } else if (n === 'ostype') {
        if (!OS_TYPES[v])
          throw new VBoxError(`Guest OS type '${v}' is invalid`, 'E_INVALIDARG', 'MachineWrap', 'IMachine');
        vm.ostype = v;
      } else if (n === 'name') {
        vm.name = v;
      } else if (n === 'description') {
        vm.description = v;
      }
    }
  });
}

// ---- showvminfo ------------------------------------------------------------------------------------

const needsEscape = (s: string) => s === '' || s.includes('"') || s.includes('\\');
const esc = (s: string) => s.replace(/[\\"]/g, (c) => `\\${c}`);
/** VirtualBox's outputMachineReadableString: quote the value, escape `"` and `\`; quote names with `=`/`-`. */
function mr(name: string, value: string | number, quoteName = false): string {
  if (typeof value === 'number') return `${name}=${value}`;
  const n = quoteName || name.includes('=') ? `"${needsEscape(name) ? esc(name) : name}"` : name;
  return `${n}="${needsEscape(value) ? esc(value) : value}"`;
}

const STATE_TIME = (iso: string) => iso.replace('Z', '000000');

function machineReadable(st: SimState, vm: Vm): string {
  const s = vm.settings;
  const L: string[] = [];
  L.push(
    mr('name', vm.name),
    mr('encryption', 'disabled'),
    mr('groups', '/'),
    mr('platformArchitecture', 'x86'),
  );
  L.push(mr('ostype', OS_TYPES[vm.ostype] ?? vm.ostype), mr('UUID', vm.uuid), mr('CfgFile', vm.cfgFile));
  L.push(
    mr('SnapFldr', join(dirname(vm.cfgFile), 'Snapshots')),
    mr('LogFldr', join(dirname(vm.cfgFile), 'Logs')),
  );
  L.push(
    mr('hardwareuuid', vm.uuid),
    `memory=${s.memory}`,
    mr('pagefusion', String(s.pagefusion ?? 'off')),
    `vram=${s.vram}`,
  );
  L.push(
    'cpuexecutioncap=100',
    mr('chipset', 'piix3'),
    mr('firmware', String(s.firmware).toUpperCase()),
    `cpus=${s.cpus}`,
  );
  for (const k of ['hpet', 'pae', 'longmode', 'triplefaultreset', 'apic', 'x2apic', 'nestedhwvirt'])
    L.push(mr(k === 'nestedhwvirt' ? 'nested-hw-virt' : k, String(s[k] ?? (k === 'apic' ? 'on' : 'off'))));
  for (const k of ['hwvirtex', 'nestedpaging', 'largepages', 'vtxvpid', 'vtxux']) L.push(mr(k, String(s[k])));
  L.push('cpuid-portability-level=0', mr('bootmenu', String(s.biosbootmenu)));
  for (const k of ['boot1', 'boot2', 'boot3', 'boot4']) L.push(mr(k, String(s[k])));
  L.push(
    mr('acpi', String(s.acpi)),
    mr('ioapic', String(s.ioapic)),
    mr('biosapic', 'apic'),
    'biossystemtimeoffset=0',
  );
  L.push(
    mr('rtcuseutc', String(s.rtcuseutc)),
    mr('paravirtprovider', String(s.paravirtprovider)),
    mr('effparavirtprovider', 'kvm'),
  );
  L.push(`VMState="${vm.state}"`, `VMStateChangeTime="${STATE_TIME(vm.stateChange)}"`);
  L.push(
    mr('graphicscontroller', String(s.graphicscontroller)),
    'monitorcount=1',
    mr('accelerate3d', String(s.accelerate3d)),
  );
  L.push(
    mr('teleporterenabled', 'off'),
    'teleporterport=0',
    mr('teleporteraddress', ''),
    mr('teleporterpassword', ''),
  );
  L.push(mr('description', vm.description));
  vm.ctls.forEach((c, i) => {
    L.push(mr(`storagecontrollername${i}`, c.name), mr(`storagecontrollertype${i}`, c.type));
    L.push(
      `storagecontrollerinstance${i}="0"`,
      `storagecontrollermaxportcount${i}="${c.bus === 'sata' ? 30 : 2}"`,
    );
    L.push(
      `storagecontrollerportcount${i}="${c.portCount}"`,
      `storagecontrollerbootable${i}="${c.bootable ? 'on' : 'off'}"`,
    );
  });
  for (const c of vm.ctls) {
    const devices = c.bus === 'ide' ? 2 : 1;
    for (let p = 0; p < c.portCount; p++) {
      for (let d = 0; d < devices; d++) {
        const at = vm.attachments.find((x) => x.ctl === c.name && x.port === p && x.device === d);
        const m = at && st.media.find((x) => x.uuid === at.medium);
        if (!at || !m) {
          L.push(mr(`${c.name}-${p}-${d}`, 'none', true));
          continue;
        }
        L.push(
          mr(`${c.name}-${p}-${d}`, m.location, true),
          mr(`${c.name}-ImageUUID-${p}-${d}`, m.uuid, true),
        );
        if (at.type === 'dvddrive')
          L.push(
            mr(`${c.name}-tempeject-${p}-${d}`, 'off', true),
            mr(`${c.name}-IsEjected-${p}-${d}`, 'off', true),
          );
        if (c.bus === 'sata') L.push(mr(`${c.name}-hot-pluggable-${p}-${d}`, 'off', true));
        L.push(
          mr(`${c.name}-nonrotational-${p}-${d}`, 'off', true),
          mr(`${c.name}-discard-${p}-${d}`, 'off', true),
        );
      }
    }
  }
  vm.nics.forEach((nic, i) => {
    const n = i + 1;
    if (nic.attachment === 'none') {
      L.push(`nic${n}="none"`);
      return;
    }
    if (nic.attachment === 'nat') L.push(`natnet${n}="nat"`);
    if (nic.attachment === 'hostonly') L.push(`hostonlyadapter${n}="${nic.hostOnlyAdapter}"`);
    if (nic.attachment === 'hostonlynet') L.push(`hostonly-network${n}="${nic.hostOnlyNetwork ?? ''}"`);
    L.push(
      `macaddress${n}="${nic.mac}"`,
      `cableconnected${n}="${nic.cable ? 'on' : 'off'}"`,
      `nic${n}="${nic.attachment === 'hostonlynet' ? 'hostonlynetwork' : nic.attachment}"`,
    );
    L.push(`nictype${n}="${nic.type}"`, `nicspeed${n}="0"`);
    if (nic.attachment === 'nat') {
      L.push('mtu="0"', 'sockSnd="64"', 'sockRcv="64"', 'tcpWndSnd="64"', 'tcpWndRcv="64"');
      nic.natpf.forEach((r, j) =>
        L.push(
          `Forwarding(${j})="${r.name},${r.proto},${r.hostIp},${r.hostPort},${r.guestIp},${r.guestPort}"`,
        ),
      );
    }
  });
  L.push(mr('hidpointing', 'ps2mouse'), mr('hidkeyboard', 'ps2kbd'));
  vm.uarts.forEach((u, i) => {
    if (!u) {
      L.push(`uart${i + 1}="off"`);
      return;
    }
    L.push(`uart${i + 1}="${u.io},${u.irq}"`);
    L.push(
      u.mode === 'disconnected'
        ? `uartmode${i + 1}="disconnected"`
        : `uartmode${i + 1}="${u.mode},${u.path}"`,
    );
    L.push(`uarttype${i + 1}="16550A"`);
  });
  L.push(
    'lpt1="off"',
    'lpt2="off"',
    mr('audio', 'none'),
    mr('clipboard', 'disabled'),
    mr('draganddrop', 'disabled'),
  );
  if (vm.session) L.push(mr('SessionName', vm.session.type));
  vm.sharedFolders.forEach((f, i) =>
    L.push(
      mr(`SharedFolderNameMachineMapping${i + 1}`, f.name),
      mr(`SharedFolderPathMachineMapping${i + 1}`, f.hostPath),
    ),
  );
  return `${L.join('\n')}\n`;
}

function human(st: SimState, vm: Vm): string {
  const s = vm.settings;
  const rows: Array<[string, string]> = [
    ['Name:', vm.name],
    ['Guest OS:', OS_TYPES[vm.ostype] ?? vm.ostype],
    ['UUID:', vm.uuid],
    ['Config file:', vm.cfgFile],
    ['Memory size:', `${s.memory}MB`],
    ['Number of CPUs:', String(s.cpus)],
    ['State:', `${vm.state === 'poweroff' ? 'powered off' : vm.state} (since ${STATE_TIME(vm.stateChange)})`],
  ];
  const lines = rows.map(([k, v]) => `${k.padEnd(28)} ${v}`);
  vm.nics.forEach((n, i) => {
    if (n.attachment === 'none') return;
    lines.push(
      `${`NIC ${i + 1}:`.padEnd(28)} MAC: ${n.mac}, Attachment: ${n.attachment === 'hostonly' ? `Host-only Interface '${n.hostOnlyAdapter}'` : n.attachment === 'hostonlynet' ? `Host Only Network '${n.hostOnlyNetwork ?? ''}'` : n.attachment.toUpperCase()}, Cable connected: ${n.cable ? 'on' : 'off'}, Type: ${n.type}`,
    );
  });
  for (const at of vm.attachments) {
    const m = st.media.find((x) => x.uuid === at.medium);
    lines.push(`${at.ctl} (${at.port}, ${at.device}): ${m?.location ?? '?'} (UUID: ${at.medium})`);
  }
  return `${lines.join('\n')}\n`;
}

export function showvminfo(home: string, argv: string[], io: Io): void {
  const a = parseArgs(argv, table({ machinereadable: 0, details: 0, log: 1, password: 1 }));
  if (a.positional.length !== 1) throw new VBoxSyntaxError('Incorrect number of parameters');
  const out = withState(home, (st) => {
    const vm = findVm(st, a.positional[0], 'VBoxManageInfo.cpp', 2621);
    reapAborted(vm);
    return a.opts.some(([n]) => n === 'machinereadable') ? machineReadable(st, vm) : human(st, vm);
  });
  io.out(out);
}

// ---- unregistervm ---------------------------------------------------------------------------------

/**
 * Unregister, as VBoxManage does: every medium is detached; hard disks no other VM uses are closed (and
 * with `--delete`, deleted with the settings, logs and the lab VM that backs the VM); DVD images stay
 * registered (CleanupMode_DetachAllReturnHardDisksOnly), except with `--delete-all` (VirtualBox 7)
 * those in the VM's folder that no other VM uses, which are closed and deleted too.
 */
export async function unregistervm(
  home: string,
  argv: string[],
  io: Io,
  removeGuest: (vm: Vm) => Promise<void>,
): Promise<void> {
  const a = parseArgs(argv, table({ delete: 0, deleteall: 0 }));
  if (a.positional.length !== 1) throw new VBoxSyntaxError('VM name required');
  const deleteAll = a.opts.some(([n]) => canonical(n) === 'deleteall');
  const del = deleteAll || a.opts.some(([n]) => n === 'delete');
  const vm = withState(home, (st) => {
    const v = findVm(st, a.positional[0], 'VBoxManageMisc.cpp', 198);
    reapAborted(v);
    if (isLocked(v)) {
      throw new VBoxError(
        `Cannot unregister the machine '${v.name}' while it is locked`,
        'VBOX_E_INVALID_OBJECT_STATE',
        'MachineWrap',
        'IMachine',
        `"Unregister(fDeleteAll ? CleanupMode_DetachAllReturnHardDisksAndVMRemovable :CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))" at line 236 of file VBoxManageMisc.cpp`,
      );
    }
    st.vms = st.vms.filter((x) => x !== v);
    const macs = new Set(v.nics.map((n) => n.mac));
    for (const d of [...st.dhcpServers, ...st.hostOnlyNets])
      for (const m of Object.keys(d.leases)) if (macs.has(m)) delete d.leases[m];
    const vmDir = dirname(v.cfgFile);
    for (const at of v.attachments) {
      const m = st.media.find((x) => x.uuid === at.medium);
      if (!m || attachedTo(st, m).length > 0) continue;
      const close = at.type === 'hdd' || (deleteAll && m.location.startsWith(`${vmDir}/`));
      if (!close) continue;
      st.media = st.media.filter((x) => x !== m);
      if (del) rmSync(m.location, { force: true });
    }
    return v;
  });
  if (!del) return;
  await removeGuest(vm);
  const dir = dirname(vm.cfgFile);
  rmSync(vm.cfgFile, { force: true });
  rmSync(`${vm.cfgFile}-prev`, { force: true });
  const logs = join(dir, 'Logs');
  for (const f of existsSync(logs) ? readdirSync(logs) : []) {
    if (/^VBox(Hardening)?\.log(\.\d+)?$/.test(f)) rmSync(join(logs, f), { force: true });
  }
  for (const d of [logs, dir]) {
    try {
      rmdirSync(d);
    } catch {
      /* not empty: VirtualBox leaves files it did not make */
    }
  }
  io.err('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
}

// ---- storage -------------------------------------------------------------------------------------

const STORAGE_CTX = (what: string) => `"${what}" at line 1087 of file VBoxManageStorageController.cpp`;

export function storagectl(home: string, argv: string[]): void {
  const a = parseArgs(
    argv,
    table({
      name: 1,
      add: 1,
      controller: 1,
      portcount: 1,
      hostiocache: 1,
      bootable: 1,
      remove: 0,
      rename: 1,
    }),
  );
  const opt = (n: string) => a.opts.find(([k]) => k === n)?.[1][0];
  const name = opt('name');
  if (a.positional.length !== 1 || !name) throw new VBoxSyntaxError('Storage controller name not specified');
  withState(home, (st) => {
    const vm = findVm(st, a.positional[0], 'VBoxManageStorageController.cpp', 1065);
    reapAborted(vm);
    if (isLocked(vm))
      throw locked(
        vm.name,
        '"LockMachine(a->session, LockType_Write)" at line 1072 of file VBoxManageStorageController.cpp',
      );
    const have = vm.ctls.find((c) => c.name === name);
    if (a.opts.some(([k]) => k === 'remove')) {
      if (!have)
        throw new VBoxError(
          `Could not find a storage controller named '${name}'`,
          'VBOX_E_OBJECT_NOT_FOUND',
          'SessionMachine',
          'IMachine',
          STORAGE_CTX('RemoveStorageController(Bstr(pszCtl).raw())'),
        );
      vm.ctls = vm.ctls.filter((c) => c !== have);
      vm.attachments = vm.attachments.filter((x) => x.ctl !== name);
      return;
    }
    const bus = opt('add');
    let c = have;
    if (bus) {
      if (have) {
        throw new VBoxError(
          `Storage controller named '${name}' already exists`,
          'VBOX_E_OBJECT_IN_USE',
          'SessionMachine',
          'IMachine',
          STORAGE_CTX('AddStorageController(Bstr(pszCtl).raw(), StorageBus_SATA, ctl.asOutParam())'),
        );
      }
      if (!['ide', 'sata', 'scsi', 'floppy', 'sas', 'usb', 'pcie', 'virtio'].includes(bus))
        throw new VBoxSyntaxError(`Invalid --add argument '${bus}'`);
      c = {
        name,
        bus,
        type: bus === 'sata' ? 'IntelAhci' : bus === 'ide' ? 'PIIX4' : 'LsiLogic',
        portCount: bus === 'sata' ? 30 : 2,
        bootable: true,
        hostIoCache: bus !== 'sata',
      };
      vm.ctls.push(c);
    }
    if (!c)
      throw new VBoxError(
        `Couldn't find the controller with the name: '${name}'`,
        'VBOX_E_OBJECT_NOT_FOUND',
        'SessionMachine',
        'IMachine',
      );
    const ctype = opt('controller');
    if (ctype) {
      const ok = [
        'LSILogic',
        'LSILogicSAS',
        'BusLogic',
        'IntelAHCI',
        'PIIX3',
        'PIIX4',
        'ICH6',
        'I82078',
        'USB',
        'NVMe',
        'VirtIO',
      ].find((x) => x.toLowerCase() === ctype.toLowerCase());
      if (!ok) throw new VBoxError(`Invalid --type argument '${ctype}'`, 'E_INVALIDARG');
      c.type = ok === 'IntelAHCI' ? 'IntelAhci' : ok;
    }
    const pc = opt('portcount');
    if (pc !== undefined) {
      const n = int('portcount', pc);
      if (n < 1 || n > 30)
        throw new VBoxError(
          `Invalid port count ${n}`,
          'E_INVALIDARG',
          'StorageControllerWrap',
          'IStorageController',
        );
      c.portCount = n;
    }
    const hic = opt('hostiocache');
    if (hic !== undefined) c.hostIoCache = onOff('hostiocache', hic);
    const boot = opt('bootable');
    if (boot !== undefined) c.bootable = onOff('bootable', boot);
  });
}

export function storageattach(home: string, argv: string[]): void {
  const a = parseArgs(
    argv,
    table({
      storagectl: 1,
      port: 1,
      device: 1,
      type: 1,
      medium: 1,
      mtype: 1,
      comment: 1,
      nonrotational: 1,
      discard: 1,
      hotpluggable: 1,
      setuuid: 1,
      forceunmount: 0,
    }),
  );
  const opt = (n: string) => a.opts.find(([k]) => k === n)?.[1][0];
  const ctlName = opt('storagectl');
  if (a.positional.length !== 1 || !ctlName)
    throw new VBoxSyntaxError('Storage controller name not specified');
  const port = Number(opt('port') ?? 0);
  const device = Number(opt('device') ?? 0);
  const type = opt('type') as 'hdd' | 'dvddrive' | 'fdd' | undefined;
  const medium = opt('medium');
  if (type && !['hdd', 'dvddrive', 'fdd'].includes(type))
    throw new VBoxSyntaxError(`Invalid --type argument '${type}'`);
  withState(home, (st) => {
    const vm = findVm(st, a.positional[0], 'VBoxManageStorageController.cpp', 254);
    reapAborted(vm);
    if (isLocked(vm))
      throw locked(
        vm.name,
        '"LockMachine(a->session, LockType_Write)" at line 268 of file VBoxManageStorageController.cpp',
      );
    const c = vm.ctls.find((x) => x.name === ctlName);
    if (!c) {
      throw new VBoxError(
        `Could not find a controller named '${ctlName}'`,
        'VBOX_E_OBJECT_NOT_FOUND',
        'SessionMachine',
        'IMachine',
        STORAGE_CTX('GetStorageControllerByName(Bstr(pszCtl).raw(), storageCtl.asOutParam())'),
      );
    }
    const devices = c.bus === 'ide' ? 2 : 1;
    if (port < 0 || port >= c.portCount || device < 0 || device >= devices) {
      throw new VBoxError(
        `The port and/or device parameter are out of range: port=${port} (must be in range [0, ${c.portCount - 1}]), device=${device} (must be in range [0, ${devices - 1}])`,
      );
    }
    const slot = (x: { ctl: string; port: number; device: number }) =>
      x.ctl === ctlName && x.port === port && x.device === device;
    if (!medium || medium === 'none') {
      vm.attachments = vm.attachments.filter((x) => !slot(x));
      return;
    }
    if (!type) throw new VBoxSyntaxError('Argument --type must be specified');
    const m = openMedium(st, medium, type === 'dvddrive' ? 'dvd' : 'hdd');
    const here = vm.attachments.find((x) => x.medium === m.uuid && !slot(x));
    if (here) {
      throw new VBoxError(
        `Medium '${m.location}' is already attached to port ${here.port}, device ${here.device} of controller '${here.ctl}' of this virtual machine`,
        'VBOX_E_OBJECT_IN_USE',
        'SessionMachine',
        'IMachine',
        STORAGE_CTX('AttachDevice(Bstr(pszCtl).raw(), port, device, DeviceType_HardDisk, pMedium2Mount)'),
      );
    }
    const elsewhere = m.kind === 'hdd' ? attachedTo(st, m).find((v) => v !== vm) : undefined;
    if (elsewhere) {
      throw new VBoxError(
        `Medium '${m.location}' is attached to the virtual machine '${elsewhere.name}' already; a normal hard disk can be attached to one machine only`,
        'VBOX_E_OBJECT_IN_USE',
        'SessionMachine',
        'IMachine',
        STORAGE_CTX('AttachDevice(Bstr(pszCtl).raw(), port, device, DeviceType_HardDisk, pMedium2Mount)'),
      );
    }
    vm.attachments = vm.attachments.filter((x) => !slot(x));
    vm.attachments.push({ ctl: ctlName, port, device, type, medium: m.uuid });
  });
}

export function sharedfolder(home: string, argv: string[]): void {
  const [sub, ...rest] = argv;
  const a = parseArgs(
    rest,
    table({ name: 1, hostpath: 1, readonly: 0, automount: 0, automountpoint: 1, transient: 0 }),
  );
  const opt = (n: string) => a.opts.find(([k]) => canonical(k) === n)?.[1][0];
  const name = opt('name');
  if (a.positional.length !== 1 || !name) throw new VBoxSyntaxError('Not enough parameters');
  withState(home, (st) => {
    const vm = findVm(st, a.positional[0], 'VBoxManageMisc.cpp', 1120);
    reapAborted(vm);
    if (isLocked(vm) && !a.opts.some(([k]) => k === 'transient'))
      throw locked(
        vm.name,
        '"LockMachine(a->session, LockType_Write)" at line 1136 of file VBoxManageMisc.cpp',
      );
    if (sub === 'add') {
      const hostPath = opt('hostpath');
      if (!hostPath) throw new VBoxSyntaxError('Parameter --hostpath is required');
      if (!isAbsolute(hostPath))
        throw new VBoxError(
          `Shared folder path '${hostPath}' is not absolute`,
          'E_INVALIDARG',
          'SessionMachine',
          'IMachine',
        );
      if (vm.sharedFolders.some((f) => f.name === name)) {
        throw new VBoxError(
          `Shared folder named '${name}' already exists`,
          'VBOX_E_OBJECT_IN_USE',
          'SessionMachine',
          'IMachine',
        );
      }
      vm.sharedFolders.push({
        name,
        hostPath,
        automount: a.opts.some(([k]) => k === 'automount'),
        readonly: a.opts.some(([k]) => k === 'readonly'),
      });
    } else if (sub === 'remove') {
      if (!vm.sharedFolders.some((f) => f.name === name))
        throw new VBoxError(
          `Could not find a shared folder named '${name}'.`,
          'VBOX_E_OBJECT_NOT_FOUND',
          'SessionMachine',
          'IMachine',
        );
      vm.sharedFolders = vm.sharedFolders.filter((f) => f.name !== name);
    } else throw new VBoxSyntaxError(`Invalid parameter '${sub ?? ''}'`);
  });
}

// ---- extra data, guest properties, lists -----------------------------------------------------------

export function setextradata(home: string, argv: string[]): void {
  if (argv.length < 2 || argv.length > 3) throw new VBoxSyntaxError('Incorrect number of parameters');
  const [target, key, value] = argv;
  withState(home, (st) => {
    const bag =
      target === 'global'
        ? ((st as SimState & { global?: Record<string, string> }).global ??= {})
        : findVm(st, target, 'VBoxManageMisc.cpp', 799).extra;
    if (value === undefined || value === '') delete bag[key];
    else bag[key] = value;
  });
}

export function getextradata(home: string, argv: string[], io: Io): void {
  if (argv.length !== 2) throw new VBoxSyntaxError('Incorrect number of parameters');
  const [target, key] = argv;
  const bag = withState(home, (st) =>
    target === 'global'
      ? ((st as SimState & { global?: Record<string, string> }).global ?? {})
      : { ...findVm(st, target, 'VBoxManageMisc.cpp', 756).extra },
  );
  if (key === 'enumerate') {
    io.out(
      Object.entries(bag)
        .map(([k, v]) => `Key: ${k}, Value: ${v}\n`)
        .join(''),
    );
  } else io.out(bag[key] !== undefined ? `Value: ${bag[key]}\n` : 'No value set!\n');
}

export function guestproperty(home: string, argv: string[], io: Io): void {
  const [sub, target, key, value] = argv;
  withState(home, (st) => {
    const vm = findVm(st, target ?? '', 'VBoxManageGuestProp.cpp', 98);
    if (sub === 'set') {
      if (!key) throw new VBoxSyntaxError('Incorrect parameters');
      if (value === undefined) delete vm.guestProps[key];
      else vm.guestProps[key] = value;
    } else if (sub === 'get') {
      io.out(
        vm.guestProps[key ?? ''] !== undefined ? `Value: ${vm.guestProps[key ?? '']}\n` : 'No value set!\n',
      );
    } else if (sub === 'enumerate') {
      io.out(
        Object.entries(vm.guestProps)
          .map(([k, v]) => `${k.padEnd(40)} = '${v}'\n`)
          .join(''),
      );
    } else throw new VBoxSyntaxError(`Invalid sub-command '${sub ?? ''}'`);
  });
}

export function listVms(st: SimState, running: boolean, io: Io): void {
  for (const vm of st.vms) reapAborted(vm);
  io.out(
    st.vms
      .filter((v) => !running || v.state === 'running' || v.state === 'paused')
      .map((v) => `"${v.name}" {${v.uuid}}\n`)
      .join(''),
  );
}
