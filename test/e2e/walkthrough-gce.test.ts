/**
 * The classic "Docker swarm mode on Google Cloud" walkthrough (docker-machine 0.8, Docker 1.12), pasted
 * with only `docker-machine` renamed to `swarmup`: two `create -d google` lines, typed as the
 * walkthrough prints them (backslash continuations) and run side by side with
 * `&` and `wait` as its companion script does, `eval $(swarmup env swarm-manager)` and
 * `docker swarm init`, the manager's internal address read on the machine (the walkthrough used
 * `gcloud compute instances list`, which needs a real project), the join typed after
 * `swarmup ssh swarm-worker-1` (the google SSH user is the non-root docker-user), a service, and the
 * network load balancer the walkthrough clicked together in the console made by
 * `swarmup lb sync --manager swarm-manager`. Then `lb rm`, `rm -y`, and nothing left in the cloud.
 *
 * What differs from the walkthrough, and why: the emulator's endpoint is exported (GOOGLE_ENDPOINT) and
 * its project is the one passed to --google-project; `--engine-install-url experimental.docker.com`
 * is left out (that channel is gone; the VMs get the distribution's docker.io); nginx cannot be pulled
 * here, so the lab's httpd image is loaded over `swarmup ssh` and published in host mode on port 80
 * (the swarm's ingress mesh does not forward in the lab); the load balancer's health service uses the
 * same image (SWARMUP_LB_HEALTH_IMAGE). Every line runs in bash with no terminal.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { labDocker, labDockerHost, labImages, labUp, vmContainer } from '../lab/lab.js';
import { eventually, scriptShell, tempDir, type Run } from './helpers.js';

const PROJECT = 'swarm-walkthrough';
const ZONE = 'us-central1-f';
const HTTPD = labImages.httpd;

let emu: GceEmulator;
let work: string;
let line: (cmd: string, input?: string) => Promise<Run>;

/** The line exits 0; its stdout. */
async function ok(cmd: string): Promise<string> {
  const r = await line(cmd);
  expect(r.code, `${cmd}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The walkthrough's create line for one machine, as printed there (minus the install URL). */
const create = (name: string) => `swarmup create ${name} \\
    -d google \\
    --google-machine-type n1-standard-1 \\
    --google-zone ${ZONE} \\
    --google-disk-size 500 \\
    --google-tags swarm-cluster \\
    --google-project ${PROJECT}`;

let managerIp = '';
let token = '';
let lbAddress = '';
/** The lab VMs behind the two instances (their containers must be gone at the end). */
let backingVms: string[] = [];

/** Names of the lab engine's containers, running or not. */
const labContainers = async () =>
  (await labDocker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-walk-gce-');
  emu = await startGceEmulator({
    backing: { image: 'vm' },
    project: PROJECT,
    zones: [ZONE],
    addressPrefix: '127.77.41.',
    healthCheckScale: 0.25,
  });
  line = await scriptShell(work, {
    MACHINE_STORAGE_PATH: join(work, 'store'),
    SWARMUP_STORAGE_PATH: '',
    GOOGLE_ENDPOINT: emu.endpoint,
    SWARMUP_LB_HEALTH_IMAGE: HTTPD,
    DOCKER_HOST: labDockerHost,
    DOCKER_TLS_VERIFY: '',
    DOCKER_CERT_PATH: '',
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
});

afterAll(async () => {
  if (!emu) return;
  await line('swarmup lb rm --manager swarm-manager');
  await line('swarmup rm -f swarm-manager swarm-worker-1');
  await emu.stop();
  await rm(work, { recursive: true, force: true });
});

describe('swarm mode on Google Cloud, the walkthrough as typed', () => {
  it('docker-machine create swarm-manager and swarm-worker-1 -d google ..., side by side', async () => {
    const r = await line(`${create('swarm-manager')} &\n${create('swarm-worker-1')} &\nwait`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/error/i);
    expect(await ok('swarmup ls -q')).toBe('swarm-manager\nswarm-worker-1\n');
    for (const m of ['swarm-manager', 'swarm-worker-1']) {
      expect(await ok(`swarmup status ${m}`)).toBe('Running\n');
      expect(await ok(`swarmup inspect -f '{{.DriverName}} {{.Driver.Zone}}' ${m}`)).toBe(`google ${ZONE}\n`);
    }
    // `ls` with a short --timeout, as CI scripts run it: the clock counts the machines' answers, not the
    // seconds the Google SDK takes to load on a busy host (3-4 s measured here under load).
    expect(await ok(`swarmup ls --timeout 3 --format '{{.Name}} {{.State}} [{{.Error}}]'`)).toBe(
      'swarm-manager Running []\nswarm-worker-1 Running []\n',
    );
    const d = emu.dump() as {
      instances: Array<{ name: string; machineType: string; tags?: { items?: string[] } }>;
    };
    for (const i of d.instances) {
      expect(i.machineType).toMatch(new RegExp(`/zones/${ZONE}/machineTypes/n1-standard-1$`));
      expect(i.tags?.items).toContain('swarm-cluster');
    }
    expect(d.instances.map((i) => i.name).sort()).toEqual(['swarm-manager', 'swarm-worker-1']);
    backingVms = (emu.dump() as { backingVms: string[] }).backingVms;
    expect(backingVms).toHaveLength(2);
    expect(await labContainers()).toEqual(expect.arrayContaining(backingVms.map(vmContainer)));
  });

  it('eval $(docker-machine env swarm-manager); docker swarm init', async () => {
    const r = await line('eval $(swarmup env swarm-manager)\ndocker swarm init');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Swarm initialized: current node \(\w+\) is now a manager\./);
    const join = /docker swarm join --token (\S+) ([\d.]+):2377/.exec(r.stdout);
    expect(join, r.stdout).not.toBeNull();
    // The walkthrough looks the manager's internal address up; here it is read on the machine itself.
    const addr = await ok('swarmup ssh swarm-manager ip -4 -o addr show eth0');
    managerIp = /inet ([\d.]+)\//.exec(addr)![1];
    expect(join![2]).toBe(managerIp);
    token = (await ok('eval $(swarmup env swarm-manager)\ndocker swarm join-token -q worker')).trim();
    expect(token).toBe(join![1]);
  });

  it('the worker joins over ssh, as the non-root docker-user', async () => {
    expect(await ok('swarmup ssh swarm-worker-1 id -un')).toBe('docker-user\n');
    expect(await ok(`swarmup ssh swarm-worker-1 docker swarm join --token ${token} ${managerIp}:2377`)).toBe(
      'This node joined a swarm as a worker.\n',
    );
    expect(
      await ok(
        `eval $(swarmup env swarm-manager)\ndocker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'`,
      ),
    ).toMatch(/^\S+ Ready (Leader|)\n\S+ Ready (Leader|)\n$/);
  });

  it('a service published on port 80 of every node', async () => {
    // No registry here: the image comes from the lab engine, piped into each machine's docker load.
    for (const m of ['swarm-manager', 'swarm-worker-1']) {
      expect(await ok(`docker save ${HTTPD} | swarmup ssh ${m} docker load`)).toContain(
        `Loaded image: ${HTTPD}`,
      );
    }
    await ok(
      `eval $(swarmup env swarm-manager)\ndocker service create -d --mode global -p mode=host,published=80,target=80 --name nginx ${HTTPD}`,
    );
    await eventually(
      async () =>
        (
          await line(
            `eval $(swarmup env swarm-manager)\ndocker service ls --format '{{.Name}} {{.Replicas}}'`,
          )
        ).stdout === 'nginx 2/2\n',
      120_000,
      'nginx on both nodes',
    );
  });

  it('the load balancer: swarmup lb sync --manager swarm-manager, then traffic through the forwarding rule', async () => {
    const r = await line('swarmup lb sync --manager swarm-manager');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('+ create forwarding-rule swarmup-swarm-manager-tcp80');
    const inSync = /Load balancer of manager "swarm-manager" is in sync: ([\d.]+), 1 forwarding rule/.exec(
      r.stderr,
    );
    expect(inSync, r.stderr).not.toBeNull();
    lbAddress = inSync![1];
    // What the walkthrough read with `gcloud compute forwarding-rules list`.
    const status = JSON.parse(await ok('swarmup lb status --manager swarm-manager --json')) as {
      address: string;
    };
    expect(status.address).toBe(lbAddress);
    await eventually(
      async () =>
        (await line(`curl -s --max-time 2 http://${lbAddress}/`)).stdout.includes('swarmup-lab httpd OK'),
      90_000,
      'traffic through the forwarding rule',
    );
    expect((await line('swarmup lb sync --manager swarm-manager')).stdout).toBe('No changes.\n');
  });

  it('swarmup lb rm --manager swarm-manager; swarmup rm -y swarm-manager swarm-worker-1: nothing left', async () => {
    const r = await line('swarmup lb rm --manager swarm-manager');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Removed the load balancer of manager "swarm-manager".');
    expect((await line(`curl -s --max-time 2 http://${lbAddress}/`)).code).not.toBe(0);
    const gone = await line('swarmup rm -y swarm-manager swarm-worker-1');
    expect(gone.code, gone.stderr).toBe(0);
    expect(await ok('swarmup ls -q')).toBe('');
    expect(await readdir(join(work, 'store', 'machines'))).toEqual([]);
    // Nothing left in the cloud: no instance, firewall, target pool, forwarding rule, address or
    // health check; and no lab VM behind a deleted instance.
    const d = emu.dump() as Record<string, unknown[]>;
    for (const kind of [
      'instances',
      'firewalls',
      'targetPools',
      'forwardingRules',
      'addresses',
      'httpHealthChecks',
      'backingVms',
    ])
      expect(d[kind], kind).toEqual([]);
    expect(emu.resourceCount()).toBe(0);
    const left = (await labContainers()).filter((c) => backingVms.map(vmContainer).includes(c));
    expect(left).toEqual([]);
  });
});
