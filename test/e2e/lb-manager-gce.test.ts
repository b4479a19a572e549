/**
 * `lb sync|status|rm --manager` on the GCE emulator, the way the swarm-mode-on-GCE walkthrough goes:
 * two machines made one by one with `swarmup create -d google` (lab VMs behind the instances, Docker
 * installed over SSH), a swarm made by hand through `swarmup env` and the docker CLI, a host-mode
 * service, then the load balancer named after the manager machine. The health service's image cannot
 * be pulled at first (busybox:1.36, no registry here): sync and status say why and fail; with an image
 * the nodes have, traffic flows through the forwarding rule. `lb rm --manager` and `rm -y` leave zero.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { startGceEmulator, type GceEmulator } from '../emulators/gce/index.js';
import { labImages, labUp } from '../lab/lab.js';
import { bash, eventually, expectOneLineError, swarmup, tempDir, type Run } from './helpers.js';
import { handMadeSwarm, internalIp } from './hand-swarm.js';

const M = 'swarm-manager';
const W = 'swarm-worker-1';
const PORT = 18121;
const ZONE = 'us-central1-f';

let emu: GceEmulator;
let store: string;
let work: string;

/** The walkthrough's variables point at the emulator. */
const gEnv = () => ({ GOOGLE_ENDPOINT: emu.endpoint, GOOGLE_PROJECT: emu.project });
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> =>
  swarmup(store, args, { ...gEnv(), ...extra });
const good = { SWARMUP_LB_HEALTH_IMAGE: labImages.httpd };

interface Dump {
  addresses: Array<{ name: string; address: string; labels?: Record<string, string> }>;
  firewalls: Array<{ name: string; targetTags?: string[]; description?: string }>;
  targetPools: Array<{ name: string; instances?: string[] }>;
  forwardingRules: Array<{ name: string; IPAddress: string }>;
  instances: Array<{ name: string; tags?: { items?: string[] } }>;
}
const dump = () => emu.dump() as Dump;

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-lbm-gce-');
  store = join(work, 'store');
  emu = await startGceEmulator({ backing: { image: 'vm' }, healthCheckScale: 0.25, zones: [ZONE] });
  await Promise.all(
    [M, W].map(async (m) => {
      const r = await cli([
        'create',
        '-d',
        'google',
        '--google-machine-type',
        'n1-standard-1',
        '--google-zone',
        ZONE,
        '--google-disk-size',
        '500',
        '--google-tags',
        'swarm-cluster',
        m,
      ]);
      if (r.code !== 0) throw new Error(`create ${m}: ${r.stderr}`);
    }),
  );
  await handMadeSwarm({
    sw: (a) => cli(a),
    work,
    manager: M,
    workers: [W],
    port: PORT,
    advertise: internalIp((a) => cli(a)),
  });
}, 900_000);

afterAll(async () => {
  if (!emu) return;
  await cli(['lb', 'rm', '--manager', M], good).catch(() => undefined);
  await cli(['rm', '-y', '-f', M, W]).catch(() => undefined);
  await emu.stop();
});

describe('lb --manager on a hand-made swarm of google machines (GCE emulator)', () => {
  it('a health image the nodes cannot pull: sync applies, then says why no backend can be healthy, and fails', async () => {
    const r = await cli(['lb', 'sync', '--manager', M]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(`+ create forwarding-rule swarmup-${M}-tcp${PORT}`);
    expect(r.stdout).toContain('+ create swarm-service swarmup-lb-health');
    const line = expectOneLineError(r);
    expect(line).toMatch(
      /^health service: 2 tasks (rejected|failed): .+ — set SWARMUP_LB_HEALTH_IMAGE or load the image$/,
    );
    expect(line).toContain('busybox:1.36');
    const st = await cli(['lb', 'status', '--manager', M]);
    expect(st.code).not.toBe(0);
    expect(st.stdout).toMatch(/^Health service: 2 tasks (rejected|failed): /m);
    expect(expectOneLineError(st)).toBe(line);
  });

  it('with an image the nodes have: in sync, firewall on the machines’ own tags, labels name the manager, traffic flows', async () => {
    const r = await cli(['lb', 'sync', '--manager', M], good);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('~ update swarm-service swarmup-lb-health');
    expect(r.stderr).toMatch(
      new RegExp(`Load balancer of manager "${M}" is in sync: 127\\.77\\.0\\.\\d+, 1 forwarding rule`),
    );
    const d = dump();
    const fw = d.firewalls.find((f) => f.name === `swarmup-${M}-lb`)!;
    expect(fw.targetTags?.sort()).toEqual([`swarmup-m-${M}`, `swarmup-m-${W}`]);
    const pool = d.targetPools.find((p) => p.name === `swarmup-${M}-lb`)!;
    expect(pool.instances?.map((i) => i.replace(/^.*\/zones\//, 'zones/')).sort()).toEqual([
      `zones/${ZONE}/instances/${M}`,
      `zones/${ZONE}/instances/${W}`,
    ]);
    const address = d.addresses.find((a) => a.name === `swarmup-${M}-lb`)!;
    expect(address.labels).toMatchObject({ 'swarmup-cluster': M, 'swarmup-role': 'lb' });
    await eventually(
      async () =>
        (await bash(`curl -s --max-time 2 http://${address.address}:${PORT}/`)).stdout.includes(
          'swarmup-lab httpd OK',
        ),
      90_000,
      'traffic through the forwarding rule',
    );
    await eventually(
      async () => {
        const s = await cli(['lb', 'status', '--manager', M, '--json'], good);
        const j = JSON.parse(s.stdout) as { healthyBackends: number | null; inSync: boolean };
        return s.code === 0 && j.inSync && j.healthyBackends === 2;
      },
      90_000,
      'two healthy backends',
    );
    emu.resetLog();
    const again = await cli(['lb', 'sync', '--manager', M], good);
    expect(again.stdout).toBe('No changes.\n');
    expect(emu.requests().filter((e) => e.mutating)).toEqual([]);
  });

  it('lb rm --manager, then rm -y of the machines: nothing is left in the emulator', async () => {
    const r = await cli(['lb', 'rm', '--manager', M], good);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`- delete forwarding-rule swarmup-${M}-tcp${PORT}`);
    expect(r.stderr).toContain(`Removed the load balancer of manager "${M}".`);
    expect(dump().forwardingRules).toEqual([]);
    expect(dump().firewalls.filter((f) => f.name.startsWith(`swarmup-${M}-`))).toEqual([]);
    const rm = await cli(['rm', '-y', M, W]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(emu.resourceCount()).toBe(0);
  });
});
