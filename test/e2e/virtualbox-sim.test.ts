/**
 * The VBoxManage simulator itself: it must refuse what VBoxManage refuses, with VBoxManage's words and
 * exit codes, or the virtualbox driver's tests would prove nothing. One VM is really started (a lab VM
 * behind it) to check sessions, locks and the NAT port forward.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildIso9660 } from '../../drivers/virtualbox/iso9660.js';
import { labUp } from '../lab/lab.js';
import { labVmName } from '../vbox-sim/state.js';
import {
  buildSimulator,
  makeSimHome,
  cleanupSim,
  listening,
  removeStaleSimHomes,
  simGuests,
  simLinks,
  simState,
  vbox,
} from '../vbox-sim/index.js';
import { eventually, tempDir } from './helpers.js';

let work: string;
let sim: string;
const V = (...args: string[]) => vbox(sim, args);
const errLines = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('VBoxManage: error:'));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** SSH banner through the forward: the guest's sshd answering on 127.0.0.1:port. */
async function banner(port: number): Promise<string> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1_000, () => (s.destroy(), resolve('')));
    s.once('data', (d) => (s.destroy(), resolve(d.toString())));
    s.once('error', () => resolve(''));
    s.once('close', () => resolve(''));
    s.connect(port, '127.0.0.1');
  });
}

beforeAll(async () => {
  await labUp();
  await buildSimulator();
  work = await tempDir('swarmup-vboxsim-');
  sim = await makeSimHome(join(work, 'vbox'));
});

afterAll(async () => {
  await cleanupSim(sim);
  await rm(work, { recursive: true, force: true });
});

