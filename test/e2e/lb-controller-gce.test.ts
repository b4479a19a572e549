/**
 * `swarmup lb controller` on the GCE emulator, which here checks credentials as Google does (OAuth
 * tokens from its metadata server or from its service-account keys) and listens on the lab network
 * so that the controller, a container inside a lab VM's engine, reaches it. A 1+2 cluster whose VMs
 * have the compute scope; the controller installed from an image built from this checkout; then,
 * with no swarmup process on the host, the docker CLI alone: a published port gets a forwarding rule
 * that carries traffic, `--publish-rm` takes it away, draining the controller's node moves it and it
 * keeps reconciling (the old task ends on SIGTERM with exit 0), throttling (429, 503) is retried
 * with growing waits. The controller switches to a service-account key kept as a swarm secret (never
 * shown in the service, its logs or swarmup's debug output), a key the cloud does not know is refused
 * and said so, `lb sync` from the host never fights it, and `cluster down` leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGceEmulator, type GceEmulator, type ServiceAccountKeyJson } from '../emulators/gce/index.js';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import { bash, eventually, expectOneLineError, swarmup, tempDir } from './helpers.js';
import { ControllerCluster, expectBackoff, expectNoSecrets, ok, pemPieces } from './controller.js';

const CLUSTER = 'ctlg';
const P1 = 18511;
const P2 = 18513;
const P3 = 18515;
const P4 = 18517;
/** The lab network's gateway: this host, as the lab VMs reach it. */
const HOST = '172.29.0.1';
const WAIT = 90_000;

let emu: GceEmulator;
let store: string;
let work: string;
let key: ServiceAccountKeyJson;
let keyFile: string;
let c: ControllerCluster;

const env = (): NodeJS.ProcessEnv => ({
  GOOGLE_APPLICATION_CREDENTIALS: keyFile,
  GCE_METADATA_HOST: emu.metadataHost,
  SWARMUP_LB_HEALTH_IMAGE: labImages.httpd,
  DOCKER_HOST: labDockerHost,
});
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => swarmup(store, args, { ...env(), ...extra });

interface Rule {
  name: string;
  IPAddress: string;
  portRange: string;
}
const rules = () => (emu.dump() as { forwardingRules: Rule[] }).forwardingRules;
const ruleFor = (port: number) => rules().find((r) => r.name === `swarmup-${CLUSTER}-tcp${port}`);
const page = async (port: number) => {
  const r = ruleFor(port);
  return (
    !!r && (await bash(`curl -s --max-time 2 http://${r.IPAddress}:${port}/`)).stdout.includes('httpd OK')
  );
};

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-ctl-gce-');
  store = join(work, 'store');
  emu = await startGceEmulator({
    backing: { image: 'vm' },
    healthCheckScale: 0.25,
    host: HOST,
    auth: 'required',
    metadata: { host: HOST },
  });
  key = emu.createServiceAccountKey();
  keyFile = join(work, 'key.json');
  await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  c = new ControllerCluster(cli, CLUSTER, store, work);
  await c.up([
    '--driver',
    'google',
    '--google-endpoint',
    emu.endpoint,
    '--google-project',
    emu.project,
    '--google-scopes',
    'https://www.googleapis.com/auth/compute',
  ]);
}, 900_000);

afterAll(async () => {
  if (!emu) return;
  await cli(['cluster', 'down', CLUSTER]).catch(() => undefined);
  await emu.stop();
});

