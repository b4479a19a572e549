/**
 * bench/lb-controller: how long a new published port waits for its cloud load balancer, from
 * `docker service create` returning to the first request served through the GCE forwarding rule or
 * the SLB listener, with the reconcile on the operator's host (`lb sync --watch`) and inside the
 * cluster (`lb controller`), in the same run on the same cluster (1 manager + 1 worker), on the GCE
 * and Aliyun emulators with their default latency (the GCE one checking credentials: the controller
 * uses the VMs' service account, the host a key). Prints each trial, the medians and the ratio.
 * Needs root, the lab and a build.   node dist/bench/lb-controller.js [--cloud gce|aliyun|both] [--trials N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDockerHost, labImages, labUp } from '../test/lab/lab.js';
import { startGceEmulator } from '../test/emulators/gce/index.js';
import { startAliyunEmulator } from '../test/emulators/aliyun/index.js';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const arg = (name: string, def: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : def;
const clouds = arg('--cloud', 'both') === 'both' ? ['gce', 'aliyun'] : [arg('--cloud', 'both')];
const trials = Number(arg('--trials', '3'));
const HOST = '172.29.0.1';
const IMAGE = 'swarmup-bench/lb-controller:bench';
const work = mkdtempSync(join(tmpdir(), 'swarmup-bench-ctl-'));
const store = join(work, 'store');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(cmd, args, {
    env: { ...process.env, SWARMUP_STORAGE_PATH: store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = start(cmd, args, env);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function must(r: Promise<Run>, what: string): Promise<Run> {
  const x = await r;
  if (x.code !== 0) throw new Error(`${what} failed (exit ${x.code}): ${x.stderr.trim().split('\n').pop()}`);
  return x;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `f` is true (every 50 ms, at most `ms`); the time it took. */
async function until(f: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!(await f())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await delay(50);
  }
  return performance.now() - t0;
}

const served = async (url: string | undefined) => {
  if (!url) return false;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return (await r.text()).includes('httpd OK');
  } catch {
    return false;
  }
};

interface Cloud {
  name: string;
  env: NodeJS.ProcessEnv;
  upFlags: string[];
  /** The URL through the load balancer for `port`, once it has a listener for it. */
  url(port: number): Promise<string | undefined>;
  stop(): Promise<void>;
}

async function gce(): Promise<Cloud> {
  const emu = await startGceEmulator({
    backing: { image: 'vm' },
    host: HOST,
    auth: 'required',
    metadata: { host: HOST },
  });
  const keyFile = join(work, 'key.json');
  writeFileSync(keyFile, JSON.stringify(emu.createServiceAccountKey()), { mode: 0o600 });
  return {
    name: 'GCE',
    env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile, GCE_METADATA_HOST: emu.metadataHost },
    upFlags: [
      '--driver',
      'google',
      '--google-endpoint',
      emu.endpoint,
      '--google-project',
      emu.project,
      '--google-scopes',
      'https://www.googleapis.com/auth/compute',
    ],
    url: async (port) => {
      const r = (
        emu.dump() as { forwardingRules: Array<{ name: string; IPAddress: string }> }
      ).forwardingRules.find((x) => x.name.endsWith(`-tcp${port}`));
      return r ? `http://${r.IPAddress}:${port}/` : undefined;
    },
    stop: () => emu.stop(),
  };
}

async function aliyun(): Promise<Cloud> {
  const emu = await startAliyunEmulator({
    backing: { image: 'vm' },
    host: HOST,
    addressPrefix: '127.88.31.',
    ramRoles: ['swarmup-lb'],
    metadata: { host: HOST },
  });
  return {
    name: 'Aliyun',
    env: {
      ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
      SWARMUP_ALIYUN_METADATA_ENDPOINT: emu.metadataEndpoint,
    },
    upFlags: [
      '--driver',
      'aliyunecs',
      '--aliyunecs-api-endpoint',
      emu.endpoint,
      '--aliyunecs-ram-role',
      'swarmup-lb',
    ],
    url: async (port) => {
      const d = emu.dump() as {
        loadBalancers: Array<{ Address?: string; Listeners: Array<{ ListenerPort?: number }> }>;
      };
      const lb = d.loadBalancers.find((x) => x.Address && x.Listeners.some((l) => l.ListenerPort === port));
      return lb ? `http://${lb.Address}:${port}/` : undefined;
    },
    stop: () => emu.stop(),
  };
}