describe('the VBoxManage simulator answers and refuses like VBoxManage', () => {
  it('an unknown VM: the three error lines and exit code 1', async () => {
    const r = await V('showvminfo', 'nope', '--machinereadable');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errLines(r.stderr)).toEqual([
      "VBoxManage: error: Could not find a registered machine named 'nope'",
      'VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports',
      'VBoxManage: error: Context: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())" at line 2621 of file VBoxManageInfo.cpp',
    ]);
  });

  it('usage errors exit 2', async () => {
    const r = await V('modifyvm', 'x', '--no-such-option', 'on');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('VBoxManage: error: Unknown option: --no-such-option');
  });

  it('createvm: output, the settings file, and a settings file that exists already', async () => {
    const base = join(work, 'vms');
    const r = await V('createvm', '--name', 'a', '--basefolder', base, '--register');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Virtual machine 'a' is created and registered\\.\\nUUID: [0-9a-f-]{36}\\nSettings file: '${join(base, 'a', 'a.vbox')}'\\n$`,
      ),
    );
    const again = await V('createvm', '--name', 'a', '--basefolder', base, '--register');
    expect(again.code).toBe(1);
    expect(errLines(again.stderr)[0]).toBe(
      `VBoxManage: error: Machine settings file '${join(base, 'a', 'a.vbox')}' already exists`,
    );
    expect(again.stderr).toContain('code VBOX_E_FILE_ERROR (0x80bb0004)');
    // Like VirtualBox, the same name in another folder is allowed (commands by name then hit the first).
    expect((await V('createvm', '--name', 'a', '--basefolder', join(work, 'other'), '--register')).code).toBe(
      0,
    );
    expect((await V('list', 'vms')).stdout.match(/^"a" \{/gm)).toHaveLength(2);
    const second = simState(sim).vms[1].uuid;
    expect((await V('unregistervm', second, '--delete')).code).toBe(0);
  });

  it('storage: a missing controller, a duplicate controller, a medium attached twice, a non-ISO DVD', async () => {
    const miss = await V(
      'storageattach',
      'a',
      '--storagectl',
      'SATA',
      '--port',
      '0',
      '--device',
      '0',
      '--type',
      'hdd',
      '--medium',
      'none',
    );
    expect(errLines(miss.stderr)[0]).toBe("VBoxManage: error: Could not find a controller named 'SATA'");
    expect(miss.code).toBe(1);
    expect((await V('storagectl', 'a', '--name', 'SATA', '--add', 'sata', '--portcount', '2')).code).toBe(0);
    const dup = await V('storagectl', 'a', '--name', 'SATA', '--add', 'sata');
    expect(errLines(dup.stderr)[0]).toBe("VBoxManage: error: Storage controller named 'SATA' already exists");
    const vmdk = Buffer.alloc(4096);
    vmdk.write('KDMV', 0, 'latin1');
    vmdk.writeBigUInt64LE(2097152n, 12);
    await writeFile(join(work, 'src.vmdk'), vmdk);
    const disk = join(work, 'a.vdi');
    const clone = await V('clonemedium', 'disk', join(work, 'src.vmdk'), disk, '--format', 'VDI');
    expect(clone.stdout).toMatch(/^Clone medium created in format 'VDI'\. UUID: [0-9a-f-]{36}$/m);
    const attach = (port: string, type: string, medium: string) =>
      V(
        'storageattach',
        'a',
        '--storagectl',
        'SATA',
        '--port',
        port,
        '--device',
        '0',
        '--type',
        type,
        '--medium',
        medium,
      );
    expect((await attach('0', 'hdd', disk)).code).toBe(0);
    const twice = await attach('1', 'hdd', disk);
    expect(errLines(twice.stderr)[0]).toBe(
      `VBoxManage: error: Medium '${disk}' is already attached to port 0, device 0 of controller 'SATA' of this virtual machine`,
    );
    const notIso = await attach('1', 'dvddrive', join(work, 'src.vmdk'));
    expect(errLines(notIso.stderr)[0]).toBe(
      `VBoxManage: error: Could not get the storage format of the medium '${join(work, 'src.vmdk')}' (VERR_NOT_SUPPORTED)`,
    );
    const gone = await attach('1', 'dvddrive', join(work, 'missing.iso'));
    expect(errLines(gone.stderr)[0]).toBe(
      `VBoxManage: error: Could not find file for the medium '${join(work, 'missing.iso')}' (VERR_FILE_NOT_FOUND)`,
    );
    const closing = await V('closemedium', 'disk', disk);
    expect(errLines(closing.stderr)[0]).toBe(
      `VBoxManage: error: Medium '${disk}' cannot be closed because it is still attached to 1 virtual machines`,
    );
    const shrink = await V('modifymedium', 'disk', disk, '--resize', '100');
    expect(errLines(shrink.stderr)[0]).toBe(
      `VBoxManage: error: Shrinking is not yet supported for medium '${disk}'`,
    );
    expect((await V('modifymedium', 'disk', disk, '--resize', '4096')).code).toBe(0);
    expect((await V('list', 'hdds')).stdout).toMatch(/Capacity: +4096 MBytes/);
  });

  it('NAT rules: duplicates are refused', async () => {
    expect((await V('modifyvm', 'a', '--natpf1', 'ssh,tcp,127.0.0.1,2222,,22')).code).toBe(0);
    const dup = await V('modifyvm', 'a', '--natpf1', 'ssh,tcp,127.0.0.1,2223,,22');
    expect(errLines(dup.stderr)[0]).toBe('VBoxManage: error: A NAT rule of this name already exists');
    const port = await V('modifyvm', 'a', '--natpf1', 'web,tcp,127.0.0.1,2222,,80');
    expect(errLines(port.stderr)[0]).toBe(
      'VBoxManage: error: A NAT rule for this host port and this host IP already exists',
    );
    expect((await V('modifyvm', 'a', '--natpf1', 'delete', 'ssh')).code).toBe(0);
  });

  it('host-only interfaces: creation output, networks.conf, a start without the interface', async () => {
    const made = await V('hostonlyif', 'create');
    expect(made.stdout).toBe("Interface 'vboxnet0' was successfully created\n");
    expect((await V('list', 'hostonlyifs')).stdout).toMatch(
      /^Name: +vboxnet0\nGUID: .*\nDHCP: +Disabled\nIPAddress: +192\.168\.56\.1\nNetworkMask: +255\.255\.255\.0\n/,
    );
    const denied = await V(
      'hostonlyif',
      'ipconfig',
      'vboxnet0',
      '--ip',
      '10.66.0.1',
      '--netmask',
      '255.255.255.0',
    );
    expect(errLines(denied.stderr)[0]).toBe(
      'VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)',
    );
    expect(
      (await V('hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.57.1', '--netmask', '255.255.255.0'))
        .code,
    ).toBe(0);
    expect(await simLinks(sim)).toHaveLength(1);
    const faulty = await vbox(sim, ['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.56.1'], {
      VBOXSIM_FAIL: 'hostonlyif ipconfig',
    });
    expect(faulty.code).toBe(1);
    expect(errLines(faulty.stderr)[0]).toBe(
      'VBoxManage: error: hostonlyif ipconfig failed (injected by VBOXSIM_FAIL)',
    );
    expect(simState(sim).hostOnlyIfs[0].ip).toBe('192.168.57.1');
    expect((await V('modifyvm', 'a', '--nic2', 'hostonly', '--hostonlyadapter2', 'vboxnet9')).code).toBe(0);
    const start = await V('startvm', 'a', '--type', 'headless');
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(
      "Nonexistent host networking interface, name 'vboxnet9' (VERR_INTERNAL_ERROR)",
    );
    expect(simState(sim).vms[0].state).toBe('poweroff');
  });

  it('a running VM: real port forward, locked settings, no delete, ACPI, power-off, crash', async () => {
    const port = await freePort();
    expect(
      (
        await V(
          'modifyvm',
          'a',
          '--hostonlyadapter2',
          'vboxnet0',
          '--natpf1',
          `ssh,tcp,127.0.0.1,${port},,22`,
        )
      ).code,
    ).toBe(0);
    const start = await V('startvm', 'a', '--type', 'headless');
    expect(start.stdout).toBe('Waiting for VM "a" to power on...\nVM "a" has been successfully started.\n');
    await eventually(async () => (await banner(port)).startsWith('SSH-2.0-OpenSSH'), 30_000);
    const locked = await V('modifyvm', 'a', '--memory', '2048');
    expect(errLines(locked.stderr)[0]).toBe(
      "VBoxManage: error: The machine 'a' is already locked by a session (or being locked or unlocked)",
    );
    expect((await V('startvm', 'a')).stderr).toContain('is already locked by a session');
    const del = await V('unregistervm', 'a', '--delete');
    expect(errLines(del.stderr)[0]).toBe(
      "VBoxManage: error: Cannot unregister the machine 'a' while it is locked",
    );
    expect((await V('showvminfo', 'a', '--machinereadable')).stdout).toMatch(/^VMState="running"$/m);
    // A guest that ignores the power button keeps running.
    expect((await vbox(sim, ['controlvm', 'a', 'acpipowerbutton'], { VBOXSIM_ACPI: 'ignore' })).code).toBe(0);
    expect((await V('showvminfo', 'a', '--machinereadable')).stdout).toMatch(/^VMState="running"$/m);
    const off = await V('controlvm', 'a', 'poweroff');
    expect(off.code, off.stderr).toBe(0);
    expect((await V('showvminfo', 'a', '--machinereadable')).stdout).toMatch(/^VMState="poweroff"$/m);
    expect(await listening(port)).toBe(false);
    expect(errLines((await V('controlvm', 'a', 'poweroff')).stderr)[0]).toBe(
      "VBoxManage: error: Machine 'a' is not currently running",
    );
    // The session is released a moment after a power-off, as in VirtualBox.
    await eventually(async () => (await V('modifyvm', 'a', '--memory', '2048')).code === 0, 5_000);
    // A VM process that dies (VBoxHeadless crashing) leaves the VM aborted.
    expect((await V('startvm', 'a', '--type', 'headless')).code).toBe(0);
    const pid = simState(sim).vms[0].session!.pid;
    process.kill(-pid, 'SIGKILL');
    await eventually(
      async () => /^VMState="aborted"$/m.test((await V('showvminfo', 'a', '--machinereadable')).stdout),
      30_000,
    );
  });
});

describe('host-only networks (hostonlynet, VirtualBox 7 on macOS)', () => {
  const D = (...args: string[]) => vbox(sim, args, { VBOXSIM_HOST_OS: 'darwin' });
  const notFound =
    'VBoxManage: error: Code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001) - Object corresponding to the supplied arguments does not exist (extended info not available)';

  it('exist on macOS only; add, modify, remove and list keep real state; refusals as VBoxManage words them', async () => {
    const linux = await V('hostonlynet', 'add', '--name', 'x');
    expect(linux.code).toBe(2);
    expect(errLines(linux.stderr)[0]).toBe("VBoxManage: error: Invalid command 'hostonlynet'");
    expect((await V('modifyvm', 'a', '--nic3', 'hostonlynet')).code).toBe(2);
    expect((await V('modifyvm', 'a', '--host-only-net3', 'x')).code).toBe(2);

    const add = [
      'hostonlynet',
      'add',
      '--name',
      'n1',
      '--netmask',
      '255.255.255.0',
      '--lower-ip',
      '192.168.60.1',
    ];
    const partial = await D(...add);
    expect(partial.code).toBe(2);
    expect(errLines(partial.stderr)).toEqual([
      'VBoxManage: error: The --upper-ip parameter must be specified',
    ]);
    expect((await D('list', 'hostonlynets')).stdout).toBe('');
    expect((await D(...add, '--upper-ip', '192.168.60.200', '--enable')).code).toBe(0);
    expect((await D('list', 'hostonlynets')).stdout).toMatch(
      /^Name: +n1\nGUID: +[0-9a-f-]{36}\n\nState: +Enabled\nNetworkMask: +255\.255\.255\.0\nLowerIP: +192\.168\.60\.1\nUpperIP: +192\.168\.60\.200\nVBoxNetworkName: +hostonly-n1\n\n$/,
    );
    expect(
      (await D('hostonlynet', 'modify', '--name', 'n1', '--disable', '--upperip', '192.168.60.100')).code,
    ).toBe(0);
    expect((await D('list', 'hostonlynets')).stdout).toMatch(
      /State: +Disabled\n.*\n.*\nUpperIP: +192\.168\.60\.100\n/,
    );
    const missing = await D('hostonlynet', 'modify', '--name', 'nope', '--enable');
    expect(missing.code).toBe(1);
    expect(errLines(missing.stderr)[0]).toBe(notFound);
    expect(errLines((await D('hostonlynet', 'modify', '--enable')).stderr)).toEqual([
      'VBoxManage: error: Either --name or --id parameter must be specified',
    ]);

    // A NIC on a host-only network: shown as VBoxManage 7 shows it; a start needs the network to exist.
    expect((await D('modifyvm', 'a', '--nic2', 'hostonlynet', '--host-only-net2', 'ghost')).code).toBe(0);
    const info = (await D('showvminfo', 'a', '--machinereadable')).stdout;
    expect(info).toMatch(
      /^hostonly-network2="ghost"\nmacaddress2="\w{12}"\ncableconnected2="on"\nnic2="hostonlynetwork"$/m,
    );
    const start = await D('startvm', 'a', '--type', 'headless');
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("Could not find host-only network 'ghost'");

    expect((await D('hostonlynet', 'remove', '--name', 'n1')).code).toBe(0);
    expect((await D('list', 'hostonlynets')).stdout).toBe('');
    expect(errLines((await D('hostonlynet', 'remove', '--name', 'n1')).stderr)[0]).toBe(notFound);
  });
});

describe('unregistervm and the media registry', () => {
  it('hard disks are closed, DVD images stay registered (closemedium dvd closes them); --delete-all takes those in the VM folder', async () => {
    const base = join(work, 'media');
    const iso = (path: string) =>
      writeFile(path, buildIso9660({ volumeId: 'cidata', files: [{ name: 'meta-data', content: '' }] }));
    const vmdk = Buffer.alloc(4096);
    vmdk.write('KDMV', 0, 'latin1');
    vmdk.writeBigUInt64LE(2048n, 12);
    await writeFile(join(work, 'm-src.vmdk'), vmdk);
    const make = async (name: string, dvd: string) => {
      expect((await V('createvm', '--name', name, '--basefolder', base, '--register')).code).toBe(0);
      expect((await V('storagectl', name, '--name', 'SATA', '--add', 'sata', '--portcount', '2')).code).toBe(
        0,
      );
      const disk = join(work, `${name}.vdi`);
      expect((await V('clonemedium', 'disk', join(work, 'm-src.vmdk'), disk)).code).toBe(0);
      for (const [port, type, medium] of [
        ['0', 'hdd', disk],
        ['1', 'dvddrive', dvd],
      ]) {
        const at = ['storageattach', name, '--storagectl', 'SATA', '--port', port, '--device', '0'];
        expect((await V(...at, '--type', type, '--medium', medium)).code).toBe(0);
      }
      return disk;
    };
    const seed = join(work, 'm-seed.iso');
    await iso(seed);
    const disk = await make('m', seed);
    expect((await V('list', 'dvds')).stdout).toContain(seed);
    expect((await V('unregistervm', 'm', '--delete')).code).toBe(0);
    expect(existsSync(disk)).toBe(false);
    expect((await V('list', 'hdds')).stdout).not.toContain(disk);
    // The DVD image is detached but still registered, until closed.
    expect((await V('list', 'dvds')).stdout).toContain(seed);
    expect(existsSync(seed)).toBe(true);
    expect((await V('closemedium', 'dvd', seed)).code).toBe(0);
    expect((await V('list', 'dvds')).stdout).not.toContain(seed);

    // --delete-all (VirtualBox 7): a DVD image in the VM's folder goes too, one elsewhere stays.
    const inFolder = join(base, 'n', 'n-seed.iso');
    await mkdir(join(base, 'n'), { recursive: true });
    await iso(inFolder);
    const diskN = await make('n', inFolder);
    expect((await V('unregistervm', 'n', '--delete-all')).code).toBe(0);
    expect(existsSync(diskN)).toBe(false);
    expect(existsSync(inFolder)).toBe(false);
    expect((await V('list', 'dvds')).stdout).not.toContain(inFolder);
  });
});

describe('a VM with nothing to boot', () => {
  it('starts (VirtualBox does not refuse it), but its BIOS halts: no guest, the port forward never answers', async () => {
    const port = await freePort();
    const base = join(work, 'vms');
    expect((await V('createvm', '--name', 'b', '--basefolder', base, '--register')).code).toBe(0);
    expect((await V('modifyvm', 'b', '--natpf1', `ssh,tcp,127.0.0.1,${port},,22`)).code).toBe(0);
    expect((await V('storagectl', 'b', '--name', 'SATA', '--add', 'sata', '--portcount', '2')).code).toBe(0);
    const vboxLog = join(base, 'b', 'Logs', 'VBox.log');
    const halted = async () =>
      existsSync(vboxLog) &&
      readFileSync(vboxLog, 'utf8').includes('FATAL: No bootable medium found! System halted.');
    const guestOfB = async () =>
      (await simGuests(sim)).filter((g) =>
        g.endsWith(
          labVmName(
            sim,
            simState(sim).vms.find((v) => v.name === 'b')!,
          ),
        ),
      );

    // No disk at all.
    const start = await V('startvm', 'b', '--type', 'headless');
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toBe('Waiting for VM "b" to power on...\nVM "b" has been successfully started.\n');
    await eventually(halted, 30_000);
    expect((await V('showvminfo', 'b', '--machinereadable')).stdout).toMatch(/^VMState="running"$/m);
    expect(await listening(port)).toBe(true);
    expect(await banner(port)).toBe(''); // reset: nothing in the guest answers, ever
    expect(await guestOfB()).toEqual([]);
    // The halted BIOS ignores the power button; only a power-off ends it.
    expect((await V('controlvm', 'b', 'acpipowerbutton')).code).toBe(0);
    expect((await V('showvminfo', 'b', '--machinereadable')).stdout).toMatch(/^VMState="running"$/m);
    expect((await V('controlvm', 'b', 'poweroff')).code).toBe(0);
    await rm(vboxLog);

    // A disk, but the boot order never tries disks.
    const vmdk = Buffer.alloc(4096);
    vmdk.write('KDMV', 0, 'latin1');
    vmdk.writeBigUInt64LE(2097152n, 12);
    await writeFile(join(work, 'b-src.vmdk'), vmdk);
    const disk = join(work, 'b.vdi');
    expect((await V('clonemedium', 'disk', join(work, 'b-src.vmdk'), disk)).code).toBe(0);
    const attach = [
      ...['storageattach', 'b', '--storagectl', 'SATA', '--port', '0', '--device', '0'],
      ...['--type', 'hdd', '--medium', disk],
    ];
    // Right after the power-off, the session is still being released for a moment.
    await eventually(async () => (await V(...attach)).code === 0, 5_000);
    await eventually(
      async () =>
        (await V('modifyvm', 'b', '--boot1', 'dvd', '--boot2', 'net', '--boot3', 'none')).code === 0,
      5_000,
    );
    expect((await V('startvm', 'b', '--type', 'headless')).code).toBe(0);
    await eventually(halted, 30_000);
    expect(await guestOfB()).toEqual([]);
    expect((await V('controlvm', 'b', 'poweroff')).code).toBe(0);
    await eventually(async () => (await V('unregistervm', 'b', '--delete')).code === 0, 5_000);
    expect(existsSync(disk)).toBe(false);
  });
});

describe('homes of runs that were killed', () => {
  it('are cleared before a run: their bridges would keep the host-only routes; live homes are kept', async () => {
    // A home whose owner (a test process) is gone, with a host-only interface on 192.168.99.1/24.
    const stale = await makeSimHome(join(work, 'stale'));
    const dead = spawnSync('true').pid!;
    await writeFile(join(stale, 'owner.pid'), `${dead}\n`);
    const env = { VBOXSIM_CALLER: 'test' };
    expect((await vbox(stale, ['hostonlyif', 'create'], env)).code).toBe(0);
    await writeFile(join(stale, 'networks.conf'), '* 192.168.99.0/24\n');
    expect(
      (await vbox(stale, ['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1'], env)).code,
    ).toBe(0);
    expect(await simLinks(stale)).toHaveLength(1);
    const ours = await simLinks(sim);
    expect(ours.length).toBeGreaterThan(0);

    expect(await removeStaleSimHomes()).toEqual([stale]);
    expect(await simLinks(stale)).toEqual([]);
    expect(await simLinks(sim)).toEqual(ours);
  });
});
