/**
 * The classic "swarm mode on VirtualBox" walkthrough, pasted with only docker-machine renamed: three
 * `create --driver virtualbox`, `docker swarm init` and `join` typed after `swarmup ssh NAME` with
 * their own options (no "--"), `docker node ls`, `rm -y`. The lines run in bash with no terminal;
 * VirtualBox is the VBoxManage simulator (test/vbox-sim), whose VMs are lab VMs on a host-only network.
 * The image comes from docker-machine-style variables (VIRTUALBOX_IMAGE_URL/_CHECKSUM), so the create
 * lines are exactly the walkthrough's.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labUp } from '../lab/lab.js';
import { buildSimulator, cleanupSim, makeSimHome, simEnv, simGuests } from '../vbox-sim/index.js';
import { scriptShell, tempDir, type Run } from './helpers.js';

let work: string;
let sim: string;
let line: (cmd: string) => Promise<Run>;

async function ok(cmd: string): Promise<string> {
  const r = await line(cmd);
  expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  await labUp();
  await buildSimulator();
  work = await tempDir('swarmup-vbox-walk-');
  sim = await makeSimHome(join(work, 'vbox'));
  // The host-only range a VirtualBox 6.1.28+ host must allow (/etc/vbox/networks.conf).
  await writeFile(join(sim, 'networks.conf'), '* 192.168.99.0/24\n');
  // A small stand-in for the cloud image: a sparse VMDK header declaring a 2 GiB disk.
  const img = Buffer.alloc(1 << 20);
  img.write('KDMV', 0, 'latin1');
  img.writeUInt32LE(3, 4);
  img.writeBigUInt64LE(BigInt(2 ** 31 / 512), 12);
  const image = join(work, 'cloud.vmdk');
  await writeFile(image, img);
  line = await scriptShell(
    work,
    simEnv(sim, {
      MACHINE_STORAGE_PATH: join(work, 'store'),
      SWARMUP_STORAGE_PATH: '',
      VIRTUALBOX_IMAGE_URL: pathToFileURL(image).href,
      VIRTUALBOX_IMAGE_CHECKSUM: `sha256:${createHash('sha256').update(img).digest('hex')}`,
      DOCKER_HOST: '',
    }),
  );
});

afterAll(async () => {
  await line('swarmup rm -f v1 v2 v3');
  await cleanupSim(sim);
  await rm(work, { recursive: true, force: true });
});

describe('swarm mode on VirtualBox, the walkthrough as typed', () => {
  it('docker-machine create --driver virtualbox v1, v2, v3', async () => {
    // Typed one after the other in the walkthrough; run side by side here, the lines unchanged.
    const made = await Promise.all(
      ['v1', 'v2', 'v3'].map((n) => line(`swarmup create --driver virtualbox ${n}`)),
    );
    for (const r of made) expect(r.code, r.stderr).toBe(0);
    expect(await ok('swarmup ls -q')).toBe('v1\nv2\nv3\n');
    expect(await simGuests(sim)).toHaveLength(3);
  });

  it('init on v1 at its host-only address, join v2 and v3, three Ready nodes', async () => {
    const ip = (await ok('swarmup ip v1')).trim();
    expect(ip).toMatch(/^192\.168\.99\.\d+$/);
    // The walkthrough reads it inside the VM too.
    expect(await ok('swarmup ssh v1 ip -4 -o addr show enp0s8')).toContain(`inet ${ip}/24`);
    const init = await line(`swarmup ssh v1 docker swarm init --listen-addr ${ip} --advertise-addr ${ip}`);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Swarm initialized: current node');
    const join = /docker swarm join --token (\S+) (\S+:2377)/.exec(init.stdout)!;
    expect(join[2]).toBe(`${ip}:2377`);
    for (const n of ['v2', 'v3']) {
      expect(await ok(`swarmup ssh ${n} docker swarm join --token ${join[1]} ${ip}:2377`)).toContain(
        'This node joined a swarm as a worker.',
      );
    }
    expect(
      await ok(`swarmup ssh v1 "docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'"`),
    ).toBe('v1 Ready Leader\nv2 Ready \nv3 Ready \n');
    expect(await ok(`eval $(swarmup env v1); docker node ls -q | wc -l`)).toBe('3\n');
  });

  it('scp from v1 to v2: two forwarded SSH ports, each machine with its own pinned host key', async () => {
    await ok(`swarmup ssh v1 'echo from v1 > /tmp/hop.txt'`);
    await ok('swarmup scp v1:/tmp/hop.txt v2:/tmp/hop.txt');
    expect(await ok('swarmup ssh v2 cat /tmp/hop.txt')).toBe('from v1\n');
  });

  it('docker-machine rm -y v1 v2 v3', async () => {
    expect(await ok('swarmup rm -y v1 v2 v3')).toBe('');
    expect(await ok('swarmup ls -q')).toBe('');
    expect(await readdir(join(work, 'store', 'machines'))).toEqual([]);
    expect(await simGuests(sim)).toEqual([]);
  });
});
