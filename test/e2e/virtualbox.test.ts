/**
 * The virtualbox driver end to end against the VBoxManage simulator (test/vbox-sim): VirtualBox itself
 * cannot run here. The simulator keeps VirtualBox's state on disk, answers and refuses like VBoxManage,
 * and backs each running VM with a lab VM (real sshd, real dockerd), its NAT port forward with a real
 * TCP forwarder on 127.0.0.1 and its host-only NIC with a real veth on a host bridge. So the machine is
 * provisioned over SSH through the forward, and Docker and swarm traffic use the host-only network.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import {
  buildSimulator,
  makeSimHome,
  calls,
  cleanupSim,
  listening,
  simEnv,
  simGuests,
  simLinks,
  simState,
  vbox,
} from '../vbox-sim/index.js';
import { bash, bin, eventually, expectOneLineError, parseEnv, swarmup, tempDir } from './helpers.js';

let work: string;
let store: string;
let sim: string;
let image: string;
let sum: string;

const S = (args: string[], extra: NodeJS.ProcessEnv = {}) => swarmup(store, args, simEnv(sim, extra));
const imageFlags = () => [
  '--virtualbox-image-url',
  pathToFileURL(image).href,
  '--virtualbox-image-checksum',
  `sha256:${sum}`,
];
/** `create --driver virtualbox` of the stand-in image, with more flags and then the machine's name. */
const createArgs = (...rest: string[]) => ['create', '--driver', 'virtualbox', ...imageFlags(), ...rest];
const vmState = async (vm: string) =>
  /^VMState="(\w+)"$/m.exec((await vbox(sim, ['showvminfo', vm, '--machinereadable'])).stdout)?.[1];
const vms = async () => (await vbox(sim, ['list', 'vms'])).stdout;
const argvs = (from = 0) =>
  calls(sim)
    .slice(from)
    .map((c) => c.argv);

/**
 * The calls that make, set up and start the VM of `name` (after the host-only network), as a real
 * VirtualBox needs them: read back from the simulator's state (UUID, port, the MACs the driver chose and
 * wrote into the seed's network-config) and the store.
 */
