/**
 * The classic "Docker 1.12 swarm mode on Alibaba Cloud ECS" walkthrough (docker-machine with the
 * aliyunecs driver), pasted with only `docker-machine` renamed to `swarmup`: its block of exports as
 * printed there (DEBUG, the ECS_* variables with ECS_SSH_PASSWORD and ECS_UPGRADE_KERNEL, the
 * intranet install URL, the registry mirror), three `create -d aliyunecs`, the manager's address read
 * with `ssh node-1 ip addr show eth0`, `swarm init --advertise-addr` and the joins typed after
 * `swarmup ssh`, a service, then the load balancer: the user's own SLB (made beforehand with the SDK,
 * named by ECS_SLB_ID) wired by `swarmup lb sync --manager node-1`, traffic through it, and a cleanup
 * that leaves the SLB as the user made it.
 *
 * What differs from the walkthrough, and why: ECS_API_ENDPOINT points at the emulator, whose region
 * and zone are the walkthrough's; the keys and the password are filled in; MACHINE_DEBUG=1 is exported
 * so that the debug output is searched for the password too; the machines are node-1..3
 * (issue 11's names); the instances boot an image that has Docker, because the walkthrough's install
 * URL serves Aliyun's intranet only (swarmup records it, and the mirror reaches `docker info`, though
 * neither host answers here); nginx cannot be pulled, so the lab's httpd image is loaded over
 * `swarmup ssh` and published in host mode on port 80 (the ingress mesh does not forward in the lab).
 * Every line runs in bash with no terminal.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { labDocker, labDockerHost, labImages, labUp, vmContainer } from '../lab/lab.js';
import { userSlb, type UserSlb } from './user-slb.js';
import { eventually, scriptShell, tempDir, type Run } from './helpers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PASSWORD = 'Swarm-2016!';
const INSTALL_URL = 'http://acs-public-mirror.oss-cn-hangzhou.aliyuncs.com/docker-engine/intranet';
const MIRROR = 'https://6udu7vtl.mirror.aliyuncs.com';
const HTTPD = labImages.httpd;
const NODES = ['node-1', 'node-2', 'node-3'];

let emu: AliyunEmulator;
let slb: UserSlb;
let slbId = '';
let slbAddress = '';
let work: string;
let store: string;
let exports = '';
let sh: (cmd: string, input?: string) => Promise<Run>;
/** Everything the lines printed, stdout and stderr (debug lines included): no password in it. */
const printed: string[] = [];
/** The lab VMs behind the three instances (their containers must be gone at the end). */
let backingVms: string[] = [];

/** A line typed in the walkthrough's shell: its exports are in effect. */
async function line(cmd: string, input?: string): Promise<Run> {
  const r = await sh(`${exports}\n${cmd}`, input);
  printed.push(r.stdout, r.stderr);
  return r;
}

