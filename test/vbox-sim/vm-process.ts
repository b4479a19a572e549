/**
 * The process that runs a simulated VM, like VirtualBox's VBoxHeadless: started detached by `startvm`,
 * it boots the guest (a lab VM container), applies the cloud-init seed from the DVD drive, plugs the
 * host-only NICs into their host bridge (with the NIC's MAC, and the DHCP server's lease where the
 * guest's cloud-init runs a DHCP client on it), and serves the
 * NAT port forwards on the host. It ends when the guest stops (ACPI shutdown: SIGUSR1) and records the
 * VM as powered off; `controlvm poweroff` kills it.
 *
 * Usage: node vm-process.js <simulator home> <vm uuid>
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { vmExec } from '../lab/lab.js';
import { NO_BOOTABLE_MEDIUM, bootDevice } from './boot.js';
import { cloudInitScript, dhcp4Enabled, readSeed, type Seed } from './cloud-init.js';
import { bootGuest, guestImage, shutdownGuest, waitGuest } from './guest.js';
import { hostOnlyNetLease, hostOnlyNetLink, lease } from './network.js';
import { homeTag, labVmName, readState, unlockDelayMs, withState, type Vm, type VmState } from './state.js';

const [home, uuid] = process.argv.slice(2);
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

/** Names a Linux guest gives VirtualBox NICs 1-8 (their PCI slots). */
const GUEST_IFNAMES = ['enp0s3', 'enp0s8', 'enp0s9', 'enp0s10', 'enp0s16', 'enp0s17', 'enp0s18', 'enp0s19'];
const colonMac = (mac: string) => mac.toLowerCase().match(/../g)!.join(':');

const guest: { ip?: string; ready: boolean } = { ready: false };
const servers: Server[] = [];
const sockets = new Set<Socket>();

function finalize(state: VmState, why: string): never {
  log(`Power off (${why})`);
  withState(home, (st) => {
    const vm = st.vms.find((v) => v.uuid === uuid);
    if (vm && vm.session?.pid === process.pid) {
      vm.state = state;
      vm.session = undefined;
      vm.unlockAt = Date.now() + unlockDelayMs();
      vm.stateChange = new Date().toISOString();
    }
  });
  for (const s of servers) s.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
}

/** NAT port forwards: listen at once (as VirtualBox's NAT engine does); refuse until the guest is up. */
function serveForwards(vm: Vm): void {
  vm.nics.forEach((nic, i) => {
    if (nic.attachment !== 'nat') return;
    for (const r of nic.natpf) {
      if (r.proto !== 'tcp') {
        log(`NAT#${i}: UDP redirects are not simulated (${r.name})`);
        continue;
      }
      const srv = createServer((sock) => {
        if (!guest.ready || !guest.ip) {
          sock.destroy(); // nothing listens in the guest yet: the connection is reset
          return;
        }
        const up = connect(r.guestPort, guest.ip);
        sockets.add(sock).add(up);
        const end = () => {
          sock.destroy();
          up.destroy();
          sockets.delete(sock);
          sockets.delete(up);
        };
        sock.on('error', end).on('close', end);
        up.on('error', end).on('close', end);
        sock.pipe(up).pipe(sock);
      });
      srv.on('error', (err) =>
        log(`NAT#${i}: failed to redirect TCP ${r.hostIp}:${r.hostPort} -> ${r.guestPort}: ${err.message}`),
      );
      srv.listen({ host: r.hostIp || '0.0.0.0', port: r.hostPort, exclusive: true }, () =>
        log(`NAT#${i}: redirect TCP ${r.hostIp}:${r.hostPort} -> guest port ${r.guestPort}`),
      );
      servers.push(srv);
    }
  });
}

/**
 * Guest-side faults `VBOXSIM_FAIL` can inject (next to the VBoxManage commands it fails): `guest:cloud-init`
 * boots a guest whose cloud-init fails before it applies the seed (as an image without cloud-init), so
 * no user, no key, no network-config.
 */
const guestFault = (name: string) =>
  (process.env.VBOXSIM_FAIL ?? '')
    .split(',')
    .map((f) => f.trim())
    .includes(`guest:${name}`);

