// Backing VMs: each instance is a lab VM, configured the way the GCE guest agent configures a real one
// (hostname, /etc/hosts, one account with passwordless sudo per `ssh-keys` user, no root login,
// `startup-script` run at every boot).
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { labDocker, labNetwork, startVm, vmContainer, vmExec } from '../../lab/lab.js';
import { delay } from '../../../src/util/async.js';
import type { MetadataItem } from './validate.js';

async function bootVm(
  name: string,
  image: 'vm' | 'node',
  keys: string | undefined,
  user: string | undefined,
) {
  return (await startVm(name, { image, authorizedKey: keys, user })).ip;
}

/** User names `test/lab/lab vm start --user` accepts. */
const LAB_USER_RE = /^[a-z_][a-z0-9_-]{0,30}$/;

/** `user:ssh-ed25519 AAAA… comment` lines of `ssh-keys` (and legacy `sshKeys`) → user → key lines. */
export function sshKeyUsers(items: MetadataItem[]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const it of items) {
    if (it.key !== 'ssh-keys' && it.key !== 'sshKeys') continue;
    for (const raw of it.value.split('\n')) {
      const line = raw.trim();
      const m = /^([^:\s]+):((?:ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]+(?:\s.*)?)$/.exec(line);
      if (!m || !/^[a-z_][a-z0-9._-]{0,31}$/.test(m[1]) || m[1] === 'root') continue;
      users.set(m[1], [...(users.get(m[1]) ?? []), m[2]]);
    }
  }
  return users;
}