describe('lb controller on the GCE emulator (credentials checked, lab VMs)', () => {
  it('bad flags are one line; install uses the VMs’ service account, and re-running changes nothing', async () => {
    const local = await c.install('--credentials', 'bogus');
    expect(expectOneLineError(local)).toMatch(/--credentials must be instance or secret/);
    const r = ok(await c.install());
    expect(r.stderr).toMatch(/Loading swarmup-e2e\/lb-controller:test .* into /);
    expect(r.stderr).toMatch(
      /Controller swarmup-lb-controller installed on ctlg-manager-1 .*credentials: instance/,
    );
    const s = await c.status();
    expect(s.service.credentials).toBe('instance');
    expect(s.task.state).toBe('running');
    expect(s.lease.holder).toBe(s.task.name);
    expect(s.status.ok).toBe(true);
    // The controller's token came from the metadata server, for the manager's service account.
    expect(
      emu.authEvents().some((e) => e.via === 'metadata' && e.principal.startsWith('instance:ctlg-manager-1')),
    ).toBe(true);
    // Re-running changes nothing.
    const again = ok(await c.install());
    expect(again.stderr).toMatch(/is already installed/);
    expect(again.stderr).not.toMatch(/Loading|Updating/);
  });

  it('with no swarmup process: a published port gets a forwarding rule that carries traffic', async () => {
    const since = Date.now();
    await c.publish('web', P1);
    await eventually(() => page(P1), WAIT, `traffic through the forwarding rule of tcp/${P1}`);
    await c.expectNoSwarmup();
    const made = emu.requests().filter((e) => e.at >= since && e.mutating);
    expect(made.length).toBeGreaterThan(0);
    expect(
      made
        .filter((e) => !e.principal?.startsWith('instance:ctlg-manager-1'))
        .map((e) => `${e.method} ${e.path} ${e.principal}`),
    ).toEqual([]);
    expect(await c.logs()).toMatch(new RegExp(`create forwarding-rule swarmup-ctlg-tcp${P1}`));
  });

  it('docker service update --publish-rm takes the rule away', async () => {
    await c.expectNoSwarmup();
    ok(await c.docker(`service update -d --publish-rm mode=host,published=${P1},target=80 web`));
    await eventually(async () => !ruleFor(P1), WAIT, `the rule of tcp/${P1} removed`);
    expect(await page(P1)).toBe(false);
    expect(await c.logs()).toMatch(new RegExp(`delete forwarding-rule swarmup-ctlg-tcp${P1}`));
  });

  it('cloud throttling (429, then 503) is retried with growing waits, and the change lands', async () => {
    const since = Date.now();
    emu.inject({ kind: 'status', status: 429, count: 2, match: '/forwardingRules', method: 'POST' });
    emu.inject({ kind: 'status', status: 503, count: 2, match: '/forwardingRules', method: 'POST' });
    await c.publish('busy', P4);
    await eventually(() => page(P4), WAIT, `traffic through the rule of tcp/${P4} after throttling`);
    await c.expectNoSwarmup();
    const posts = emu
      .requests()
      .filter((e) => e.at >= since && e.method === 'POST' && e.path.endsWith('/forwardingRules'));
    expect(posts.every((e) => e.principal?.startsWith('instance:ctlg-manager-1'))).toBe(true);
    expectBackoff(posts, [429, 429, 503, 503, 200], 150);
    ok(await c.docker('service rm busy'));
    await eventually(async () => !ruleFor(P4), WAIT, `the rule of tcp/${P4} removed with its service`);
  });

  it('draining the controller’s node moves it to another manager, which keeps reconciling', async () => {
    await c.drainControllerTo('ctlg-worker-1');
    await c.publish('api', P2);
    await eventually(() => page(P2), WAIT, `traffic through the rule of tcp/${P2} after the move`);
    // The drained node left the pool.
    const pool = (emu.dump() as { targetPools: Array<{ instances?: string[] }> }).targetPools[0];
    expect((pool.instances ?? []).some((i) => i.endsWith('/ctlg-manager-1'))).toBe(false);
  });

  it('a service-account key as a swarm secret: used, and never shown in the service, its logs or debug output', async () => {
    const r = ok(await c.install('--debug', '--credentials', 'secret'));
    // From here on only the new task runs (stop-first), and it has synced once.
    const since = Date.now();
    expect(r.stderr).toMatch(/Controller swarmup-lb-controller updated .*credentials: key/);
    ok(await c.docker(`service update -d --publish-rm mode=host,published=${P2},target=80 api`));
    await eventually(async () => !ruleFor(P2), WAIT, `the rule of tcp/${P2} removed`);
    const made = emu.requests().filter((e) => e.at >= since && e.mutating);
    expect(made.length).toBeGreaterThan(0);
    expect(
      made
        .filter((e) => e.principal !== `key:${key.client_email}`)
        .map((e) => `${e.method} ${e.path} ${e.principal}`),
    ).toEqual([]);
    const inspect = ok(await c.docker('service inspect swarmup-lb-controller')).stdout;
    expect(inspect).toMatch(/swarmup-lb-controller-google-key-/);
    const secrets = [...pemPieces(key.private_key), key.private_key_id];
    expectNoSecrets(
      {
        'docker service inspect': inspect,
        'controller logs': await c.logs(),
        'swarmup --debug': r.stdout + r.stderr,
      },
      secrets,
    );
    for (const text of [inspect, await c.logs(), r.stderr]) expect(text).not.toMatch(/ya29\./);
  });

  it('a key the cloud does not know is refused, and the controller says so', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = {
      ...key,
      private_key_id: 'f'.repeat(40),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const bad = join(work, 'forged.json');
    await writeFile(bad, JSON.stringify(forged), { mode: 0o600 });
    const r = await c.install('--credentials', 'secret', '--google-key-file', bad);
    expect(expectOneLineError(r)).toMatch(/its sync fails: .*refused .*invalid_grant/);
    const s = await c.status();
    expect(s.status.ok).toBe(false);
    expect(s.status.lastError).toMatch(/invalid_grant: Invalid grant: account not found/);
    expect(await c.logs()).toMatch(/sync failed: .*invalid_grant.*; retrying in/);
    expect(emu.authEvents().some((e) => e.via === 'token' && e.status === 400)).toBe(true);
    // Back to the instance's account.
    ok(await c.install('--credentials', 'instance'));
    expect((await c.status()).status.ok).toBe(true);
  });

  it('lb sync from the host never fights the controller: a plan only, no --watch, no lb rm', async () => {
    await c.publish('www', P3);
    await eventually(() => page(P3), WAIT, `traffic through the rule of tcp/${P3}`);
    const before = emu.requests().length;
    const sync = ok(await cli(['lb', 'sync', '--cluster', CLUSTER]));
    expect(sync.stderr).toMatch(
      /Warning: the in-cluster controller \(service swarmup-lb-controller on ctlg-worker-1\) keeps the load balancer of cluster "ctlg"; showing the plan only/,
    );
    // Nothing changed by the host's key (the controller may still be finishing its own sync).
    expect(
      emu
        .requests()
        .slice(before)
        .filter((e) => e.mutating && !e.principal?.startsWith('instance:'))
        .map((e) => `${e.method} ${e.path} ${e.principal}`),
    ).toEqual([]);
    expect(expectOneLineError(await cli(['lb', 'sync', '--cluster', CLUSTER, '--watch']))).toMatch(
      /keeps the load balancer .*lb controller rm --cluster ctlg/,
    );
    expect(expectOneLineError(await cli(['lb', 'rm', '--cluster', CLUSTER]))).toMatch(/remove it first/);
    expect(ruleFor(P3)).toBeDefined();
  });

  it('cluster down removes the controller first, then everything: nothing is left', async () => {
    const vms = (
      await labDocker(['ps', '-a', '--filter', `name=-${CLUSTER}-`, '--format', '{{.Names}}'])
    ).stdout
      .split('\n')
      .filter(Boolean);
    await c.downLeavesNothing(vms, () => emu.resourceCount());
  });
});