/** The line exits 0; its stdout. */
async function ok(cmd: string, input?: string): Promise<string> {
  const r = await line(cmd, input);
  expect(r.code, `${cmd}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

let managerIp = '';

/** Names of the lab engine's containers, running or not. */
const labContainers = async () =>
  (await labDocker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-walk-ali-');
  store = join(work, 'store');
  emu = await startAliyunEmulator({
    backing: { image: 'node' },
    regionId: 'cn-shenzhen',
    zoneId: 'cn-shenzhen-b',
    addressPrefix: '127.88.41.',
    healthCheckScale: 0.25,
  });
  slb = userSlb(emu);
  // The user's SLB, made beforehand in the console or with the SDK, with a listener of its own.
  ({ id: slbId, address: slbAddress } = await slb.make('swarm-lb', {
    port: 9000,
    description: 'ops listener',
  }));
  // The walkthrough's block, as printed (a trailing space and a comment included); the endpoint, the
  // SLB, the load balancer's health image and docker-machine's own debug switch (MACHINE_DEBUG; the
  // walkthrough's DEBUG=true is not it, and turns on no debug output here) are what this run adds.
  exports = [
    'export DEBUG=true ',
    `export ECS_ACCESS_KEY_ID=${emu.accessKeyId}`,
    `export ECS_ACCESS_KEY_SECRET=${emu.accessKeySecret}`,
    'export ECS_REGION=cn-shenzhen',
    'export ECS_ZONE=cn-shenzhen-b',
    'export ECS_INSTANCE_TYPE=ecs.s1.small',
    'export ECS_INTERNET_MAX_BANDWIDTH=100',
    `export ECS_SSH_PASSWORD=${PASSWORD}`,
    'export ECS_UPGRADE_KERNEL=true # 2016.09.02',
    `export MACHINE_DOCKER_INSTALL_URL=${INSTALL_URL}`,
    `export ENGINE_REGISTRY_MIRROR=${MIRROR}`,
    `export ECS_API_ENDPOINT=${emu.endpoint}`,
    `export ECS_SLB_ID=${slbId}`,
    `export SWARMUP_LB_HEALTH_IMAGE=${HTTPD}`,
    'export MACHINE_DEBUG=1',
  ].join('\n');
  sh = await scriptShell(work, {
    MACHINE_STORAGE_PATH: store,
    SWARMUP_STORAGE_PATH: '',
    DOCKER_HOST: labDockerHost,
    DOCKER_TLS_VERIFY: '',
    DOCKER_CERT_PATH: '',
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
});

afterAll(async () => {
  if (!emu) return;
  await line('swarmup lb rm --manager node-1');
  await line(`swarmup rm -f ${NODES.join(' ')}`);
  await emu.stop();
  await rm(work, { recursive: true, force: true });
});

describe('swarm mode on Alibaba Cloud ECS, the walkthrough as typed', () => {
  it('docker-machine create -d aliyunecs node-1, node-2, node-3', async () => {
    // Typed one after the other in the walkthrough; run side by side here, the lines unchanged.
    const made = await Promise.all(NODES.map((n) => line(`swarmup create -d aliyunecs ${n}`)));
    for (const r of made) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        'Setting the root password from --aliyunecs-ssh-password (ECS_SSH_PASSWORD); swarmup still logs in with its SSH key',
      );
      // One warning line for the variable swarmup does not act on.
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^Warning: swarmup does not act on --aliyunecs-upgrade-kernel \(ECS_UPGRADE_KERNEL: [^)]+\)$/,
      );
      // The debug output shows the call, with the password and the secret masked.
      expect(r.stderr).toMatch(/^\[debug\] CreateInstance \{.*"Password":"\*\*\*"/m);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).not.toContain(emu.accessKeySecret);
    }
    expect(await ok('swarmup ls -q')).toBe('node-1\nnode-2\nnode-3\n');
    // The exports reached the cloud: region, zone, instance type, bandwidth, the password.
    const creates = emu.requests().filter((q) => q.path === 'CreateInstance' || q.path === 'RunInstances');
    expect(creates).toHaveLength(3);
    for (const q of creates) {
      expect(q.params).toMatchObject({
        RegionId: 'cn-shenzhen',
        ZoneId: 'cn-shenzhen-b',
        InstanceType: 'ecs.s1.small',
        InternetMaxBandwidthOut: '100',
        Password: PASSWORD,
      });
    }
    backingVms = (emu.dump() as Json).instances.map((i: Json) => i.VmName as string);
    expect(backingVms).toHaveLength(3);
    expect(await labContainers()).toEqual(expect.arrayContaining(backingVms.map(vmContainer)));
    // Neither the keys nor the password are in the store.
    for (const f of await readdir(store, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const text = await readFile(join(f.parentPath, f.name), 'utf8');
      expect(text, join(f.parentPath, f.name)).not.toContain(PASSWORD);
      expect(text, join(f.parentPath, f.name)).not.toContain(emu.accessKeySecret);
    }
  });

  it('the install URL is recorded and the registry mirror configured, though neither answers here', async () => {
    expect(await ok(`swarmup inspect -f '{{.HostOptions.EngineOptions.InstallURL}}' node-1`)).toBe(
      `${INSTALL_URL}\n`,
    );
    for (const n of NODES) {
      expect(await ok(`docker $(swarmup config ${n}) info --format '{{json .RegistryConfig.Mirrors}}'`)).toBe(
        `["${MIRROR}/"]\n`,
      );
    }
  });

  it('docker-machine ssh node-1 ip addr show eth0; swarm init --advertise-addr; joins over ssh', async () => {
    const addr = await ok('swarmup ssh node-1 ip addr show eth0');
    managerIp = /inet ([\d.]+)\//.exec(addr)![1];
    expect(await ok(`swarmup inspect -f '{{.Driver.InternalIPAddress}}' node-1`)).toBe(`${managerIp}\n`);
    const init = await ok(`swarmup ssh node-1 docker swarm init --advertise-addr ${managerIp}`);
    expect(init).toMatch(/^Swarm initialized: current node \(\w+\) is now a manager\./);
    const token = /docker swarm join --token (\S+) /.exec(init)![1];
    expect((await ok('swarmup ssh node-1 docker swarm join-token -q worker')).trim()).toBe(token);
    for (const n of ['node-2', 'node-3']) {
      expect(await ok(`swarmup ssh ${n} docker swarm join --token ${token} ${managerIp}:2377`)).toBe(
        'This node joined a swarm as a worker.\n',
      );
    }
    // `docker-machine ssh node-1`, then `docker node ls` typed at its prompt.
    const ls = await ok(
      'swarmup ssh node-1',
      "docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'\n",
    );
    expect(ls.split('\n').filter((l) => / Ready /.test(l)).length).toBe(3);
    expect(ls).toMatch(/ Ready Leader\n/);
  });

  it('a service on port 80, scaled as the walkthrough scales it', async () => {
    for (const n of NODES) {
      expect(await ok(`docker save ${HTTPD} | swarmup ssh ${n} docker load`)).toContain(
        `Loaded image: ${HTTPD}`,
      );
    }
    await ok(
      `swarmup ssh node-1 docker service create -d --name nginx -p mode=host,published=80,target=80 ${HTTPD}`,
    );
    expect(await ok('swarmup ssh node-1 docker service scale -d nginx=3')).toContain('nginx scaled to 3');
    await eventually(
      async () =>
        (await line(`swarmup ssh node-1 "docker service ls --format '{{.Name}} {{.Replicas}}'"`)).stdout ===
        'nginx 3/3\n',
      120_000,
      'nginx 3/3',
    );
  });

  it('lb sync --manager node-1 wires the user’s SLB (ECS_SLB_ID); traffic flows through it', async () => {
    const r = await line('swarmup lb sync --manager node-1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('+ create listener tcp/80');
    expect(r.stdout).not.toContain('create load-balancer');
    expect(r.stderr).toContain(`Load balancer ${slbId} (${slbAddress}) is in sync: 1 listener`);
    expect(await slb.listeners(slbId)).toEqual(['tcp/80 swarmup/node-1/nginx', 'tcp/9000 ops listener']);
    const ids = (
      await Promise.all(NODES.map((n) => ok(`swarmup inspect -f '{{.Driver.InstanceId}}' ${n}`)))
    ).map((s) => s.trim());
    expect(await slb.backends(slbId)).toEqual([...ids].sort());
    await eventually(
      async () =>
        (await line(`curl -s --max-time 2 http://${slbAddress}/`)).stdout.includes('swarmup-lab httpd OK'),
      90_000,
      'traffic through the SLB',
    );
    expect((await line('swarmup lb sync --manager node-1')).stdout).toBe('No changes.\n');
  });

  it('lb rm --manager node-1; rm -y node-1 node-2 node-3: the SLB stays as the user made it', async () => {
    const r = await line('swarmup lb rm --manager node-1');
    expect(r.code, r.stderr).toBe(0);
    expect(await slb.listeners(slbId)).toEqual(['tcp/9000 ops listener']);
    expect(await slb.backends(slbId)).toEqual([]);
    const gone = await line(`swarmup rm -y ${NODES.join(' ')}`);
    expect(gone.code, gone.stderr).toBe(0);
    expect(await ok('swarmup ls -q')).toBe('');
    const d = emu.dump() as Json;
    expect(d.instances).toEqual([]);
    expect(d.securityGroups).toEqual([]);
    expect(d.keyPairs).toEqual([]);
    expect(d.loadBalancers.map((lb: Json) => lb.LoadBalancerId)).toEqual([slbId]);
    // The instances' lab VMs go once the cloud has deleted them.
    await eventually(
      async () => !(await labContainers()).some((c) => backingVms.map(vmContainer).includes(c)),
      60_000,
      'the instances’ lab VMs removed',
    );
  });

  it('the password was never printed, debug output included', () => {
    expect(printed.join('')).toContain('[debug] CreateInstance');
    expect(printed.filter((p) => p.includes(PASSWORD))).toEqual([]);
  });
});
