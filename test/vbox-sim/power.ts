/** startvm and controlvm: sessions, the VM process, and the guest's power. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, table } from './args.js';
import { VBoxError, VBoxSyntaxError, locked, plain } from './errors.js';
import { killGuest, pauseGuest, resumeGuest } from './guest.js';
import type { Io } from './io.js';
import {
  findVm,
  isLocked,
  labVmName,
  reapAborted,
  unlockDelayMs,
  withState,
  type SimState,
  type Vm,
} from './state.js';

const vmProcessJs = fileURLToPath(new URL('./vm-process.js', import.meta.url));

/** What VirtualBox checks when it powers a VM on: its media exist, its host-only interfaces exist. */
function checkStartable(st: SimState, vm: Vm): void {
  for (const at of vm.attachments) {
    const m = st.media.find((x) => x.uuid === at.medium);
    if (m && !existsSync(m.location)) {
      throw new VBoxError(
        `Could not open the medium '${m.location}'.\nVBoxManage: error: VD: error VERR_FILE_NOT_FOUND opening image file '${m.location}' (VERR_FILE_NOT_FOUND)`,
        'NS_ERROR_FAILURE',
        'ConsoleWrap',
        'IConsole',
      );
    }
  }
  vm.nics.forEach((n) => {
    if (n.attachment === 'hostonly' && !st.hostOnlyIfs.some((h) => h.name === n.hostOnlyAdapter)) {
      throw new VBoxError(
        `Failed to open/create the internal network 'HostInterfaceNetworking-${n.hostOnlyAdapter}' (VERR_INTNET_FLT_IF_NOT_FOUND).\nVBoxManage: error: Nonexistent host networking interface, name '${n.hostOnlyAdapter}' (VERR_INTERNAL_ERROR)`,
        'NS_ERROR_FAILURE',
        'ConsoleWrap',
        'IConsole',
      );
    }
  });
}

export function startvm(home: string, argv: string[], io: Io): void {
  const a = parseArgs(argv, table({ type: 1, putenv: 1, E: 1, password: 1, passwordid: 1 }));
  if (a.positional.length !== 1) throw new VBoxSyntaxError('VM name required');
  const type = a.opts.find(([n]) => n === 'type')?.[1][0] ?? 'gui';
  if (!['gui', 'headless', 'sdl', 'separate'].includes(type))
    throw new VBoxSyntaxError(`Invalid session type '${type}'`);
  const vm = withState(home, (st) => {
    const v = findVm(st, a.positional[0], 'VBoxManageMisc.cpp', 866);
    reapAborted(v);
    if (isLocked(v)) {
      throw locked(
        v.name,
        '"LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())" at line 881 of file VBoxManageMisc.cpp',
      );
    }
    checkStartable(st, v);
    v.state = 'running';
    v.session = { pid: 0, type };
    v.stateChange = new Date().toISOString();
    return v;
  });
  const logs = join(dirname(vm.cfgFile), 'Logs');
  mkdirSync(logs, { recursive: true });
  const out = openSync(join(logs, 'VBox.log'), 'a');
  const child = spawn(process.execPath, [vmProcessJs, home, vm.uuid], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  child.unref();
  withState(home, (st) => {
    const v = st.vms.find((x) => x.uuid === vm.uuid);
    if (v?.session) v.session.pid = child.pid ?? 0;
  });
  io.out(`Waiting for VM "${vm.name}" to power on...\nVM "${vm.name}" has been successfully started.\n`);
}

function endSession(v: Vm, state: Vm['state']): void {
  v.state = state;
  v.session = undefined;
  v.unlockAt = Date.now() + unlockDelayMs();
  v.stateChange = new Date().toISOString();
}

export async function controlvm(home: string, argv: string[], io: Io): Promise<void> {
  const [ref, action, ...rest] = argv;
  if (!ref || !action) throw new VBoxSyntaxError('Not enough parameters');
  const vm = withState(home, (st) => {
    const v = findVm(st, ref, 'VBoxManageControlVM.cpp', 210);
    reapAborted(v);
    return v;
  });
  if (!vm.session || (vm.state !== 'running' && vm.state !== 'paused'))
    throw plain(`Machine '${vm.name}' is not currently running`);
  const labName = labVmName(home, vm);
  switch (action) {
    case 'poweroff': {
      try {
        if (vm.session.pid > 0) process.kill(-vm.session.pid, 'SIGKILL');
      } catch {
        /* the VM process is gone already */
      }
      await killGuest(labName);
      withState(home, (st) => {
        const v = st.vms.find((x) => x.uuid === vm.uuid);
        if (v) endSession(v, 'poweroff');
      });
      io.err('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
      return;
    }
    case 'acpipowerbutton':
      // The guest decides what a power button press means; one that ignores it stays running.
      if (io.env.VBOXSIM_ACPI === 'ignore') return;
      if (vm.session.pid > 0) process.kill(vm.session.pid, 'SIGUSR1');
      return;
    case 'pause':
      if (vm.state !== 'running') throw plain(`Machine in invalid state ${vm.state} -- not running`);
      await pauseGuest(labName);
      withState(home, (st) => {
        const v = st.vms.find((x) => x.uuid === vm.uuid);
        if (v) v.state = 'paused';
      });
      return;
    case 'resume':
      if (vm.state !== 'paused') throw plain(`Machine in invalid state ${vm.state} -- not paused`);
      await resumeGuest(labName);
      withState(home, (st) => {
        const v = st.vms.find((x) => x.uuid === vm.uuid);
        if (v) v.state = 'running';
      });
      return;
    default:
      throw new VBoxError(`The simulator does not model 'controlvm ${action}${rest.length ? ' …' : ''}'`);
  }
}
