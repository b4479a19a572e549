/**
 * The generic driver end to end, for real: a fresh lab VM (sshd, no Docker) becomes a Docker host
 * over SSH with mutual TLS, and the docker-machine verbs behave on it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cp, readFile, readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { labImages, labDockerHost, labUp, removeVm, startVm, vmExec } from '../lab/lab.js';
import {
  bash,
  eventually,
  expectOneLineError,
  expectOnlyLineError,
  parseEnv,
  swarmup,
  tempDir,
  run,
} from './helpers.js';

const VM = 'e2e-gen1';
let store: string;
let work: string;
let ip: string;
let key: string;

/** `swarmup create --driver generic` for `host` with `sshKey`, plus any extra flags. */
const createGeneric = (name: string, host: string, sshKey: string, ...extra: string[]) =>
  swarmup(store, [
    'create',
    '--driver',
    'generic',
    '--generic-ip-address',
    host,
    '--generic-ssh-key',
    sshKey,
    ...extra,
    name,
  ]);

async function dockerViaEnv(
  args: string,
  storePath = store,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = await swarmup(storePath, ['env', VM]);
  expect(env.code, env.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(env.stdout), DOCKER_CONFIG: work });
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-e2e-');
  store = join(work, 'store');
  key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await removeVm(VM);
  ({ ip } = await startVm(VM, { image: 'vm', authorizedKey: await readFile(`${key}.pub`, 'utf8') }));
});

afterAll(async () => {
  await removeVm(VM);
});

