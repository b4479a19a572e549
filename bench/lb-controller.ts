/**
 * bench/lb-controller: how long a new published port waits for its cloud load balancer, from
 * `docker service create` returning to the first request served through the GCE forwarding rule or
 * the SLB listener, with the reconcile on the operator's host (`lb sync --watch`) and inside the
 * cluster (`lb controller`), in the same run on the same cluster (1 manager + 1 worker), on the GCE
 * and Aliyun emulators with their default latency (the GCE one checking credentials: the controller
 * uses the VMs' service account, the host a key). Each mode first syncs the load balancer and runs
 * one untimed warm-up publish, so a trial times only the reaction to one new port. Prints each
 * trial, the medians and the ratio controller/watch. Everything it makes (clusters, emulators and
 * their VMs, the controller image, its temp dir) goes at the end, also after a failure or Ctrl-C.
 * Needs root, the lab and a build; it uses the shared lab heavily, so on a shared lab run it under
 * the e2e lock:
 *   flock /tmp/swarmup-e2e.lock node dist/bench/lb-controller.js [--cloud gce|aliyun|both] [--trials N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDockerHost, labImages, labUp } from '../test/lab/lab.js';
import { startGceEmulator } from '../test/emulators/gce/index.js';
import { startAliyunEmulator } from '../test/emulators/aliyun/index.js';

const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));
const USAGE = 'usage: node dist/bench/lb-controller.js [--cloud gce|aliyun|both] [--trials N]';

function options(argv: string[]): { clouds: string[]; trials: number } {
  const o = { cloud: 'both', trials: '3' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if ((k !== '--cloud' && k !== '--trials') || v === undefined) throw new Error(`${k}?\n${USAGE}`);
    o[k.slice(2) as 'cloud' | 'trials'] = v;
  }
  if (!['gce', 'aliyun', 'both'].includes(o.cloud))
    throw new Error(`--cloud must be gce, aliyun or both, not "${o.cloud}"`);
  const trials = Number(o.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 50)
    throw new Error(`--trials must be a whole number from 1 to 50, not "${o.trials}"`);
  return { clouds: o.cloud === 'both' ? ['gce', 'aliyun'] : [o.cloud], trials };
}

/** The lab network's gateway: this host as the lab VMs (and the controller in them) reach it. */
const HOST = '172.29.0.1';
const IMAGE = 'swarmup-bench/lb-controller:bench';
let work = '';
let store = '';