export interface GuestSpec {
  hostname: string;
  fqdn: string;
  users: Map<string, string[]>;
  startupScript?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The root shell script that makes the VM look like a GCE guest (idempotent). */
export function guestScript(spec: GuestSpec, ip: string, runStartup: boolean): string {
  const names = [...spec.users.keys()];
  const lines = [
    'set -u',
    `name=${q(spec.hostname)}; fqdn=${q(spec.fqdn)}; ip=${q(ip)}`,
    'hostname "$name" 2>/dev/null || true',
    'printf \'%s\\n\' "$name" >/etc/hostname 2>/dev/null || true',
    'sed "/[[:space:]]$fqdn[[:space:]]/d" /etc/hosts >/tmp/.hosts && cat /tmp/.hosts >/etc/hosts; rm -f /tmp/.hosts',
    'printf \'%s %s %s\\n\' "$ip" "$fqdn" "$name" >>/etc/hosts',
    'getent group google-sudoers >/dev/null || groupadd google-sudoers',
    "printf '%s\\n' '%google-sudoers ALL=(ALL:ALL) NOPASSWD:ALL' >/etc/sudoers.d/google_sudoers && chmod 440 /etc/sudoers.d/google_sudoers",
    'mkdir -p /var/lib/google && touch /var/lib/google/google_users',
    `want=${q(` ${names.join(' ')} `)}`,
    'for u in $(cat /var/lib/google/google_users) $(ls /etc/sudoers.d | sed -n "s/^90-lab-//p"); do',
    '  case "$want" in *" $u "*) continue ;; esac',
    '  home=$(getent passwd "$u" | cut -d: -f6)',
    '  [ -n "$home" ] && [ -f "$home/.ssh/authorized_keys" ] && : >"$home/.ssh/authorized_keys"',
    '  gpasswd -d "$u" google-sudoers >/dev/null 2>&1; rm -f "/etc/sudoers.d/90-lab-$u"',
    'done',
    'ensure_user() {',
    '  u=$1',
    '  id -u "$u" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$u" && usermod -p "*" "$u"; } || return 1',
    '  usermod -aG google-sudoers "$u"',
    '  home=$(getent passwd "$u" | cut -d: -f6); g=$(id -gn "$u")',
    '  install -d -m 700 -o "$u" -g "$g" "$home/.ssh"',
    // As the guest agent: its own keys follow "# Added by Google"; lines it did not add are kept.
    '  f="$home/.ssh/authorized_keys"; touch "$f"',
    '  awk \'g{g=0;next} /^# Added by Google$/{g=1;next} {print}\' "$f" >"$f.keep"',
    '  { cat "$f.keep"; printf "%s" "$2" | base64 -d | sed "s/^/# Added by Google\\n/"; } >"$f.new"',
    '  mv "$f.new" "$f"; rm -f "$f.keep"',
    '  chown "$u:$g" "$f" && chmod 600 "$f"',
    '}',
    ...names.map((u) => `ensure_user ${q(u)} ${q(b64(spec.users.get(u)!.join('\n') + '\n'))}`),
    `printf '%s\\n' ${names.length ? names.map(q).join(' ') : "''"} >/var/lib/google/google_users`,
    'rm -f /root/.ssh/authorized_keys',
  ];
  if (runStartup && spec.startupScript !== undefined) {
    lines.push(
      `printf '%s' ${q(b64(spec.startupScript))} | base64 -d >/run/google-startup-script && chmod 700 /run/google-startup-script`,
      'setsid nohup /bin/bash /run/google-startup-script >>/var/log/google-startup-script.log 2>&1 </dev/null &',
    );
  }
  lines.push('exit 0');
  return lines.join('\n');
}

/** Lab VM name for an instance: unique per project/zone/instance, a valid hostname label. */
export function backingVmName(project: string, zone: string, instance: string): string {
  const h = createHash('sha256').update(`${project}/${zone}/${instance}`).digest('hex').slice(0, 6);
  return `gce-${h}-${instance}`.slice(0, 63).replace(/-+$/, '');
}

async function vmIp(vm: string): Promise<string> {
  const r = await labDocker([
    'container',
    'inspect',
    '-f',
    `{{with index .NetworkSettings.Networks "${labNetwork}"}}{{.IPAddress}}{{end}}`,
    vmContainer(vm),
  ]);
  return r.code === 0 ? r.stdout.trim() : '';
}

function sshBanner(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port: 22, timeout: 1000 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('data', (d) => done(d.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/** Lab VMs behind instances. Tracks every VM it started so `removeAll` leaves nothing behind. */
export class Backing {
  private vms = new Set<string>();
  private inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(readonly image: 'vm' | 'node') {}

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const drop = () => this.inflight.delete(p);
    p.then(drop, drop);
    return p;
  }

  /** Boot a VM (the first ssh-keys user through the lab's boot-time options), configure it, return its IP. */
  boot(vm: string, spec: GuestSpec): Promise<string> {
    return this.track(
      (async () => {
        if (this.closed) throw new Error('the emulator is stopping');
        this.vms.add(vm);
        // The first user goes through the lab's boot-time options when the lab accepts its name;
        // the guest script below (re)creates every user anyway.
        const [first] = [...spec.users.entries()].filter(([u]) => LAB_USER_RE.test(u));
        // No key through the lab's boot options: the lab's init would write it over the file at
        // every start, where the guest agent keeps the lines it did not add. The script adds them.
        const boot = () => bootVm(vm, this.image, undefined, first?.[0]);
        let ip: string;
        try {
          ip = await boot();
        } catch (err) {
          if (!/already exists/.test(String(err))) throw err;
          // a VM left by an emulator that was killed: replace it
          await labDocker(['rm', '-f', '-v', vmContainer(vm)]);
          ip = await boot();
        }
        await this.configure(vm, spec, ip, true);
        return ip;
      })(),
    );
  }

  async configure(vm: string, spec: GuestSpec, ip: string, boot: boolean): Promise<void> {
    const r = await vmExec(vm, guestScript(spec, ip, boot));
    if (r.code !== 0) throw new Error(`configuring VM ${vm} failed: ${r.stderr.trim().split('\n').pop()}`);
  }

  /** `docker stop`: the instance is TERMINATED. */
  stop(vm: string): Promise<void> {
    return this.track(
      (async () => {
        const r = await labDocker(['stop', '-t', '10', vmContainer(vm)]);
        if (r.code !== 0) throw new Error(`stopping VM ${vm} failed: ${r.stderr.trim()}`);
      })(),
    );
  }

  /** `docker start`, wait for sshd, configure again (the lab's init rewrites keys at boot); returns the IP. */
  start(vm: string, spec: GuestSpec): Promise<string> {
    return this.track(
      (async () => {
        if (this.closed) throw new Error('the emulator is stopping');
        const r = await labDocker(['start', vmContainer(vm)]);
        if (r.code !== 0) throw new Error(`starting VM ${vm} failed: ${r.stderr.trim()}`);
        const end = Date.now() + 30_000;
        for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
          const ip = await vmIp(vm);
          if (ip && (await sshBanner(ip))) {
            await this.configure(vm, spec, ip, true);
            return ip;
          }
          if (Date.now() > end) throw new Error(`VM ${vm}: sshd did not come back within 30 s`);
          await delay(wait);
        }
      })(),
    );
  }

  /** What `test/lab/lab vm rm` does. */
  remove(vm: string): Promise<void> {
    return this.track(
      (async () => {
        await labDocker(['rm', '-f', '-v', vmContainer(vm)]);
        this.vms.delete(vm);
      })(),
    );
  }

  /** Wait for VM work in flight, then remove every VM this backing started. */
  async removeAll(): Promise<void> {
    this.closed = true;
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    await Promise.all([...this.vms].map((vm) => this.remove(vm)));
  }

  names(): string[] {
    return [...this.vms];
  }
}