/** Apply the first NoCloud seed on a DVD drive, as the guest's cloud-init would; returns it. */
async function applySeed(vm: Vm, labName: string): Promise<Seed | undefined> {
  if (guestFault('cloud-init')) {
    log('cloud-init: failed before applying the seed (injected by VBOXSIM_FAIL=guest:cloud-init)');
    return undefined;
  }
  const st = readState(home);
  for (const at of vm.attachments.filter((a) => a.type === 'dvddrive')) {
    const m = st.media.find((x) => x.uuid === at.medium);
    if (!m) continue;
    let seed;
    try {
      seed = readSeed(readFileSync(m.location));
    } catch (err) {
      log(`DVD ${m.location}: unreadable (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    if (!seed) {
      log(`DVD ${m.location}: not a NoCloud seed (volume label cidata)`);
      continue;
    }
    const { script, ignored } = cloudInitScript(seed);
    if (ignored.length) log(`cloud-init: not simulated: ${ignored.join(', ')}`);
    const r = await vmExec(labName, script);
    if (r.code !== 0) throw new Error(`cloud-init in the guest failed: ${r.stderr.trim()}`);
    log(`cloud-init: applied the seed from ${m.location}`);
    return seed;
  }
  log('cloud-init: no NoCloud seed; the guest configures nothing');
  return undefined;
}

/**
 * Plug each host-only NIC into its host bridge: a veth whose guest end has the NIC's name and MAC. The
 * DHCP server's lease goes onto it only where the guest runs a DHCP client (the seed's network-config,
 * or cloud-init's fallback, which serves the first NIC only).
 */
function plugHostOnlyNics(vm: Vm, pid: number, seed: Seed | undefined): void {
  const first = { name: GUEST_IFNAMES[0], mac: vm.nics[0].mac };
  vm.nics.forEach((nic, i) => {
    if (nic.attachment !== 'hostonly' && nic.attachment !== 'hostonlynet') return;
    const ifname = GUEST_IFNAMES[i];
    const dhcp = dhcp4Enabled(seed, { name: ifname, mac: nic.mac }, first);
    // The host side and the DHCP lease: a host-only interface's bridge and its DHCP server, or a
    // host-only network's bridge (made now, as vmnet does) and vmnet's DHCP server.
    const link = withState(home, (st) => {
      if (nic.attachment === 'hostonly') {
        const h = st.hostOnlyIfs.find((x) => x.name === nic.hostOnlyAdapter);
        if (!h) return undefined;
        const addr = dhcp ? lease(st, `HostInterfaceNetworking-${h.name}`, nic.mac) : undefined;
        return { name: h.name, bridge: h.bridge, addr };
      }
      const n = st.hostOnlyNets.find((x) => x.name === nic.hostOnlyNetwork);
      if (!n) return undefined;
      const { bridge, prefix } = hostOnlyNetLink(home, st, n);
      const ip = dhcp ? hostOnlyNetLease(n, nic.mac) : undefined;
      return { name: n.name, bridge, addr: ip ? { ip, prefix } : undefined };
    });
    if (!link) {
      log(
        `NIC ${i + 1}: host-only ${nic.attachment === 'hostonly' ? 'interface' : 'network'} not found; no link`,
      );
      return;
    }
    const id = createHash('sha1').update(`${uuid}/${i}`).digest('hex').slice(0, 5);
    const hostEnd = `vbs${homeTag(home)}${id}`;
    const tmp = `vbg${homeTag(home)}${id}`;
    try {
      execFileSync('ip', ['link', 'del', hostEnd], { stdio: 'ignore' });
    } catch {
      /* none left over */
    }
    execFileSync('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', tmp]);
    execFileSync('ip', ['link', 'set', hostEnd, 'master', link.bridge, 'up']);
    execFileSync('ip', ['link', 'set', tmp, 'netns', String(pid)]);
    const { addr } = link;
    const cmds = [
      `ip link set ${tmp} name ${ifname}`,
      `ip link set ${ifname} address ${colonMac(nic.mac)}`,
      nic.cable ? `ip link set ${ifname} up` : 'true',
      // The guest's DHCP client, done by the hypervisor: the lease goes straight onto the interface.
      addr ? `ip addr add ${addr.ip}/${addr.prefix} dev ${ifname}` : 'true',
    ];
    execFileSync('nsenter', ['-t', String(pid), '-n', 'sh', '-c', cmds.join(' && ')]);
    log(
      `NIC ${i + 1}: ${ifname} ${colonMac(nic.mac)} on ${link.name} (${link.bridge})${!dhcp ? ', no DHCP client in the guest' : addr ? `, DHCP lease ${addr.ip}` : ', no DHCP lease'}`,
    );
  });
}

async function main(): Promise<void> {
  const st = readState(home);
  const vm = st.vms.find((v) => v.uuid === uuid);
  if (!vm) throw new Error(`VM ${uuid} is not registered`);
  const labName = labVmName(home, vm);
  log(`VM '${vm.name}' {${uuid}} powering on; guest: lab VM ${labName}`);
  serveForwards(vm);
  const boot = bootDevice(st, vm);
  if (!boot) {
    // The BIOS halts: the VM runs (until powered off), ignores the power button, and no guest comes up.
    log(`BIOS: ${NO_BOOTABLE_MEDIUM}`);
    process.on('SIGUSR1', () => log('ACPI power button pressed; the halted BIOS does not react'));
    setInterval(() => undefined, 60_000); // runs until `controlvm poweroff` kills it
    await new Promise<never>(() => undefined);
  }
  log(`BIOS: booting from ${boot}`);
  process.on('SIGUSR1', () => {
    log('ACPI power button pressed');
    void shutdownGuest(labName);
  });
  const { ip, pid } = await bootGuest(labName, guestImage());
  const seed = await applySeed(vm, labName);
  plugHostOnlyNics(vm, pid, seed);
  guest.ip = ip;
  guest.ready = true;
  log(`Guest is up (sshd at ${ip}:22)`);
  await waitGuest(labName);
  finalize('poweroff', 'the guest stopped');
}

main().catch((err: unknown) => {
  log(`VM process failed: ${err instanceof Error ? err.stack : String(err)}`);
  finalize('aborted', 'the VM process failed');
});
