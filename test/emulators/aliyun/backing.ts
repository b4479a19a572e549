// Machines behind ECS instances: lab VMs (containers with sshd on the lab network) or, without
// backing, nothing but a unique loopback address (127.66.x.y) a test can bind a backend server to.
import { connect } from 'node:net';
import { createVm, labDocker, removeVm, vmContainer, vmExec } from '../../lab/lab.js';

export interface VmBacking {
  readonly kind: 'lab' | 'none';
  /** Where a requested private address (CreateInstance PrivateIpAddress) must lie: the "vSwitch". */
  readonly vswitch: { cidr: string; contains(ip: string): boolean };
  /**
   * Make the machine without starting it: it answers nothing until start(). Returns its private IP
   * (`ip` when given), fixed for the machine's life.
   */
  create(name: string, opts: { authorizedKey?: string; ip?: string }): Promise<string>;
  /** Boot the machine (resolves once it answers SSH). */
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  /** Remove the machine; no error when it does not exist. */
  remove(name: string): Promise<void>;
}

const octets = (ip: string) => ip.split('.').map(Number);

export function noBacking(): VmBacking {
  let next = 1;
  const given = new Set<string>();
  return {
    kind: 'none',
    vswitch: { cidr: '127.66.0.0/16', contains: (ip) => ip.startsWith('127.66.') },
    create: async (_name, { ip }) => {
      if (ip) {
        given.add(ip);
        return ip;
      }
      for (;;) {
        const n = next++;
        const a = `127.66.${Math.floor((n - 1) / 254) % 256}.${((n - 1) % 254) + 1}`;
        if (!given.has(a)) return a;
      }
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
 * Lab VMs, made by `lab vm create` (docker create with a fixed address from 172.29.192.0/18), so an
 * instance has its private address from the start, keeps it across stop/start and is never running
 * before StartInstance; the lab-init keeps SSH host keys across restarts.
 */
export function labBacking(image: 'vm' | 'node'): VmBacking {
  const ips = new Map<string, string>();
  /** Key pairs not yet installed: ECS puts the key pair's key in at the first boot only (cloud-init). */
  const firstBootKeys = new Map<string, string>();
  return {
    kind: 'lab',
    vswitch: { cidr: '172.29.192.0/18', contains: (ip) => /^172\.29\./.test(ip) && octets(ip)[2] >= 192 },
    async create(name, opts) {
      const { ip } = await createVm(name, { image, ip: opts.ip });
      ips.set(name, ip);
      if (opts.authorizedKey) firstBootKeys.set(name, opts.authorizedKey);
      return ip;
    },
    async start(name) {
      await docker(['start', vmContainer(name)]);
      const ip = ips.get(name);
      if (ip) await waitSsh(ip);
      const key = firstBootKeys.get(name);
      if (key !== undefined) {
        // Added to what is there, once: keys put in later (over SSH) survive restarts, as on ECS.
        const b64 = Buffer.from(`${key.trim()}\n`).toString('base64');
        const r = await vmExec(
          name,
          `umask 077 && mkdir -p /root/.ssh && echo ${b64} | base64 -d >>/root/.ssh/authorized_keys`,
        );
        if (r.code !== 0) throw new Error(`installing the key pair on ${name}: ${r.stderr.trim()}`);
        firstBootKeys.delete(name);
      }
    },
    async stop(name) {
      await docker(['stop', '-t', '5', vmContainer(name)]);
    },
    async restart(name) {
      await docker(['restart', '-t', '5', vmContainer(name)]);
      const ip = ips.get(name);
      if (ip) await waitSsh(ip);
    },
    async remove(name) {
      await removeVm(name);
      ips.delete(name);
      firstBootKeys.delete(name);
    },
  };
}
