/**
 * The local load balancer for real: two lab VMs become Docker hosts (generic driver) and a swarm,
 * services publish ports, and `swarmup lb sync` runs an haproxy container on the lab engine with host
 * networking that forwards 127.0.0.1:PORT to the nodes.
 *
 * The cluster fixture is built by hand (cluster record + Cluster fields in the store, swarm via the
 * docker CLI) so this test does not depend on `swarmup cluster up`.
 * IPVS is not available on the lab kernel: ingress-mode ports are planned and configured but carry no
 * traffic; the host-mode port carries real traffic.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect, createServer } from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labDocker, labDockerHost, labImages, labUp, removeVm, startVm } from '../lab/lab.js';
import {
  bash,
  eventually,
  expectOneLineError,
  parseEnv,
  swarmup,
  tempDir,
  run,
  type Run,
} from './helpers.js';
import { Store } from '../../src/store/store.js';
import { saveClusterRecord } from '../../src/cluster/record.js';
import { loadMachine, saveMachine } from '../../src/machine/machine.js';
import { emptyEngineOptions } from '../../src/store/machine-config.js';

const CLUSTER = 'e2e-lb';
const VMS = ['e2e-lb-1', 'e2e-lb-2'];
const LB = `swarmup-lb-${CLUSTER}`;
const WEB_PORT = 18081; // host mode, global service: real traffic
const API_PORT = 18082; // ingress mode: configured on every node
const UDP_PORT = 18083; // ingress udp: listed as unsupported
const EXTRA_PORT = 18085; // taken on this host by the test
const LB_ENV = { DOCKER_HOST: labDockerHost, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' };

let work: string;
let store: string;
const ips: Record<string, string> = {};
const envs: Record<string, Record<string, string>> = {};

const lb = (args: string[]) => swarmup(store, ['lb', ...args, '--cluster', CLUSTER], LB_ENV);
const sync = (...extra: string[]) => lb(['sync', '--lb-image', labImages.haproxy, ...extra]);

/** docker CLI against a machine, with the environment `swarmup env` prints. */
async function onNode(vm: string, args: string): Promise<Run> {
  return bash(`docker ${args}`, { ...envs[vm], DOCKER_CONFIG: work });
}
async function mustOnNode(vm: string, args: string): Promise<string> {
  const r = await onNode(vm, args);
  if (r.code !== 0) throw new Error(`docker ${args} on ${vm}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Poll until `fn` returns true; bounded, no fixed sleeps. */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const curl = (port: number, path = '/') => bash(`curl -fsS --max-time 3 http://127.0.0.1:${port}${path}`);

/** What shows whether haproxy reloaded or restarted: container start, worker PIDs, config mtime. */
async function lbFingerprint() {
  const started = (await labDocker(['inspect', '-f', '{{.State.StartedAt}}', LB])).stdout.trim();
  const top = (await labDocker(['top', LB, '-o', 'pid,args'])).stdout.trim().split('\n').slice(1);
  const mtime = (
    await labDocker(['exec', LB, 'stat', '-c', '%y', '/etc/swarmup-lb/haproxy.cfg'])
  ).stdout.trim();
  return { started, pids: top.map((l) => l.trim().split(/\s+/)[0]).sort(), mtime };
}

const lbConfig = async () => (await labDocker(['exec', LB, 'cat', '/etc/swarmup-lb/haproxy.cfg'])).stdout;

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-e2e-lb-');
  store = join(work, 'store');
  const key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = await readFile(`${key}.pub`, 'utf8');
  await labDocker(['rm', '-f', LB]);
  for (const vm of VMS) await removeVm(vm);

  // Two Docker hosts (docker.io is preinstalled in the node image: create takes seconds).
  await Promise.all(
    VMS.map(async (vm) => {
      ips[vm] = (await startVm(vm, { image: 'node', authorizedKey: pub })).ip;
      const r = await swarmup(store, [
        'create',
        '--driver',
        'generic',
        '--generic-ip-address',
        ips[vm],
        '--generic-ssh-key',
        key,
        vm,
      ]);
      if (r.code !== 0) throw new Error(`create ${vm}: ${r.stderr}`);
      envs[vm] = parseEnv((await swarmup(store, ['env', vm])).stdout);
      const load = await bash(`docker -H ${labDockerHost} save ${labImages.httpd} | docker load`, {
        ...envs[vm],
        DOCKER_CONFIG: work,
      });
      if (load.code !== 0) throw new Error(`image load into ${vm}: ${load.stderr}`);
    }),
  );

  // The cluster as `cluster up` would record it.
  const s = new Store(store);
  await saveClusterRecord(s, {
    ConfigVersion: 1,
    Name: CLUSTER,
    Driver: 'generic',
    DriverOptions: {},
    Managers: 1,
    Workers: 1,
    Parallel: 2,
    Engine: emptyEngineOptions(),
    Labels: {},
    CreatedAt: new Date().toISOString(),
  });
  for (const [i, vm] of VMS.entries()) {
    const m = await loadMachine(s, vm);
    m.cfg.Cluster = { Name: CLUSTER, Role: i === 0 ? 'manager' : 'worker' };
    await saveMachine(m);
  }

  // The swarm.
  const [leader, worker] = VMS;
  await mustOnNode(leader, `swarm init --advertise-addr ${ips[leader]}`);
  const token = await mustOnNode(leader, 'swarm join-token -q worker');
  await mustOnNode(worker, `swarm join --advertise-addr ${ips[worker]} --token ${token} ${ips[leader]}:2377`);
  await eventually(
    async () => {
      const out = await mustOnNode(leader, "node ls --format '{{.Status}} {{.Availability}}'");
      return out.split('\n').filter((l) => l === 'Ready Active').length === 2;
    },
    60_000,
    'both nodes Ready',
  );

  await mustOnNode(
    leader,
    `service create -d --name web --mode global -p mode=host,published=${WEB_PORT},target=80 ${labImages.httpd}`,
  );
  await mustOnNode(
    leader,
    `service create -d --name api --replicas 1 -p ${API_PORT}:80 -p published=${UDP_PORT},target=53,protocol=udp ${labImages.httpd}`,
  );
  await eventually(
    async () => {
      const out = await mustOnNode(
        leader,
        "service ps web --filter desired-state=running --format '{{.CurrentState}}'",
      );
      return out.split('\n').filter((l) => l.startsWith('Running')).length === 2;
    },
    60_000,
    'web running on both nodes',
  );
}, 600_000);