/** Undone last first at the end, whatever happened. */
const cleanups: Array<{ what: string; undo: () => Promise<unknown> }> = [];
/** Children still running (a signal stops them, then the cleanups run). */
const children = new Set<ChildProcess>();
let interrupted = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const p = spawn(cmd, args, {
    env: { ...process.env, SWARMUP_STORAGE_PATH: store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(p);
  p.once('close', () => children.delete(p));
  return p;
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
    if (interrupted) throw new Error(`interrupted (${interrupted})`);
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

async function bench(c: Cloud, trials: number): Promise<{ watch: number[]; controller: number[] }> {
  const cluster = `bnc-ctl-${c.name.toLowerCase()}`;
  const env = { ...c.env, SWARMUP_LB_HEALTH_IMAGE: labImages.httpd, DOCKER_HOST: labDockerHost };
  const sw = (args: string[]) => run(process.execPath, [bin, ...args], env);
  cleanups.push({
    what: `cluster down ${cluster}`,
    undo: () => must(sw(['cluster', 'down', cluster]), `cluster down ${cluster}`),
  });
  process.stderr.write(`${c.name}: cluster up ${cluster} (1 manager, 1 worker)...\n`);
  await must(sw(['cluster', 'up', cluster, ...c.upFlags, '--managers', '1', '--workers', '1']), 'cluster up');
  await must(sw(['image', 'load', '--cluster', cluster, labImages.httpd]), 'image load');
  const envOut = (await must(sw(['cluster', 'env', cluster]), 'cluster env')).stdout;
  const denv: Record<string, string> = { DOCKER_CONFIG: work };
  for (const m of envOut.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)) denv[m[1]] = m[2];
  const docker = (args: string[]) => must(run('docker', args, denv), `docker ${args[0]} ${args[1]}`);
  let port = 18600 + (c.name === 'GCE' ? 0 : 50);
  /** Publish a new port, time it until served through the LB, then take it away again. */
  const trial = async (mode: string, warmUp = false): Promise<number> => {
    const p = port++;
    const name = `bnc${p}`;
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
    // Also when the rule / listener first shows in the cloud (the rest is the cloud's health check).
    const t0 = performance.now();
    let made = 0;
    const ms = await until(
      async () => {
        const url = await c.url(p);
        if (url && !made) made = performance.now() - t0;
        return served(url);
      },
      60_000,
      `${mode} tcp/${p}`,
    );
    const label = warmUp ? `${mode} (warm-up)` : mode;
    process.stderr.write(
      `${c.name} ${label.padEnd(20)} tcp/${p}: ${s(ms)} (${c.name === 'GCE' ? 'rule' : 'listener'} at ${s(made)})\n`,
    );
    await docker(['service', 'rm', name]);
    await until(async () => !(await c.url(p)), 60_000, `${mode} tcp/${p} removed`);
    return ms;
  };
  // The load balancer's fixed parts (pool, health check and service / SLB) exist before any trial.
  await must(sw(['lb', 'sync', '--cluster', cluster]), 'lb sync');

  // The host's watch.
  const watch = start(process.execPath, [bin, 'lb', 'sync', '--cluster', cluster, '--watch'], env);
  const closed = new Promise((r) => watch.once('close', r));
  cleanups.push({
    what: 'stop lb sync --watch',
    undo: async () => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGINT');
      await closed;
    },
  });
  let log = '';
  watch.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await until(async () => log.includes("Following the manager's events."), 120_000, 'lb sync --watch');
  await trial('watch', true);
  const w: number[] = [];
  for (let i = 0; i < trials; i++) w.push(await trial('watch'));
  watch.kill('SIGINT');
  await closed;

  // The controller (install returns once it runs and has synced).
  await must(
    sw(['lb', 'controller', 'install', '--cluster', cluster, '--image', IMAGE]),
    'lb controller install',
  );
  await trial('controller', true);
  const k: number[] = [];
  for (let i = 0; i < trials; i++) k.push(await trial('controller'));
  return { watch: w, controller: k };
}

const median = (xs: number[]) => {
  const o = [...xs].sort((a, b) => a - b);
  const m = Math.floor(o.length / 2);
  return o.length % 2 ? o[m] : (o[m - 1] + o[m]) / 2;
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const { clouds, trials } = options(process.argv.slice(2));
  work = mkdtempSync(join(tmpdir(), 'swarmup-bench-ctl-'));
  store = join(work, 'store');
  cleanups.push({ what: `rm -r ${work}`, undo: async () => rmSync(work, { recursive: true, force: true }) });
  const started = new Date().toISOString();
  const loadBefore = load();
  await labUp();
  process.stderr.write(`Building ${IMAGE}...\n`);
  const lab = { DOCKER_HOST: labDockerHost };
  cleanups.push({
    what: `docker rmi ${IMAGE}`,
    undo: () => run('docker', ['rmi', IMAGE], lab),
  });
  await must(
    run(process.execPath, [bin, 'lb', 'controller', 'build', '--base', labImages.vm, '--tag', IMAGE], lab),
    'lb controller build',
  );
  const rows: string[] = [];
  for (const name of clouds) {
    const mark = cleanups.length;
    const c = name === 'gce' ? await gce() : await aliyun();
    cleanups.push({ what: `stop the ${c.name} emulator`, undo: () => c.stop() });
    const r = await bench(c, trials);
    // This cloud's cluster, watch and emulator go before the next cloud's start.
    await cleanUp(mark);
    rows.push(
      `${c.name.padEnd(7)} ${s(median(r.watch)).padStart(7)}  ${s(median(r.controller)).padStart(10)}  ${(median(r.controller) / median(r.watch)).toFixed(2).padStart(5)}   ` +
        `watch ${r.watch.map(s).join(', ')}; controller ${r.controller.map(s).join(', ')}`,
    );
  }
  console.log(
    `service create → first request through the cloud load balancer (median of ${trials}); ` +
      `${started}, ${cpus().length} CPUs, load average ${loadBefore} before, ${load()} after:`,
  );
  console.log('cloud   watch     controller  ratio   trials');
  for (const r of rows) console.log(r);
}

/** Run the cleanups pushed since there were `keep` of them, last first; report, never throw. */
async function cleanUp(keep = 0): Promise<boolean> {
  let ok = true;
  while (cleanups.length > keep) {
    const c = cleanups.pop()!;
    try {
      await c.undo();
    } catch (err) {
      ok = false;
      process.stderr.write(`bench lb-controller: cleanup "${c.what}" failed: ${(err as Error).message}\n`);
    }
  }
  return ok;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = sig;
    process.stderr.write(`bench lb-controller: ${sig}: stopping, then removing what the bench made...\n`);
    for (const p of children) p.kill('SIGTERM');
  });
}

let code = 0;
try {
  await main();
} catch (err) {
  process.stderr.write(`bench lb-controller: ${(err as Error).message}\n`);
  code = 1;
}
if (!(await cleanUp())) code = 1;
process.exit(interrupted ? 130 : code);