async function vmCalls(
  home: string,
  name: string,
  o: {
    nic2: string[];
    share?: { name: string; path: string };
    cpus?: string;
    memory?: string;
    diskMb?: string;
  },
): Promise<string[][]> {
  const machine = join(store, 'machines', name);
  const vm = simState(home).vms.find((v) => v.name === name)!;
  const { uuid } = vm;
  const port = String(JSON.parse(await readFile(join(machine, 'config.json'), 'utf8')).Driver.SSHPort);
  const storeId = (await readFile(join(store, 'id'), 'utf8')).trim();
  const cached = join(store, 'cache', 'fake-cloud.vmdk');
  const disk = join(machine, 'disk.vdi');
  const [natMac, hostOnlyMac] = vm.nics.map((n) => n.mac);
  expect(natMac).toMatch(/^080027[0-9A-F]{6}$/);
  expect(hostOnlyMac).toMatch(/^080027[0-9A-F]{6}$/);
  const [nic2, ...nic2Rest] = o.nic2;
  const attach = (port: string, type: string, medium: string) => [
    ...['storageattach', uuid, '--storagectl', 'SATA', '--port', port, '--device', '0'],
    ...['--type', type, '--medium', medium],
  ];
  return [
    ['createvm', '--name', name, '--basefolder', machine, '--register'],
    ['setextradata', uuid, 'swarmup/store', storeId],
    [
      'modifyvm',
      uuid,
      ...[
        '--ostype',
        'Linux26_64',
        '--firmware',
        'bios',
        '--cpus',
        o.cpus ?? '1',
        '--memory',
        o.memory ?? '1024',
      ],
      ...['--acpi', 'on', '--ioapic', 'on', '--rtcuseutc', 'on', '--pae', 'on', '--hpet', 'on'],
      ...['--hwvirtex', 'on', '--nestedpaging', 'on', '--largepages', 'on', '--vtxvpid', 'on'],
      ...['--cpuhotplug', 'off', '--accelerate3d', 'off'],
      ...['--bioslogofadein', 'off', '--bioslogofadeout', 'off', '--bioslogodisplaytime', '0'],
      ...['--biosbootmenu', 'disabled'],
      ...['--boot1', 'disk', '--boot2', 'dvd', '--boot3', 'none', '--boot4', 'none'],
      ...['--uart1', '0x3F8', '4', '--uartmode1', 'file', join(machine, name, 'console.log')],
      ...['--nic1', 'nat', '--nictype1', '82540EM', '--macaddress1', natMac, '--cableconnected1', 'on'],
      ...['--natdnsproxy1', 'on', '--natdnshostresolver1', 'off'],
      ...['--natpf1', `ssh,tcp,127.0.0.1,${port},,22`],
      ...['--nic2', nic2, '--nictype2', '82540EM', '--macaddress2', hostOnlyMac, '--nicpromisc2', 'deny'],
      ...nic2Rest,
      ...['--cableconnected2', 'on'],
    ],
    [
      ...['storagectl', uuid, '--name', 'SATA', '--add', 'sata', '--controller', 'IntelAhci'],
      ...['--portcount', '2', '--hostiocache', 'on', '--bootable', 'on'],
    ],
    ['clonemedium', 'disk', cached, disk, '--format', 'VDI'],
    ['closemedium', 'disk', cached],
    ['modifymedium', 'disk', disk, '--resize', o.diskMb ?? '20000'],
    attach('0', 'hdd', disk),
    attach('1', 'dvddrive', join(machine, 'seed.iso')),
    ...(o.share
      ? [
          ['sharedfolder', 'add', uuid, '--name', o.share.name, '--hostpath', o.share.path, '--automount'],
          ['setextradata', uuid, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${o.share.name}`, '1'],
        ]
      : []),
    ['startvm', uuid, '--type', 'headless'],
  ];
}

/** Files under `dir` whose name ends with `ext`. */
async function findFiles(dir: string, ext: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

async function dockerVia(machine: string, args: string, storePath = store) {
  const env = await swarmup(storePath, ['env', machine], simEnv(sim));
  expect(env.code, env.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(env.stdout), DOCKER_CONFIG: work });
}

beforeAll(async () => {
  await labUp();
  await buildSimulator();
  work = await tempDir('swarmup-vbox-');
  store = join(work, 'store');
  sim = await makeSimHome(join(work, 'vbox'));
  // A small stand-in for a cloud image: a sparse VMDK header declaring a 2 GiB disk.
  const img = Buffer.alloc(1 << 20);
  img.write('KDMV', 0, 'latin1');
  img.writeUInt32LE(3, 4);
  img.writeBigUInt64LE(BigInt(2 ** 31 / 512), 12);
  image = join(work, 'fake-cloud.vmdk');
  await writeFile(image, img);
  sum = createHash('sha256').update(img).digest('hex');
});

afterAll(async () => {
  await S(['cluster', 'down', 'vb']);
  await cleanupSim(sim);
  await rm(work, { recursive: true, force: true });
});

describe('virtualbox driver against the VBoxManage simulator', () => {
  it('a host-only network VirtualBox refuses (networks.conf) fails before anything is made, with the fix', async () => {
    const r = await S(createArgs('node-0'));
    expect(expectOneLineError(r)).toMatch(
      /VirtualBox refused the host-only address 192\.168\.99\.1\/24 .*add the line "\* 192\.168\.99\.0\/24" to \/etc\/vbox\/networks\.conf/,
    );
    expect(argvs().slice(-4)).toEqual([
      ['list', 'hostonlyifs'],
      ['hostonlyif', 'create'],
      ['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'],
      ['hostonlyif', 'remove', 'vboxnet0'],
    ]);
    expect((await vbox(sim, ['list', 'hostonlyifs'])).stdout).toBe('');
    expect(await simLinks(sim)).toEqual([]);
    expect(await vms()).toBe('');
    expect(await readdir(join(store, 'machines'))).toEqual([]);
    // What a user does (in /etc/vbox/networks.conf):
    await writeFile(join(sim, 'networks.conf'), '* 192.168.99.0/24\n');
  });

  it('a bridge without carrier that still holds the network (left by a killed run) is refused, naming it', async () => {
    // Its last port is gone, so it is not among the running interfaces, yet the kernel routes
    // 192.168.99.0/24 to it: every VM on the host-only network would be unreachable.
    const br = 'swtstale0';
    await bash(
      `ip link add ${br} type bridge && ip link set ${br} up && ip link add ${br}v type veth peer name ${br}p && ` +
        `ip link set ${br}v master ${br} up && ip addr add 192.168.99.1/24 dev ${br} && ip link del ${br}v`,
      {},
    );
    try {
      expect((await bash(`ip route show 192.168.99.0/24`, {})).stdout).toContain(`dev ${br}`);
      const from = calls(sim).length;
      const r = await S(createArgs('node-x'));
      expect(expectOneLineError(r)).toContain(
        `--virtualbox-hostonly-cidr 192.168.99.1/24 conflicts with the host interface ${br} (192.168.99.0/24); choose another network or remove that interface`,
      );
      expect(
        argvs(from).filter((a) => a[0] !== 'list' && a[0] !== 'showvminfo' && a[0] !== '--version'),
      ).toEqual([]);
      expect(await vms()).toBe('');
    } finally {
      await bash(`ip link del ${br}`, {});
    }
  });

  it('create: exactly the VBoxManage calls a real VirtualBox needs, in an order it accepts', async () => {
    const from = calls(sim).length;
    const r = await S(
      createArgs('--virtualbox-share-folder', `${work}:work`, '--virtualbox-shutdown-timeout', '5', 'node-1'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Docker is up and running!');
    const uuid = /\{([0-9a-f-]{36})\}/.exec(await vms())![1];
    const machine = join(store, 'machines', 'node-1');
    const disk = join(machine, 'disk.vdi');
    const cached = join(store, 'cache', 'fake-cloud.vmdk');
    const port = String(JSON.parse(await readFile(join(machine, 'config.json'), 'utf8')).Driver.SSHPort);
    const seq = calls(sim).slice(from);
    expect(seq.map((c) => c.argv)).toEqual([
      ['--version'],
      ['showvminfo', 'node-1', '--machinereadable'],
      ['list', 'hostonlyifs'],
      ['hostonlyif', 'create'],
      ['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'],
      ['list', 'dhcpservers'],
      [
        ...['dhcpserver', 'add', '--netname', 'HostInterfaceNetworking-vboxnet0', '--ip', '192.168.99.2'],
        ...[
          '--netmask',
          '255.255.255.0',
          '--lowerip',
          '192.168.99.100',
          '--upperip',
          '192.168.99.254',
          '--enable',
        ],
      ],
      ...(await vmCalls(sim, 'node-1', {
        nic2: ['hostonly', '--hostonlyadapter2', 'vboxnet0'],
        share: { name: 'work', path: work },
      })),
    ]);
    // Only the name check failed (the name is free): every other call was accepted.
    expect(seq.map((c) => c.exit)).toEqual([0, 1, ...Array(seq.length - 2).fill(0)]);
    // What VirtualBox now holds.
    const vm = simState(sim).vms.find((v) => v.uuid === uuid)!;
    expect(vm.attachments.map((a) => `${a.ctl}-${a.port}-${a.device}:${a.type}`)).toEqual([
      'SATA-0-0:hdd',
      'SATA-1-0:dvddrive',
    ]);
    expect(vm.nics[0].natpf).toEqual([
      { name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: Number(port), guestIp: '', guestPort: 22 },
    ]);
    expect((await vbox(sim, ['list', 'hdds'])).stdout).toMatch(
      new RegExp(`Location: +${disk}\\nStorage format: VDI\\nCapacity: +20000 MBytes`),
    );
    expect(await vmState('node-1')).toBe('running');
    // The cached image was not left registered (a newer download may replace it).
    expect((await vbox(sim, ['list', 'hdds'])).stdout).not.toContain(cached);
  });

  it('the guest: cloud-init user docker with our key, hostname, and the host-only NIC found by its MAC', async () => {
    const mac = /^macaddress2="(\w+)"$/m.exec(
      (await vbox(sim, ['showvminfo', 'node-1', '--machinereadable'])).stdout,
    )![1];
    const r = await S([
      'ssh',
      'node-1',
      '--',
      'id -un; hostname; ip -o link show enp0s8; ip -o -4 addr show enp0s8',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [user, host, link, addr] = r.stdout.trim().split('\n');
    expect(user).toBe('docker');
    expect(host).toBe('node-1');
    expect(link).toContain(`link/ether ${mac.toLowerCase().match(/../g)!.join(':')}`);
    expect(addr).toMatch(/inet 192\.168\.99\.100\/24/);
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'node-1', 'config.json'), 'utf8'));
    expect(cfg.Driver).toMatchObject({
      IPAddress: '192.168.99.100',
      HostOnlyMAC: mac,
      SSHUser: 'docker',
      SSHPort: expect.any(Number),
    });
    // The SSH host key is pinned for the forwarded port.
    expect(await readFile(join(store, 'machines', 'node-1', 'known_hosts'), 'utf8')).toMatch(
      new RegExp(`^\\[127\\.0\\.0\\.1\\]:${cfg.Driver.SSHPort} ssh-ed25519 `, 'm'),
    );
  });

  it('docker run works through `swarmup env` over the host-only network, with TLS', async () => {
    const env = parseEnv((await S(['env', 'node-1'])).stdout);
    expect(env.DOCKER_HOST).toBe('tcp://192.168.99.100:2376');
    const load = await bash(
      `docker save ${labImages.httpd} | DOCKER_HOST=${env.DOCKER_HOST} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${env.DOCKER_CERT_PATH} docker load`,
      { DOCKER_HOST: labDockerHost, DOCKER_CONFIG: work },
    );
    expect(load.code, load.stderr).toBe(0);
    const r = await dockerVia('node-1', `run --rm ${labImages.httpd} echo ok`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
    const ls = await S(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    expect(ls.stdout).toBe('node-1 virtualbox Running tcp://192.168.99.100:2376\n');
  });

  it('stop (ACPI), start, restart drive the VM through VBoxManage; the engine comes back each time', async () => {
    const port = Number(
      JSON.parse(await readFile(join(store, 'machines', 'node-1', 'config.json'), 'utf8')).Driver.SSHPort,
    );
    let from = calls(sim).length;
    const stop = await S(['stop', 'node-1']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(
      argvs(from)
        .filter((a) => a[0] === 'controlvm')
        .map((a) => a[2]),
    ).toEqual(['acpipowerbutton']);
    expect(await vmState('node-1')).toBe('poweroff');
    expect((await S(['status', 'node-1'])).stdout).toBe('Stopped\n');
    expect(await listening(port)).toBe(false);
    // The guest's disk survives a power-off (the lab VM is stopped, not removed).
    const [guest] = await simGuests(sim);
    expect((await labDocker(['inspect', '-f', '{{.State.Status}}', guest])).stdout.trim()).toBe('exited');

    from = calls(sim).length;
    const start = await S(['start', 'node-1']);
    expect(start.code, start.stderr).toBe(0);
    expect(argvs(from).map((a) => a[0])).toContain('startvm');
    expect(await vmState('node-1')).toBe('running');
    expect(await listening(port)).toBe(true);
    expect((await dockerVia('node-1', 'version --format {{.Server.Version}}')).code).toBe(0);
    expect((await dockerVia('node-1', `image inspect ${labImages.httpd} --format ok`)).stdout.trim()).toBe(
      'ok',
    );

    from = calls(sim).length;
    const restart = await S(['restart', 'node-1']);
    expect(restart.code, restart.stderr).toBe(0);
    const steps = argvs(from)
      .filter((a) => ['controlvm', 'startvm'].includes(a[0]))
      .map((a) => (a[0] === 'startvm' ? 'startvm' : a[2]));
    expect(steps).toEqual(['acpipowerbutton', 'startvm']);
    expect(await vmState('node-1')).toBe('running');
    expect((await dockerVia('node-1', `run --rm ${labImages.httpd} echo again`)).stdout.trim()).toBe('again');
  });

  it('a guest that ignores the ACPI button is powered off after --virtualbox-shutdown-timeout', async () => {
    const from = calls(sim).length;
    const r = await S(['stop', 'node-1'], { VBOXSIM_ACPI: 'ignore' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('did not shut down within 5 s; powering it off');
    expect(
      argvs(from)
        .filter((a) => a[0] === 'controlvm')
        .map((a) => a[2]),
    ).toEqual(['acpipowerbutton', 'poweroff']);
    expect(await vmState('node-1')).toBe('poweroff');
  });

  it('start makes a deleted DHCP server of the host-only network again (else the guest gets no address)', async () => {
    expect(await vmState('node-1')).toBe('poweroff');
    const netname = 'HostInterfaceNetworking-vboxnet0';
    expect((await vbox(sim, ['dhcpserver', 'remove', '--netname', netname])).code).toBe(0);
    const from = calls(sim).length;
    const r = await S(['start', 'node-1']);
    expect(r.code, r.stderr).toBe(0);
    const made = argvs(from).filter((a) => a[0] === 'dhcpserver');
    expect(made).toEqual([
      [
        ...['dhcpserver', 'add', '--netname', netname, '--ip', '192.168.99.2', '--netmask', '255.255.255.0'],
        ...['--lowerip', '192.168.99.100', '--upperip', '192.168.99.254', '--enable'],
      ],
    ]);
    expect(argvs(from).findIndex((a) => a[0] === 'dhcpserver')).toBeLessThan(
      argvs(from).findIndex((a) => a[0] === 'startvm'),
    );
    expect((await S(['ls', '--format', '{{.Name}} {{.State}} {{.URL}}'])).stdout).toBe(
      'node-1 Running tcp://192.168.99.100:2376\n',
    );
    expect((await dockerVia('node-1', 'version --format {{.Server.Version}}')).code).toBe(0);
  });

  it('kill powers off; rm unregisters and deletes the VM with its disk, seed and guest', async () => {
    const from = calls(sim).length;
    const kill = await S(['kill', 'node-1']);
    expect(kill.code, kill.stderr).toBe(0);
    expect(
      argvs(from)
        .filter((a) => a[0] === 'controlvm')
        .map((a) => a[2]),
    ).toEqual(['poweroff']);
    expect(await vmState('node-1')).toBe('poweroff');
    const seed = join(store, 'machines', 'node-1', 'seed.iso');
    expect((await vbox(sim, ['list', 'dvds'])).stdout).toContain(seed);
    const rm_ = await S(['rm', '-y', 'node-1']);
    expect(rm_.code, rm_.stderr).toBe(0);
    const [unregister, close] = argvs(from).slice(-2);
    expect([unregister[0], unregister[2]]).toEqual(['unregistervm', '--delete']);
    // unregistervm --delete leaves the seed registered as a DVD image: it is closed.
    expect(close).toEqual(['closemedium', 'dvd', seed]);
    expect(await vms()).toBe('');
    expect((await vbox(sim, ['list', 'hdds'])).stdout).toBe('');
    expect((await vbox(sim, ['list', 'dvds'])).stdout).toBe('');
    expect(await findFiles(store, '.vdi')).toEqual([]);
    expect(existsSync(join(store, 'machines', 'node-1'))).toBe(false);
    expect(await simGuests(sim)).toEqual([]);
  });

  it('a create that fails halfway rolls back: no registered VM, no disk, one clear error line', async () => {
    const from = calls(sim).length;
    const r = await S(createArgs('node-f'), {
      VBOXSIM_FAIL: 'storageattach',
    });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toBe(
      'VBoxManage storageattach failed: storageattach failed (injected by VBOXSIM_FAIL)',
    );
    const seq = argvs(from);
    const failedAt = seq.findIndex((a) => a[0] === 'storageattach');
    expect(seq.slice(failedAt).map((a) => a[0])).toEqual([
      'storageattach',
      'showvminfo',
      'unregistervm',
      'closemedium',
      'closemedium',
    ]);
    expect(seq.slice(-2)).toEqual([
      ['closemedium', 'disk', join(store, 'machines', 'node-f', 'disk.vdi'), '--delete'],
      ['closemedium', 'dvd', join(store, 'machines', 'node-f', 'seed.iso')],
    ]);
    expect(await vms()).toBe('');
    expect((await vbox(sim, ['list', 'hdds'])).stdout).toBe('');
    expect((await vbox(sim, ['list', 'dvds'])).stdout).toBe('');
    expect(await findFiles(work, '.vdi')).toEqual([]);
    expect(existsSync(join(store, 'machines', 'node-f'))).toBe(false);
    expect(await simGuests(sim)).toEqual([]);
  });

  it('a create that fails after startvm (the guest never applies the seed) powers off and deletes the VM', async () => {
    const from = calls(sim).length;
    const r = await S(createArgs('node-g'), {
      VBOXSIM_FAIL: 'guest:cloud-init',
      // VirtualBox still releases the session when the first unregistervm comes: it must be retried.
      VBOXSIM_UNLOCK_MS: '3000',
    });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toMatch(
      /^SSH authentication failed for docker@127\.0\.0\.1:\d+: the server refused the key \(the guest did not apply the NoCloud seed: is the image a cloud image with cloud-init\?\)$/,
    );
    const seq = calls(sim).slice(from);
    const started = seq.findIndex((c) => c.argv[0] === 'startvm');
    expect(started).toBeGreaterThan(0);
    const uuid = seq[started].argv[1];
    const after = seq.slice(started + 1);
    expect(after.filter((c) => c.argv[0] !== 'unregistervm').map((c) => [...c.argv, c.exit])).toEqual([
      ['showvminfo', uuid, '--machinereadable', 0],
      ['controlvm', uuid, 'poweroff', 0],
      ['closemedium', 'dvd', join(store, 'machines', 'node-g', 'seed.iso'), 0],
    ]);
    const unregisters = after.filter((c) => c.argv[0] === 'unregistervm');
    expect(unregisters.length).toBeGreaterThan(1);
    expect(unregisters.map((c) => c.exit)).toEqual([...Array(unregisters.length - 1).fill(1), 0]);
    expect(unregisters.every((c) => c.argv.join(' ') === `unregistervm ${uuid} --delete`)).toBe(true);
    expect(await vms()).toBe('');
    expect((await vbox(sim, ['list', 'hdds'])).stdout).toBe('');
    expect((await vbox(sim, ['list', 'dvds'])).stdout).toBe('');
    expect(await findFiles(work, '.vdi')).toEqual([]);
    expect(await findFiles(work, '.iso')).toEqual([]);
    expect(existsSync(join(store, 'machines', 'node-g'))).toBe(false);
    expect(await simGuests(sim)).toEqual([]);
  });

  it('a create killed halfway is repaired by running it again', async () => {
    const from = calls(sim).length;
    const child = spawn(
      process.execPath,
      [bin, 'create', '--driver', 'virtualbox', ...imageFlags(), 'node-k'],
      {
        env: { ...process.env, ...simEnv(sim), SWARMUP_STORAGE_PATH: store },
        stdio: 'ignore',
      },
    );
    // Kill it as soon as the disk exists: the VM is registered, the disk cloned but not yet attached.
    await eventually(async () => argvs(from).some((a) => a[0] === 'clonemedium'), 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(await vms()).toMatch(/^"node-k" \{/);
    const r = await S(createArgs('node-k'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Removing VM node-k left by an interrupted create...');
    expect((await vms()).match(/^"node-k"/gm)).toHaveLength(1);
    expect((await vbox(sim, ['list', 'hdds'])).stdout.match(/^Location:/gm)).toHaveLength(1);
    expect((await S(['rm', '-y', 'node-k'])).code).toBe(0);
    expect(await vms()).toBe('');
    expect(await findFiles(store, '.vdi')).toEqual([]);
  });

  it('refuses a name that another VirtualBox VM already has, and leaves that VM alone', async () => {
    const other = join(work, 'elsewhere');
    expect((await vbox(sim, ['createvm', '--name', 'taken', '--basefolder', other, '--register'])).code).toBe(
      0,
    );
    const r = await S(createArgs('taken'));
    expect(r.code).toBe(3);
    expect(expectOneLineError(r)).toMatch(
      /^Error with pre-create check: a VirtualBox VM named "taken" already exists/,
    );
    expect(await vms()).toMatch(/^"taken" \{/);
    expect((await vbox(sim, ['unregistervm', 'taken', '--delete'])).code).toBe(0);
  });

  it('a --virtualbox-disk-size smaller than the image is refused in the pre-create check', async () => {
    const from = calls(sim).length;
    const r = await S(createArgs('--virtualbox-disk-size', '2000', 'node-s'));
    expect(r.code).toBe(3);
    expect(expectOneLineError(r)).toBe(
      "Error with pre-create check: --virtualbox-disk-size 2000 MB is smaller than the image's 2048 MB disk (VirtualBox cannot shrink a disk): give at least 2048",
    );
    expect(argvs(from)).toEqual([['--version'], ['showvminfo', 'node-s', '--machinereadable']]);
    expect(existsSync(join(store, 'machines', 'node-s'))).toBe(false);
  });
});

describe('cluster up --driver virtualbox --managers 1 --workers 2', () => {
  it('forms a swarm; the machines, created in parallel, share one host-only network made once', async () => {
    // A host without the host-only network: three creates in parallel must not make three.
    expect(
      (await vbox(sim, ['dhcpserver', 'remove', '--netname', 'HostInterfaceNetworking-vboxnet0'])).code,
    ).toBe(0);
    expect((await vbox(sim, ['hostonlyif', 'remove', 'vboxnet0'])).code).toBe(0);
    const from = calls(sim).length;
    const r = await S([
      'cluster',
      'up',
      'vb',
      '--driver',
      'virtualbox',
      ...imageFlags(),
      '--managers',
      '1',
      '--workers',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created.sort()).toEqual(['vb-manager-1', 'vb-worker-1', 'vb-worker-2']);
    expect(argvs(from).filter((a) => a[0] === 'hostonlyif' && a[1] === 'create')).toHaveLength(1);
    expect(argvs(from).filter((a) => a[0] === 'dhcpserver')).toHaveLength(1);
    expect(simState(sim).hostOnlyIfs.map((h) => `${h.name} ${h.ip}`)).toEqual(['vboxnet0 192.168.99.1']);
    const st = JSON.parse((await S(['cluster', 'status', 'vb', '--json'])).stdout);
    expect(
      st.nodes.map((n: { hostname: string; state: string }) => `${n.hostname}:${n.state}`).sort(),
    ).toEqual(['vb-manager-1:ready', 'vb-worker-1:ready', 'vb-worker-2:ready']);
    // Members talk over the host-only network: each advertises its 192.168.99.x address.
    const addrs = await dockerVia(
      'vb-manager-1',
      `node ls -q | xargs docker node inspect --format '{{.Status.Addr}}'`,
    );
    expect(addrs.code, addrs.stderr).toBe(0);
    const list = addrs.stdout.trim().split('\n');
    expect(list).toHaveLength(3);
    for (const a of list) expect(a).toMatch(/^192\.168\.99\.\d+$/);
    const labelled = simState(sim).vms.filter((v) => v.extra['swarmup/cluster'] === 'vb');
    expect(labelled.map((v) => `${v.name}:${v.extra['swarmup/role']}`).sort()).toEqual([
      'vb-manager-1:manager',
      'vb-worker-1:worker',
      'vb-worker-2:worker',
    ]);
  });

  it('cluster down from an empty store finds the VMs by their extra data and deletes them', async () => {
    const empty = join(work, 'empty-store');
    const r = await swarmup(empty, ['cluster', 'down', 'vb', '--driver', 'virtualbox'], simEnv(sim));
    expect(r.code, r.stderr).toBe(0);
    expect(await vms()).toBe('');
    await eventually(async () => (await simGuests(sim)).length === 0, 30_000);
    expect((await vbox(sim, ['list', 'hdds'])).stdout).toBe('');
    // The first store forgets its records too.
    const down = await S(['cluster', 'down', 'vb']);
    expect(down.code, down.stderr).toBe(0);
    expect((await S(['ls', '-q'])).stdout).toBe('');
    expect(await findFiles(store, '.vdi')).toEqual([]);
  });
});

describe('VirtualBox 7 on macOS: host-only networks (hostonlynet), not host-only adapters', () => {
  // Another VirtualBox (simulator home), one that is VirtualBox 7 on macOS; the driver is told the host
  // is macOS. Its guest is the bare lab VM, without Docker: provisioning installs it over SSH.
  let mac: string;
  const darwin = {
    VBOXSIM_HOST_OS: 'darwin',
    SWARMUP_VBOX_HOST_PLATFORM: 'darwin',
    VBOXSIM_GUEST_IMAGE: 'vm',
  };
  const M = (args: string[]) => swarmup(store, args, simEnv(mac, darwin));
  const V = (args: string[]) => vbox(mac, args, darwin);
  const NET = 'swarmup-192.168.97.0-24';

  beforeAll(async () => {
    mac = await makeSimHome(join(work, 'vbox-mac'));
  });
  afterAll(async () => {
    await M(['rm', '-y', 'mac-1']);
    await cleanupSim(mac);
  });

  it('create makes a host-only network and attaches NIC 2 to it; hardware flags; Docker installed on a bare guest', async () => {
    const r = await M(
      createArgs(
        ...['--virtualbox-hostonly-cidr', '192.168.97.1/24', '--virtualbox-memory', '2048'],
        ...[
          '--virtualbox-cpu-count',
          '2',
          '--virtualbox-disk-size',
          '30000',
          '--virtualbox-no-share',
          'mac-1',
        ],
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installing Docker from the distribution packages...');
    const seq = calls(mac);
    expect(seq.map((c) => c.argv)).toEqual([
      ['--version'],
      ['showvminfo', 'mac-1', '--machinereadable'],
      ['list', 'hostonlynets'],
      [
        ...['hostonlynet', 'add', '--name', NET, '--netmask', '255.255.255.0'],
        ...['--lower-ip', '192.168.97.1', '--upper-ip', '192.168.97.254', '--enable'],
      ],
      ...(await vmCalls(mac, 'mac-1', {
        nic2: ['hostonlynet', '--host-only-net2', NET],
        cpus: '2',
        memory: '2048',
        diskMb: '30000',
      })),
    ]);
    expect(seq.map((c) => c.exit)).toEqual([0, 1, ...Array(seq.length - 2).fill(0)]);
    expect((await V(['list', 'hostonlynets'])).stdout).toMatch(
      new RegExp(
        `^Name: +${NET}\\nGUID: .*\\n\\nState: +Enabled\\nNetworkMask: +255\\.255\\.255\\.0\\nLowerIP: +192\\.168\\.97\\.1\\nUpperIP: +192\\.168\\.97\\.254\\n`,
      ),
    );
    expect((await V(['showvminfo', 'mac-1', '--machinereadable'])).stdout).toContain(
      `hostonly-network2="${NET}"`,
    );
    // vmnet's DHCP server: the host has the lower address, the first guest the next one.
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'mac-1', 'config.json'), 'utf8'));
    expect(cfg.Driver).toMatchObject({ IPAddress: '192.168.97.2', HostOnlyNetwork: NET });
    expect(cfg.Driver.HostOnlyAdapter).toBeUndefined();
    const env = parseEnv((await M(['env', 'mac-1'])).stdout);
    expect(env.DOCKER_HOST).toBe('tcp://192.168.97.2:2376');
    const v = await bash('docker version --format {{.Server.Version}}', { ...env, DOCKER_CONFIG: work });
    expect(v.code, v.stderr).toBe(0);
  });

  it('a VM still on a host-only adapter (made before VirtualBox 7) is moved to the host-only network by start', async () => {
    expect((await M(['stop', 'mac-1'])).code).toBe(0);
    // As with VirtualBox, the VM's session is released a moment after it powers off: the user's own
    // VBoxManage call is refused as "locked" until then, and retried (the CI run hit that window).
    await eventually(
      async () => {
        const r = await V(['modifyvm', 'mac-1', '--nic2', 'hostonly', '--hostonlyadapter2', 'vboxnet0']);
        if (r.code !== 0 && !/locked/.test(r.stderr)) throw new Error(r.stderr);
        return r.code === 0;
      },
      30_000,
      'modifyvm once the session is released',
    );
    // As VirtualBox 7 on macOS does, it refuses to start such a VM.
    const refused = await V(['startvm', 'mac-1', '--type', 'headless']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('VBoxManage: error: Host-only adapters are no longer supported!');
    const uuid = simState(mac).vms[0].uuid;
    const from = calls(mac).length;
    const r = await M(['start', 'mac-1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('NIC 2 moves to a host-only network');
    expect(
      calls(mac)
        .slice(from)
        .map((c) => c.argv)
        .filter((a) => a[0] === 'modifyvm' || a[0].startsWith('hostonly') || a[0] === 'dhcpserver'),
    ).toEqual([['modifyvm', uuid, '--nic2', 'hostonlynet', '--host-only-net2', NET]]);
    expect((await M(['ls', '--format', '{{.Name}} {{.State}} {{.URL}}'])).stdout).toContain(
      'mac-1 Running tcp://192.168.97.2:2376\n',
    );
  });
});