afterAll(async () => {
  await labDocker(['rm', '-f', LB]);
  for (const vm of VMS) await removeVm(vm);
});

describe('lb sync on a local cluster', () => {
  it('--dry-run prints the plan and creates nothing', async () => {
    const r = await sync('--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `+ create container ${LB} (${labImages.haproxy}, host network, binds 127.0.0.1)`,
        `+ create listener tcp/${WEB_PORT} → 2 backends (web, host mode)`,
        `+ create listener tcp/${API_PORT} → 2 backends (api, ingress mode)`,
        `! skip listener udp/${UDP_PORT}: unsupported locally: haproxy proxies TCP, not UDP (api, ingress mode)`,
        'Plan: 3 to create, 0 to update, 0 to delete.',
        '',
      ].join('\n'),
    );
    expect((await labDocker(['inspect', LB])).code).not.toBe(0);
  });

  it('creates the load balancer: 127.0.0.1 forwards to the nodes', async () => {
    const t0 = Date.now();
    const r = await sync();
    console.log(`lb sync (create): ${Date.now() - t0} ms`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan: 3 to create, 0 to update, 0 to delete.');
    expect(r.stderr).toMatch(new RegExp(`Load balancer ${LB} is in sync: 2 listeners on 127\\.0\\.0\\.1`));

    const inspect = JSON.parse((await labDocker(['inspect', LB])).stdout)[0];
    expect(inspect.HostConfig.NetworkMode).toBe('host');
    expect(inspect.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(inspect.Config.Labels).toMatchObject({ 'swarmup.cluster': CLUSTER, 'swarmup.lb': 'local' });

    // Host mode: real traffic through haproxy to the httpd tasks on the nodes.
    await eventually(
      async () => (await curl(WEB_PORT)).stdout === 'swarmup-lab httpd OK\n',
      60_000,
      'curl through the load balancer',
    );
    const seen = new Set<string>();
    await eventually(
      async () => {
        seen.add((await curl(WEB_PORT, '/cgi-bin/host')).stdout.trim());
        return seen.size >= 2;
      },
      60_000,
      'both backends answer',
    );
    // Ingress mode: configured for every node (IPVS missing here, so only the listener is checked).
    expect(await tcpOpen(API_PORT)).toBe(true);
    const cfg = await lbConfig();
    for (const vm of VMS) {
      expect(cfg).toContain(`server ${vm} ${ips[vm]}:${API_PORT} check`);
      expect(cfg).toContain(`server ${vm} ${ips[vm]}:${WEB_PORT} check`);
    }
    expect(cfg).not.toContain(String(UDP_PORT) + '\n');
  });

  it('a second sync prints "No changes." and neither rewrites nor reloads', async () => {
    const before = await lbFingerprint();
    const t0 = Date.now();
    const r = await sync();
    console.log(`lb sync (no-op): ${Date.now() - t0} ms`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `! skip listener udp/${UDP_PORT}: unsupported locally: haproxy proxies TCP, not UDP (api, ingress mode)\nNo changes.\n`,
    );
    expect(r.stderr).not.toMatch(/Reloading|Writing/);
    expect(await lbFingerprint()).toEqual(before);
  });

  it('--json prints the plan as JSON', async () => {
    const r = await sync('--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      cluster: CLUSTER,
      container: LB,
      bind: '127.0.0.1',
      dryRun: true,
      changes: false,
      summary: { create: 0, update: 0, delete: 0 },
      steps: [],
      skipped: [{ kind: 'listener', name: `udp/${UDP_PORT}` }],
    });
  });

  it('lb status shows listeners, backends and that it is in sync', async () => {
    const r = await lb(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Container: ${LB} (running, image ${labImages.haproxy}`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^tcp/${WEB_PORT}\\s+host\\s+web\\s+yes\\s+e2e-lb-1=${ips[VMS[0]]} e2e-lb-2=${ips[VMS[1]]}$`,
        'm',
      ),
    );
    expect(r.stdout).toContain('In sync with the swarm.');
    const j = JSON.parse((await lb(['status', '--json'])).stdout);
    expect(j.inSync).toBe(true);
    expect(
      j.listeners.map((l: { listener: string; listening: boolean }) => `${l.listener} ${l.listening}`),
    ).toEqual([`tcp/${WEB_PORT} true`, `tcp/${API_PORT} true`]);
  });

  it('a drained node leaves the ingress backends (and the host-mode ones once its task stops)', async () => {
    const [leader, worker] = VMS;
    await mustOnNode(leader, `node update --availability drain ${worker}`);
    await eventually(
      async () => {
        const out = await mustOnNode(leader, `node ps ${worker} --filter desired-state=running -q`);
        return out === '';
      },
      60_000,
      'the drained node runs no task',
    );
    const dry = await sync('--dry-run');
    expect(dry.stdout).toContain(
      `~ update listener tcp/${WEB_PORT} backends -${worker} → 1 backend (web, host mode)\n`,
    );
    expect(dry.stdout).toContain(
      `~ update listener tcp/${API_PORT} backends -${worker} → 1 backend (api, ingress mode)\n`,
    );
    const before = await lbFingerprint();
    const t0 = Date.now();
    const r = await sync();
    console.log(`lb sync (reload, 2 updates): ${Date.now() - t0} ms`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan: 0 to create, 2 to update, 0 to delete.');
    const after = await lbFingerprint();
    expect(after.started).toBe(before.started); // reloaded, not restarted
    expect(after.pids).not.toEqual(before.pids);
    const cfg = await lbConfig();
    expect(cfg).not.toContain(`server ${worker} `);
    expect(cfg).toContain(`server ${leader} ${ips[leader]}:${API_PORT} check`);
    await eventually(
      async () => (await curl(WEB_PORT, '/cgi-bin/host')).stdout.trim() !== '',
      60_000,
      'traffic still flows',
    );
    await mustOnNode(leader, `node update --availability active ${worker}`);
  });

  it('a removed service loses its listener: the port is no longer bound', async () => {
    await mustOnNode(VMS[0], 'service rm api');
    const before = await lbFingerprint();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`- delete listener tcp/${API_PORT} (api, ingress mode)\n`);
    expect(r.stdout).not.toContain(`udp/${UDP_PORT}`);
    expect(await tcpOpen(API_PORT)).toBe(false);
    const after = await lbFingerprint();
    expect(after.started).toBe(before.started);
    expect(after.mtime).not.toBe(before.mtime);
    expect(await lbConfig()).not.toContain(`${API_PORT}`);
    await eventually(
      async () => (await curl(WEB_PORT)).stdout === 'swarmup-lab httpd OK\n',
      60_000,
      'web still served',
    );
  });

  it('--dry-run with pending changes changes nothing', async () => {
    // The worker is active again: the global service comes back there.
    await eventually(
      async () => {
        const out = await mustOnNode(
          VMS[0],
          "service ps web --filter desired-state=running --format '{{.CurrentState}}'",
        );
        return out.split('\n').filter((l) => l.startsWith('Running')).length === 2;
      },
      60_000,
      'web running on both nodes again',
    );
    const before = await lbFingerprint();
    const r = await sync('--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`~ update listener tcp/${WEB_PORT} backends +${VMS[1]} → 2 backends`);
    expect(await lbFingerprint()).toEqual(before);
    expect((await lb(['status'])).stdout).toContain('1 change pending');
    const applied = await sync();
    expect(applied.code, applied.stderr).toBe(0);
    expect((await sync()).stdout).toBe('No changes.\n');
  });

  it('a port another process holds on this host: sync refuses before touching haproxy', async () => {
    const blocker = createServer().listen(EXTRA_PORT, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      await mustOnNode(
        VMS[0],
        `service create -d --name extra -p mode=host,published=${EXTRA_PORT},target=80 ${labImages.httpd}`,
      );
      const before = await lbFingerprint();
      const r = await sync();
      expect(r.stdout).toContain(`+ create listener tcp/${EXTRA_PORT}`);
      expect(expectOneLineError(r)).toBe(
        `cannot listen on 127.0.0.1:${EXTRA_PORT}: another process on this host already does; free the port or publish another one`,
      );
      expect(await lbFingerprint()).toEqual(before);
    } finally {
      blocker.close();
      await once(blocker, 'close');
    }
    const ok = await sync();
    expect(ok.code, ok.stderr).toBe(0);
    expect(await tcpOpen(EXTRA_PORT)).toBe(true);
    await mustOnNode(VMS[0], 'service rm extra');
    const gone = await sync();
    expect(gone.stdout).toContain(`- delete listener tcp/${EXTRA_PORT}`);
    expect(await tcpOpen(EXTRA_PORT)).toBe(false);
  });

  it('a config haproxy cannot load: the error says why and the previous config keeps serving', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: `haproxy -c` passes, the reload fails to bind.
    const before = await lbFingerprint();
    const t0 = Date.now();
    const r = await sync('--bind', '192.0.2.1');
    console.log(`lb sync (failed reload): ${Date.now() - t0} ms`);
    expect(r.stdout).toContain(`~ update listener tcp/${WEB_PORT} bind 127.0.0.1 → 192.0.2.1`);
    expect(expectOneLineError(r)).toMatch(
      /^haproxy refused the new configuration: .*cannot bind socket \(Cannot assign requested address\) for \[192\.0\.2\.1:/,
    );
    expect(r.stderr).toContain('Restoring the previous configuration...');
    const after = await lbFingerprint();
    expect(after.started).toBe(before.started);
    expect(await lbConfig()).toContain(`bind 127.0.0.1:${WEB_PORT}`);
    expect((await curl(WEB_PORT)).stdout).toBe('swarmup-lab httpd OK\n');
    expect((await sync()).stdout).toBe('No changes.\n');
  });

  it('starts a stopped load balancer', async () => {
    expect((await labDocker(['stop', LB])).code).toBe(0);
    expect(await tcpOpen(WEB_PORT)).toBe(false);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `~ update container ${LB} start (exited)\nPlan: 0 to create, 1 to update, 0 to delete.\n`,
    );
    await eventually(
      async () => (await curl(WEB_PORT)).stdout === 'swarmup-lab httpd OK\n',
      60_000,
      'curl after start',
    );
  });

  it('bad input fails with one line', async () => {
    expect(expectOneLineError(await swarmup(store, ['lb', 'sync', '--cluster', 'nope'], LB_ENV))).toBe(
      'Cluster "nope" does not exist',
    );
    expect(expectOneLineError(await sync('--bind', 'localhost'))).toBe(
      '--bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), not "localhost"',
    );
    // --cluster or --manager (a swarm made by hand), exactly one.
    expect(expectOneLineError(await swarmup(store, ['lb', 'sync'], LB_ENV))).toMatch(
      /^name the swarm with --cluster NAME .* or --manager MACHINE/,
    );
  });

  it('lb rm removes the container', async () => {
    const r = await lb(['rm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Removed load balancer container ${LB}.`);
    expect((await labDocker(['inspect', LB])).code).not.toBe(0);
    expect(await tcpOpen(WEB_PORT)).toBe(false);
    const again = await lb(['rm']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing to remove');
  });
});
