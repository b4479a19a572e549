/**
 * VBoxManage, simulated: the commands swarmup's virtualbox driver uses, with VirtualBox's output formats,
 * error lines and exit codes, over state kept in $VBOXSIM_HOME. Every invocation is appended to
 * $VBOXSIM_HOME/calls.log (one JSON line: argv, exit code, and VBOXSIM_CALLER when set, which tests
 * set for their own inspection calls). VBOXSIM_FAIL=<command>[,<command> ...] makes
 * those commands (e.g. `storageattach`, or `hostonlyif ipconfig`) fail with a VBoxManage-like error before
 * they change anything.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { VBoxError, VBoxSyntaxError } from './errors.js';
import { deleteGuest } from './guest.js';
import type { Io } from './io.js';
import { clonemedium, closemedium, convertfromraw, listMedia, modifymedium } from './media.js';
import {
  dhcpserver,
  hostonlyif,
  hostonlynet,
  listDhcpServers,
  listHostOnlyIfs,
  listHostOnlyNets,
} from './network.js';
import { controlvm, startvm } from './power.js';
import { hostOs, labVmName, simHome, withState } from './state.js';
import {
  createvm,
  getextradata,
  guestproperty,
  listVms,
  modifyvm,
  setextradata,
  sharedfolder,
  showvminfo,
  storageattach,
  storagectl,
  unregistervm,
} from './vm.js';

export const SIM_VERSION = '7.0.20r163906';

function injected(argv: string[], env: NodeJS.ProcessEnv): VBoxError | undefined {
  const specs = (env.VBOXSIM_FAIL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const hit = specs.find((s) => {
    const words = s.split(/\s+/);
    return words.every((w, i) => argv[i] === w);
  });
  if (!hit) return undefined;
  return new VBoxError(
    `${hit} failed (injected by VBOXSIM_FAIL)`,
    'E_FAIL',
    'SessionMachine',
    'IMachine',
    `"${argv[0]}" at line 1 of file VBoxManageSimulator.cpp`,
  );
}

async function dispatch(home: string, argv: string[], io: Io): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case '--version':
    case '-v':
    case '-version':
      io.out(`${SIM_VERSION}\n`);
      return;
    case 'list': {
      const what = rest.filter((r) => !r.startsWith('-'))[0];
      withState(home, (st) => {
        if (what === 'vms') listVms(st, false, io);
        else if (what === 'runningvms') listVms(st, true, io);
        else if (what === 'hostonlyifs') listHostOnlyIfs(st, io);
        else if (what === 'dhcpservers') listDhcpServers(st, io);
        else if (what === 'hostonlynets' && hostOs() === 'darwin') listHostOnlyNets(st, io);
        else if (what === 'hdds') listMedia(st, 'hdd', io);
        else if (what === 'dvds') listMedia(st, 'dvd', io);
        else throw new VBoxSyntaxError(`Unknown subcommand '${what ?? ''}'`);
      });
      return;
    }
    case 'createvm':
      return createvm(home, rest, io);
    case 'modifyvm':
      return modifyvm(home, rest);
    case 'showvminfo':
      return showvminfo(home, rest, io);
    case 'unregistervm':
      return unregistervm(home, rest, io, (vm) => deleteGuest(labVmName(home, vm)));
    case 'storagectl':
      return storagectl(home, rest);
    case 'storageattach':
      return storageattach(home, rest);
    case 'sharedfolder':
      return sharedfolder(home, rest);
    case 'setextradata':
      return setextradata(home, rest);
    case 'getextradata':
      return getextradata(home, rest, io);
    case 'guestproperty':
      return guestproperty(home, rest, io);
    case 'clonemedium':
    case 'clonehd':
    case 'clonevdi':
      return clonemedium(home, rest, io);
    case 'convertfromraw':
      return convertfromraw(home, rest, io);
    case 'modifymedium':
    case 'modifyhd':
      return modifymedium(home, rest, io);
    case 'closemedium':
      return closemedium(home, rest, io);
    case 'hostonlyif':
      return hostonlyif(home, rest, io);
    case 'dhcpserver':
      return dhcpserver(home, rest);
    case 'hostonlynet':
      // VirtualBox 7 on macOS only (VBOX_WITH_VMNET); elsewhere there is no such command.
      if (hostOs() !== 'darwin') throw new VBoxSyntaxError(`Invalid command '${cmd}'`);
      return hostonlynet(home, rest);
    case 'startvm':
      return startvm(home, rest, io);
    case 'controlvm':
      return controlvm(home, rest, io);
    default:
      throw new VBoxSyntaxError(`Invalid command '${cmd ?? ''}'`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const home = simHome();
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (s) => (stdout += s), err: (s) => (stderr += s), env: process.env };
  const started = Date.now();
  let code = 0;
  try {
    const fault = injected(argv, process.env);
    if (fault) throw fault;
    await dispatch(home, argv, io);
  } catch (err) {
    if (err instanceof VBoxError) {
      if (err instanceof VBoxSyntaxError) stderr += 'Usage: see VBoxManage help\n';
      stderr += err.render();
      code = err.exitCode;
    } else {
      stderr += `VBoxManage: error: ${err instanceof Error ? err.message : String(err)}\n`;
      code = 1;
    }
  }
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  const entry = {
    argv,
    exit: code,
    ms: Date.now() - started,
    at: started,
    caller: process.env.VBOXSIM_CALLER,
  };
  appendFileSync(join(home, 'calls.log'), `${JSON.stringify(entry)}\n`);
  return code;
}
