/** startvm and controlvm: sessions, the VM process, and the guest's power. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, table } from './args.js';
import { VBoxError, VBoxSyntaxError, locked, plain } from './errors.js';
import { killGuest, pauseGuest, resumeGuest } from './guest.js';
import type { Io } from './io.js';
import {
  findVm,
  hostOs,
  isLocked,
  labVmName,
  reapAborted,
  unlockDelayMs,
  withState,
  type SimState,
  type Vm,
} from './state.js';

const vmProcessJs = fileURLToPath(new URL('./vm-process.js', import.meta.url));

const consoleError = (message: string) =>
  new VBoxError(message, 'NS_ERROR_FAILURE', 'ConsoleWrap', 'IConsole');

/**
 * What VirtualBox checks when it powers a VM on: its media exist, its host-only interfaces (or, on
 * macOS, host-only networks) exist. VirtualBox 7 on macOS has no host-only adapters: a VM with one is
 * refused, and a host-only network stands ready for the fix (as VirtualBox 7.0 does, reported
 * verbatim in minikube's issue 18590). Returns the refusal, if any: the state is kept either way.
 */
function checkStartable(st: SimState, vm: Vm): VBoxError | undefined {
  for (const at of vm.attachments) {
    const m = st.media.find((x) => x.uuid === at.medium);
    if (m && !existsSync(m.location)) {
      return consoleError(
        `Could not open the medium '${m.location}'.\nVBoxManage: error: VD: error VERR_FILE_NOT_FOUND opening image file '${m.location}' (VERR_FILE_NOT_FOUND)`,
      );
    }
  }
  for (const n of vm.nics) {
    if (n.attachment === 'hostonly' && hostOs() === 'darwin') {
      const legacy = `Legacy ${n.hostOnlyAdapter} Network`;
      const h = st.hostOnlyIfs.find((x) => x.name === n.hostOnlyAdapter);
      const base = (h?.ip ?? '192.168.56.1').split('.').slice(0, 3).join('.');
      const range = { lower: `${base}.100`, upper: `${base}.254` };
      if (!st.hostOnlyNets.some((x) => x.name === legacy)) {
        st.hostOnlyNets.push({
          name: legacy,
          guid: randomUUID(),
          enabled: true,
          netmask: '255.255.255.0',
          ...range,
          leases: {},
        });
      }
      return consoleError(
        `Host-only adapters are no longer supported!\nVBoxManage: error: For your convenience a host-only network named '${legacy}' has been created with network mask '255.255.255.0' and IP address range '${range.lower}' - '${range.upper}'.\nVBoxManage: error: To fix this problem, switch to 'Host-only Network' attachment type in the VM settings.\nVBoxManage: error:  (VERR_NOT_FOUND)`,
      );
    }
    if (n.attachment === 'hostonly' && !st.hostOnlyIfs.some((h) => h.name === n.hostOnlyAdapter)) {
      return consoleError(
        `Failed to open/create the internal network 'HostInterfaceNetworking-${n.hostOnlyAdapter}' (VERR_INTNET_FLT_IF_NOT_FOUND).\nVBoxManage: error: Nonexistent host networking interface, name '${n.hostOnlyAdapter}' (VERR_INTERNAL_ERROR)`,
      );
    }
    if (n.attachment === 'hostonlynet' && !st.hostOnlyNets.some((h) => h.name === n.hostOnlyNetwork)) {
      // The wording is the simulator's: VirtualBox's own for this case is not documented anywhere we found.
      return consoleError(`Could not find host-only network '${n.hostOnlyNetwork ?? ''}' (VERR_NOT_FOUND)`);
    }
  }
  return undefined;
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
    const refused = checkStartable(st, v);
    if (refused) return refused;
    v.state = 'running';
    v.session = { pid: 0, type };
    v.stateChange = new Date().toISOString();
    return v;
  });
  if (vm instanceof VBoxError) throw vm;
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