async function bench(c: Cloud): Promise<{ watch: number[]; controller: number[] }> {
  const cluster = `bench-ctl-${c.name.toLowerCase()}`;
  const env = { ...c.env, SWARMUP_LB_HEALTH_IMAGE: labImages.httpd, DOCKER_HOST: labDockerHost };
  const sw = (args: string[]) => run(process.execPath, [bin, ...args], env);
  process.stderr.write(`${c.name}: cluster up ${cluster} (1 manager, 1 worker)...\n`);
  await must(sw(['cluster', 'up', cluster, ...c.upFlags, '--managers', '1', '--workers', '1']), 'cluster up');
  try {
    await must(sw(['image', 'load', '--cluster', cluster, labImages.httpd]), 'image load');
    const envOut = (await must(sw(['cluster', 'env', cluster]), 'cluster env')).stdout;
    const denv: Record<string, string> = { DOCKER_CONFIG: work };
    for (const m of envOut.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)) denv[m[1]] = m[2];
    const docker = (args: string[]) => must(run('docker', args, denv), `docker ${args[0]} ${args[1]}`);
    let port = 18600 + (c.name === 'GCE' ? 0 : 50);
    const trial = async (mode: string): Promise<number> => {
      const p = port++;
      const name = `bench${p}`;
      await docker([
        'service',
        'create',
        '-d',
        '--name',
        name,
        '--mode',
        'global',
        '-p',
        `mode=host,published=${p},target=80`,
        labImages.httpd,
      ]);
      const ms = await until(async () => served(await c.url(p)), 60_000, `${mode} tcp/${p}`);
      process.stderr.write(`${c.name} ${mode.padEnd(10)} tcp/${p}: ${(ms / 1000).toFixed(2)} s\n`);
      await docker(['service', 'rm', name]);
      await until(async () => !(await c.url(p)), 60_000, `${mode} tcp/${p} removed`);
      return ms;
    };
    // The host's watch.
    const watch = start(process.execPath, [bin, 'lb', 'sync', '--cluster', cluster, '--watch'], env);
    let log = '';
    watch.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await until(async () => log.includes("Following the manager's events."), 120_000, 'lb sync --watch');
    await until(
      async () => /in sync|No changes/.test(log) || log.includes('Following'),
      60_000,
      'first sync',
    );
    const w: number[] = [];
    for (let i = 0; i < trials; i++) w.push(await trial('watch'));
    watch.kill('SIGINT');
    await new Promise((r) => watch.once('close', r));
    // The controller.
    await must(
      sw(['lb', 'controller', 'install', '--cluster', cluster, '--image', IMAGE]),
      'lb controller install',
    );
    const k: number[] = [];
    for (let i = 0; i < trials; i++) k.push(await trial('controller'));
    return { watch: w, controller: k };
  } finally {
    await sw(['cluster', 'down', cluster]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  await labUp();
  process.stderr.write(`Building ${IMAGE}...\n`);
  await must(
    run(process.execPath, [bin, 'lb', 'controller', 'build', '--base', labImages.vm, '--tag', IMAGE], {
      DOCKER_HOST: labDockerHost,
    }),
    'lb controller build',
  );
  const rows: string[] = [];
  for (const name of clouds) {
    const c = name === 'gce' ? await gce() : await aliyun();
    try {
      const r = await bench(c);
      rows.push(
        `${c.name.padEnd(7)} ${s(median(r.watch)).padStart(7)}  ${s(median(r.controller)).padStart(10)}  ${(median(r.controller) / median(r.watch)).toFixed(2).padStart(5)}   ` +
          `watch ${r.watch.map(s).join(', ')}; controller ${r.controller.map(s).join(', ')}`,
      );
    } finally {
      await c.stop();
    }
  }
  console.log(`service create → first request through the cloud load balancer (median of ${trials}):`);
  console.log('cloud   watch     controller  ratio   trials');
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench lb-controller: ${(err as Error).message}\n`);
  process.exit(1);
});
