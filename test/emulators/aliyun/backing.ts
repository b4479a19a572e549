// Machines behind ECS instances: lab VMs (containers with sshd on the lab network) or, without
// backing, nothing but a unique loopback address (127.66.x.y) a test can bind a backend server to.
import { connect } from 'node:net';
import { labDocker, labNetwork, removeVm, startVm, vmContainer } from '../../lab/lab.js';

export interface VmBacking {
  readonly kind: 'lab' | 'none';
  /** Create the machine, started or left stopped; returns its private IP (stable across stop/start). */
  create(name: string, opts: { authorizedKey?: string; running: boolean }): Promise<string>;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  /** Remove the machine; no error when it does not exist. */
  remove(name: string): Promise<void>;
}

export function noBacking(): VmBacking {
  let next = 1;
  return {
    kind: 'none',
    create: async () => {
      const n = next++;
      return `127.66.${Math.floor((n - 1) / 254) % 256}.${((n - 1) % 254) + 1}`;
    },
    start: async () => {},
    stop: async () => {},
    restart: async () => {},
    remove: async () => {},
  };
}

async function docker(args: string[]): Promise<string> {
  const r = await labDocker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function sshBanner(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port: 22, timeout: 2000 });
    let buf = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.length >= 4) done(buf.startsWith('SSH-'));
    });
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
    s.once('close', () => resolve(false));
  });
}

async function waitSsh(ip: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
    if (await sshBanner(ip)) return;
    if (Date.now() > end) throw new Error(`sshd on ${ip}:22 did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Lab VMs. The private IP is pinned (`docker network connect --ip`) when a VM is first stopped, so
 * it survives stop/start like an ECS private address; the lab-init keeps SSH host keys on restart.
 */
export function labBacking(image: 'vm' | 'node'): VmBacking {
  const ips = new Map<string, string>();
  const pinned = new Set<string>();
  return {
    kind: 'lab',
    async create(name, opts) {
      const { ip } = await startVm(name, { image, authorizedKey: opts.authorizedKey });
      ips.set(name, ip);
      if (!opts.running) await this.stop(name);
      return ip;
    },
    async start(name) {
      await docker(['start', vmContainer(name)]);
      const ip = ips.get(name);
      if (ip) await waitSsh(ip);
    },
    async stop(name) {
      const c = vmContainer(name);
      await docker(['stop', '-t', '5', c]);
      const ip = ips.get(name);
      if (ip && !pinned.has(name)) {
        await docker(['network', 'disconnect', labNetwork, c]);
        await docker(['network', 'connect', '--ip', ip, '--alias', name, labNetwork, c]);
        pinned.add(name);
      }
    },
    async restart(name) {
      await docker(['restart', '-t', '5', vmContainer(name)]);
      const ip = ips.get(name);
      if (ip) await waitSsh(ip);
    },
    async remove(name) {
      await removeVm(name);
      ips.delete(name);
      pinned.delete(name);
    },
  };
}
