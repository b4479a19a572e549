/**
 * The guest behind a simulated VM: a lab VM container (test/lab), whose root filesystem persists while
 * the VM is registered (poweroff stops the container, startvm starts it again; unregistervm --delete
 * removes it), as a VM's disk would.
 */
import { Socket } from 'node:net';
import { labDocker, labNetwork, removeVm, startVm, vmContainer } from '../lab/lab.js';

export type GuestImage = 'vm' | 'node';

export const guestImage = (): GuestImage => (process.env.VBOXSIM_GUEST_IMAGE === 'vm' ? 'vm' : 'node');

async function inspect(name: string): Promise<{ status: string; ip: string; pid: number } | undefined> {
  const r = await labDocker([
    'container',
    'inspect',
    '-f',
    `{{.State.Status}} {{.State.Pid}} {{with index .NetworkSettings.Networks "${labNetwork}"}}{{.IPAddress}}{{end}}`,
    vmContainer(name),
  ]);
  if (r.code !== 0) return undefined;
  const [status, pid, ip] = r.stdout.trim().split(' ');
  return { status, pid: Number(pid), ip: ip ?? '' };
}

function sshAnswers(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
    s.connect(22, ip);
  });
}

/** Power on: start the existing container (its disk) or make it; resolve when its sshd answers. */
export async function bootGuest(name: string, image: GuestImage): Promise<{ ip: string; pid: number }> {
  const before = await inspect(name);
  if (!before) {
    await startVm(name, { image });
  } else if (before.status !== 'running') {
    const r = await labDocker(['start', vmContainer(name)]);
    if (r.code !== 0) throw new Error(`starting the guest container failed: ${r.stderr.trim()}`);
  }
  const end = Date.now() + 60_000;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
    const now = await inspect(name);
    if (!now || now.status !== 'running') throw new Error(`the guest container is ${now?.status ?? 'gone'}`);
    if (now.ip && (await sshAnswers(now.ip))) return { ip: now.ip, pid: now.pid };
    if (Date.now() > end) throw new Error('the guest sshd did not answer within 60 s');
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** ACPI shutdown: the guest's init gets SIGTERM and stops its services. */
export const shutdownGuest = (name: string) => labDocker(['stop', '-t', '30', vmContainer(name)]);
/** Power cut. */
export const killGuest = (name: string) => labDocker(['kill', vmContainer(name)]);
export const pauseGuest = (name: string) => labDocker(['pause', vmContainer(name)]);
export const resumeGuest = (name: string) => labDocker(['unpause', vmContainer(name)]);
/** Block until the guest container stops. */
export const waitGuest = (name: string) => labDocker(['wait', vmContainer(name)]);
export const deleteGuest = (name: string) => removeVm(name);