describe('generic driver on a fresh VM', () => {
  it('installs Docker over SSH and turns on TLS', async () => {
    const before = await vmExec(VM, 'command -v dockerd');
    expect(before.code).not.toBe(0);
    const r = await createGeneric(VM, ip, key, '--engine-label', 'e2e=yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installing Docker from the distribution packages');
    expect(r.stderr).toContain('Docker is up and running!');
    expect((await vmExec(VM, 'command -v dockerd')).code).toBe(0);
  });

  it('keeps the store private and portable', async () => {
    const dir = join(store, 'machines', VM);
    for (const f of ['config.json', 'id_ssh', 'server-key.pem', 'key.pem']) {
      expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600);
    }
    expect((await stat(join(store, 'certs', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    const cfg = await readFile(join(dir, 'config.json'), 'utf8');
    expect(cfg).not.toContain(store);
    expect(cfg).not.toContain('PRIVATE KEY');
    expect(await readFile(join(dir, 'known_hosts'), 'utf8')).toMatch(
      new RegExp(`^${ip.replace(/\./g, '\\.')} ssh-ed25519 `),
    );
  });

  it('runs containers over TLS with the client certificate from `swarmup env`', async () => {
    const env = parseEnv((await swarmup(store, ['env', VM])).stdout);
    expect(env.DOCKER_HOST).toBe(`tcp://${ip}:2376`);
    expect(env.DOCKER_TLS_VERIFY).toBe('1');
    const load = await bash(
      `docker save ${labImages.httpd} | DOCKER_HOST=${env.DOCKER_HOST} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${env.DOCKER_CERT_PATH} docker load`,
      {
        DOCKER_HOST: labDockerHost,
        DOCKER_CONFIG: work,
      },
    );
    expect(load.code, load.stderr).toBe(0);
    const r = await dockerViaEnv(`run --rm ${labImages.httpd} echo ok`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
    // The engine refuses a client without our certificate.
    const plain = await bash(`curl -sk --max-time 5 https://${ip}:2376/_ping`);
    expect(plain.stdout).not.toBe('OK');
    const info = await dockerViaEnv(`info --format '{{json .Labels}}'`);
    expect(info.stdout).toContain('e2e=yes');
  });

  it('answers ls, inspect, ip, url, status, config and version', async () => {
    const ls = await swarmup(store, ['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(
      new RegExp(
        `^${VM}\\s+-\\s+generic\\s+Running\\s+tcp://${ip.replace(/\./g, '\\.')}:2376\\s+v20\\.10`,
        'm',
      ),
    );
    const fmt = await swarmup(store, [
      'ls',
      '--format',
      '{{.Name}}\\t{{.State}}',
      '--filter',
      'driver=generic',
    ]);
    expect(fmt.stdout).toBe(`${VM}\tRunning\n`);
    expect((await swarmup(store, ['ls', '-q', '--filter', 'state=Stopped'])).stdout).toBe('');
    expect((await swarmup(store, ['inspect', '-f', '{{.Driver.IPAddress}}', VM])).stdout).toBe(`${ip}\n`);
    const json = JSON.parse((await swarmup(store, ['inspect', VM])).stdout);
    expect(json.HostOptions.AuthOptions.CaCertPath).toBe(join(store, 'certs', 'ca.pem'));
    expect((await swarmup(store, ['ip', VM])).stdout).toBe(`${ip}\n`);
    expect((await swarmup(store, ['url', VM])).stdout).toBe(`tcp://${ip}:2376\n`);
    expect((await swarmup(store, ['status', VM])).stdout).toBe('Running\n');
    expect((await swarmup(store, ['config', VM])).stdout).toContain(`-H=tcp://${ip}:2376`);
    expect((await swarmup(store, ['version', VM])).stdout).toMatch(/^20\.10\./);
    const env = parseEnv((await swarmup(store, ['env', VM])).stdout);
    const active = await swarmup(store, ['active'], { DOCKER_HOST: env.DOCKER_HOST });
    expect(active.stdout).toBe(`${VM}\n`);
  });

  it('runs commands over ssh and copies files with scp', async () => {
    const u = await swarmup(store, ['ssh', VM, '--', 'uname', '-a']);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toMatch(/^Linux /);
    expect((await swarmup(store, ['ssh', VM, '--', 'exit 3'])).code).toBe(3);
    const local = join(work, 'hello.txt');
    await writeFile(local, 'hello from the host\n');
    const up = await swarmup(store, ['scp', '-q', local, `${VM}:/tmp/hello.txt`]);
    expect(up.code, up.stderr).toBe(0);
    expect((await vmExec(VM, 'cat /tmp/hello.txt')).stdout).toBe('hello from the host\n');
    const back = join(work, 'back.txt');
    expect((await swarmup(store, ['scp', '-q', `${VM}:/tmp/hello.txt`, back])).code).toBe(0);
    expect(await readFile(back, 'utf8')).toBe('hello from the host\n');
  });

  it('provisions a second time without changing anything or touching a running container', async () => {
    const started = await dockerViaEnv(`run -d --name keeper ${labImages.httpd}`);
    expect(started.code, started.stderr).toBe(0);
    const before = (await dockerViaEnv(`inspect -f '{{.State.StartedAt}}' keeper`)).stdout;
    const pidBefore = (await vmExec(VM, 'pidof dockerd')).stdout;
    const r = await swarmup(store, ['provision', VM]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Already up to date; nothing changed.');
    expect((await vmExec(VM, 'pidof dockerd')).stdout).toBe(pidBefore);
    expect((await dockerViaEnv(`inspect -f '{{.State.Running}} {{.State.StartedAt}}' keeper`)).stdout).toBe(
      `true ${before}`,
    );
  });

  it('works from a copy of the store in another place', async () => {
    const copy = join(work, 'copied-store');
    await cp(store, copy, { recursive: true });
    const r = await dockerViaEnv('version --format {{.Server.Version}}', copy);
    expect(r.code, r.stderr).toBe(0);
    expect((await swarmup(copy, ['ssh', VM, '--', 'true'])).code).toBe(0);
  });

  it('regenerates certificates and the engine still answers over TLS', async () => {
    const serverPem = join(store, 'machines', VM, 'server.pem');
    const serialBefore = new X509Certificate(await readFile(serverPem)).serialNumber;
    const r = await swarmup(store, ['regenerate-certs', '-f', VM]);
    expect(r.code, r.stderr).toBe(0);
    const cert = new X509Certificate(await readFile(serverPem));
    expect(cert.serialNumber).not.toBe(serialBefore);
    expect(cert.subjectAltName).toContain(`IP Address:${ip}`);
    const remote = (await vmExec(VM, 'cat /etc/docker/server.pem')).stdout;
    expect(new X509Certificate(remote).serialNumber).toBe(cert.serialNumber);
    expect((await dockerViaEnv('ps -q')).code).toBe(0);
  });

  it('refuses start/stop on the generic driver with a clear error', async () => {
    const r = await swarmup(store, ['stop', VM]);
    expect(expectOneLineError(r)).toBe('generic driver does not support stop');
  });
});

describe('generic driver on a systemd VM, as a sudo user', () => {
  const SD = 'e2e-gensd';
  let sdIp: string;
  const info = async (format: string) => {
    const e = await swarmup(store, ['env', SD]);
    expect(e.code, e.stderr).toBe(0);
    return bash(`docker info --format '${format}'`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
  };

  beforeAll(async () => {
    await removeVm(SD);
    ({ ip: sdIp } = await startVm(SD, {
      image: 'vm-systemd',
      user: 'deb',
      authorizedKey: await readFile(`${key}.pub`, 'utf8'),
    }));
  });
  afterAll(async () => {
    await removeVm(SD);
  });

  it('installs docker.io and runs it as docker.service under the drop-in, with every engine flag', async () => {
    const r = await createGeneric(
      SD,
      sdIp,
      key,
      '--generic-ssh-user',
      'deb',
      '--engine-opt',
      'experimental',
      '--engine-insecure-registry',
      'reg.local:5000',
      '--engine-registry-mirror',
      'https://mirror.local',
      '--engine-storage-driver',
      'vfs',
      '--engine-env',
      'SWARMUP_E2E=1',
      '--engine-label',
      'tier=sd',
      '--tls-san',
      'sd.example',
    );
    expect(r.code, r.stderr).toBe(0);
    // systemd runs the distribution's dockerd (Debian: /usr/sbin) with its containerd.
    const svc = await vmExec(
      SD,
      'systemctl is-active docker; systemctl show docker -p ExecStart -p Environment',
    );
    expect(svc.stdout).toMatch(/^active$/m);
    expect(svc.stdout).toContain(
      'argv[]=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock --experimental ;',
    );
    expect(svc.stdout).toMatch(/^Environment=SWARMUP_E2E=1$/m);
    const d = await info(
      '{{.ExperimentalBuild}} {{.Driver}} {{json .RegistryConfig.Mirrors}} {{(index .RegistryConfig.IndexConfigs "reg.local:5000").Secure}}',
    );
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.trim()).toBe('true vfs ["https://mirror.local/"] false');
    // dockerd de-duplicates labels through a map: their order in `info` is not the configured one.
    const labels = await info('{{json .Labels}}');
    expect((JSON.parse(labels.stdout) as string[]).sort()).toEqual(['provider=generic', 'tier=sd']);
    const cert = new X509Certificate(await readFile(join(store, 'machines', SD, 'server.pem')));
    for (const san of [`IP Address:${sdIp}`, `DNS:${SD}`, 'DNS:sd.example', 'DNS:localhost']) {
      expect(cert.subjectAltName).toContain(san);
    }
  });

  it('never puts the TLS key on a command line: sudo logs every command it runs', async () => {
    const j = await vmExec(SD, 'journalctl --no-pager _COMM=sudo');
    expect(j.stdout).toMatch(/COMMAND=/);
    // "-----BEGIN" in base64, as a file written through the command line would show.
    expect(j.stdout).not.toContain('LS0tLS1CRUdJTi');
    expect(j.stdout).not.toContain('PRIVATE KEY');
  });

  it('a second provision changes nothing and leaves docker.service alone', async () => {
    const pid = async () => (await vmExec(SD, 'systemctl show docker -p MainPID --value')).stdout.trim();
    const before = await pid();
    const r = await swarmup(store, ['provision', SD]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Already up to date; nothing changed.');
    expect(await pid()).toBe(before);
    expect((await swarmup(store, ['rm', '-y', SD])).code).toBe(0);
  });
});

describe('bad input: one line, non-zero exit, nothing half-written', () => {
  const machines = async () => (await readdir(join(store, 'machines'))).sort();

  it('a second create of an existing name', async () => {
    const r = await createGeneric(VM, ip, key);
    expect(r.code).toBe(1);
    expect(expectOnlyLineError(r)).toBe(`Docker machine "${VM}" already exists`);
  });

  it('unknown driver, missing flag, invalid name', async () => {
    expect(expectOnlyLineError(await swarmup(store, ['create', '--driver', 'nope', 'x1']))).toMatch(
      /^Driver "nope" not found/,
    );
    expect(expectOnlyLineError(await swarmup(store, ['create', '--driver', 'generic', 'x1']))).toMatch(
      /^--generic-ip-address is required/,
    );
    expect(expectOnlyLineError(await createGeneric('bad_name', ip, key))).toMatch(/^Invalid machine name/);
    const usage = await createGeneric('x1', ip, key, '--generic-ssh-port', 'abc');
    expect(usage.code).toBe(1);
    expect(expectOnlyLineError(usage)).toBe(
      "error: option '--generic-ssh-port <n>' argument 'abc' is invalid. expected a whole number (run with --help for usage)",
    );
    expect(expectOnlyLineError(await swarmup(store, ['status', '../../etc']))).toMatch(
      /^Invalid machine name "\.\.\/\.\.\/etc"/,
    );
    expect(await machines()).toEqual([VM]);
  });

  it('an unreachable host', async () => {
    const r = await createGeneric('x2', '127.0.0.1', key, '--generic-ssh-port', '1');
    expect(expectOneLineError(r)).toMatch(/cannot reach root@127\.0\.0\.1:1 over SSH/);
    expect(await machines()).toEqual([VM]);
  });

  it('a wrong SSH key', async () => {
    const wrong = join(work, 'wrong');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const r = await createGeneric('x3', ip, wrong);
    expect(expectOneLineError(r)).toMatch(/SSH authentication failed/);
    expect(await machines()).toEqual([VM]);
  });

  it('a corrupt store file', async () => {
    const dir = join(store, 'machines', 'broken');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), '{ this is not json');
    const r = await swarmup(store, ['inspect', 'broken']);
    expect(expectOneLineError(r)).toMatch(/machines\/broken\/config\.json is corrupt/);
    const ls = await swarmup(store, ['ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^broken\s+-\s+Error\s.*corrupt/m);
    expect(ls.stdout).toMatch(new RegExp(`^${VM}\\s+-\\s+generic\\s+Running`, 'm'));
    expect((await swarmup(store, ['rm', '-y', '-f', 'broken'])).code).toBe(0);
  });

  it('a changed host key is refused, never silently accepted', async () => {
    const rekey = await vmExec(
      VM,
      'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && kill -HUP $(cat /run/sshd.pid)',
    );
    expect(rekey.code, rekey.stderr).toBe(0);
    // sshd re-executes itself on SIGHUP: wait until it greets again, so the refusal below is about
    // the key and not a connection refused in between.
    await eventually(
      async () =>
        (await bash(`timeout 2 bash -c 'exec 3<>/dev/tcp/${ip}/22 && head -c 4 <&3'`)).stdout === 'SSH-',
      10_000,
      'sshd greeting again',
    );
    const r = await swarmup(store, ['ssh', VM, '--', 'true']);
    expect(expectOneLineError(r)).toMatch(/SSH host key for .* has changed .* refusing to connect/);
    const p = await swarmup(store, ['provision', VM]);
    expect(expectOneLineError(p)).toMatch(/has changed/);
  });

  it('rm -y forgets the machine', async () => {
    const r = await swarmup(store, ['rm', '-y', VM]);
    expect(r.code, r.stderr).toBe(0);
    expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');
    expect(expectOneLineError(await swarmup(store, ['status', VM]))).toBe(
      `Docker machine "${VM}" does not exist`,
    );
  });
});
