/**
 * docker-machine scripts, run unchanged with only the program renamed: every line below is a shell
 * command line as a script writes it (no "--" inserted, options after operands, -f without -y), run
 * by bash with no terminal and stdin not a TTY, against swarmup on the PATH as `swarmup` and a store
 * named by docker-machine's MACHINE_STORAGE_PATH. What is asserted is what docker-machine printed and
 * exited with (docs/docker-machine-compat.md, the "same" rows), on the docker driver and on two
 * generic lab VMs, one logged into as a non-root sudo user.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labDocker, labDockerHost, labImages, labUp, removeVm, startVm, vmExec } from '../lab/lab.js';
import { eventually, run, scriptShell, tempDir, type Run } from './helpers.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';

const D = 'dmc-d1';
const G1 = 'dmc-g1';
const G2 = 'dmc-g2';
const VM1 = 'e2e-dmc-1';
const VM2 = 'e2e-dmc-2';

let work: string;
let store: string;
let key: string;
let ip1: string;
let ip2: string;

let line: (cmd: string, input?: string) => Promise<Run>;

/** The line exits 0; its stdout. */
async function ok(cmd: string, input?: string): Promise<string> {
  const r = await line(cmd, input);
  expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The line fails with `code`, and its last stderr line is `msg` (no stack trace). */
async function fails(cmd: string, code: number, msg: string | RegExp): Promise<Run> {
  const r = await line(cmd);
  expect(r.code, `${cmd}\n${r.stdout}${r.stderr}`).toBe(code);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  const last = r.stderr.trim().split('\n').pop()!;
  if (typeof msg === 'string') expect(last).toBe(msg);
  else expect(last).toMatch(msg);
  return r;
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-e2e-dmc-');
  store = join(work, 'machine-store');
  line = await scriptShell(work, {
    MACHINE_STORAGE_PATH: store,
    SWARMUP_STORAGE_PATH: '',
    DOCKER_HOST: labDockerHost,
    DOCKER_TLS_VERIFY: '',
    DOCKER_CERT_PATH: '',
    DOCKER_CONFIG: join(work, 'docker-config'),
    SHELL: '/bin/bash',
    NO_PROXY: '',
    no_proxy: '',
  });
  key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = await readFile(`${key}.pub`, 'utf8');
  await Promise.all([removeVm(VM1), removeVm(VM2)]);
  [{ ip: ip1 }, { ip: ip2 }] = await Promise.all([
    startVm(VM1, { image: 'vm', authorizedKey: pub }),
    startVm(VM2, { image: 'vm', authorizedKey: pub, user: 'deploy' }),
  ]);
});

afterAll(async () => {
  await line(`fusermount -u ${join(work, 'mnt')} 2>/dev/null; true`);
  await line(`swarmup rm -f ${D} ${G1} ${G2}`);
  const ids = (await labDocker(['ps', '-aq', '--filter', `label=swarmup.machine=${D}`])).stdout.trim();
  if (ids) await labDocker(['rm', '-f', '-v', ...ids.split('\n')]);
  await Promise.all([removeVm(VM1), removeVm(VM2)]);
  await rm(work, { recursive: true, force: true });
});

describe('docker-machine scripts on the docker driver', () => {
  it('create, with ENGINE_REGISTRY_MIRROR and engine options; a second create of the name fails', async () => {
    const r = await line(
      `ENGINE_REGISTRY_MIRROR=https://m1.example,https://m2.example swarmup create -d docker --docker-image ${labImages.node} --engine-label spam=eggs --engine-env=TEST=VALUE --engine-opt log-level=warn ${D}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(join(store, 'machines'))).toEqual([D]);
    await fails(
      `swarmup create -d docker --docker-image ${labImages.node} ${D}`,
      1,
      `Docker machine "${D}" already exists`,
    );
    const info = await ok(
      `docker $(swarmup config ${D}) info --format '{{json .Labels}} {{json .RegistryConfig.Mirrors}}'`,
    );
    expect(info).toContain('"spam=eggs"');
    expect(info).toContain('"https://m1.example/","https://m2.example/"');
  });

  it('ls, inspect, url, ip, status, version, config', async () => {
    expect(await ok('swarmup ls -q')).toBe(`${D}\n`);
    expect(await ok('swarmup ls -q --filter state=Running')).toBe(`${D}\n`);
    expect(await ok(`swarmup ls --filter name=^dmc- --timeout 20 --format '{{.Name}} {{.State}}'`)).toBe(
      `${D} Running\n`,
    );
    expect((await ok('swarmup ls -t 20')).split('\n')[0]).toMatch(
      /^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS$/,
    );
    await fails('swarmup inspect UNKNOWN', 1, /^Docker machine "UNKNOWN" does not exist/);
    const url = (await ok(`swarmup url ${D}`)).trim();
    expect(url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(await ok(`swarmup ip ${D}`)).toBe('127.0.0.1\n');
    expect(await ok(`swarmup status ${D}`)).toBe('Running\n');
    expect(await ok(`swarmup version ${D}`)).toMatch(/^\d+\.\d+/);
    expect(await ok(`swarmup inspect --format '{{.Driver.IPAddress}}' ${D}`)).toBe('127.0.0.1\n');
    const dir = join(store, 'machines', D);
    expect(await ok(`swarmup config ${D}`)).toBe(
      `--tlsverify\n--tlscacert="${dir}/ca.pem"\n--tlscert="${dir}/cert.pem"\n--tlskey="${dir}/key.pem"\n-H=${url}\n`,
    );
  });

  it('ssh passes everything after the machine name on, verbatim', async () => {
    expect((await ok(`swarmup ssh ${D} -- ls -lah /`)).split('\n')[0]).toMatch(/^total/);
    expect((await ok(`swarmup ssh ${D} ls -lah /`)).split('\n')[0]).toMatch(/^total/);
    const df = await line(`swarmup ssh ${D} df -h`);
    expect(df.code).toBe(0);
    expect(df.stdout).toMatch(/^Filesystem\s+Size/);
    expect(df.stdout).not.toContain('Usage:');
    expect(await ok(`swarmup ssh ${D} echo foo`)).toBe('foo\n');
    expect(await ok(`swarmup --native-ssh ssh ${D} echo foo`)).toBe('foo\n');
    expect(await ok(`MACHINE_NATIVE_SSH=1 swarmup ssh ${D} df -h`)).toMatch(/^Filesystem/);
    expect(await ok(`swarmup ssh ${D} -C echo foo`)).toBe('foo\n');
    expect(await ok(`swarmup ssh ${D} 'echo "a  b" | tr a x'`)).toBe('x  b\n');
    expect((await line(`swarmup ssh ${D} 'exit 3'`)).code).toBe(3);
    expect(await ok(`echo piped | swarmup ssh ${D} cat`)).toBe('piped\n');
  });

  it('the engine runs by its absolute path with the --engine-env variables; certificates where docker-machine kept them', async () => {
    const environ = await ok(`swarmup ssh ${D} 'cat /proc/$(pgrep -f $(which dockerd))/environ'`);
    expect(environ.split('\0')).toContain('TEST=VALUE');
    expect(
      await ok(
        `swarmup ssh ${D} 'stat -c "%n %a %U" /etc/docker/ca.pem /etc/docker/server.pem /etc/docker/server-key.pem'`,
      ),
    ).toBe(
      '/etc/docker/ca.pem 644 root\n/etc/docker/server.pem 644 root\n/etc/docker/server-key.pem 600 root\n',
    );
  });

  it('env, in every shell, byte for byte', async () => {
    const url = (await ok(`swarmup url ${D}`)).trim();
    const dir = join(store, 'machines', D);
    expect(await ok(`swarmup env ${D}`)).toBe(
      `export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="${url}"\nexport DOCKER_CERT_PATH="${dir}"\nexport DOCKER_MACHINE_NAME="${D}"\n# Run this command to configure your shell: \n# eval $(swarmup env ${D})\n`,
    );
    expect(await ok(`swarmup env --shell powershell --no-proxy ${D}`)).toBe(
      `$Env:DOCKER_TLS_VERIFY = "1"\n$Env:DOCKER_HOST = "${url}"\n$Env:DOCKER_CERT_PATH = "${dir}"\n$Env:DOCKER_MACHINE_NAME = "${D}"\n$Env:NO_PROXY = "127.0.0.1"\n# Run this command to configure your shell: \n# & swarmup env --shell powershell --no-proxy ${D} | Invoke-Expression\n`,
    );
    expect(await ok(`swarmup env --no-proxy ${D}`)).toContain('export NO_PROXY="127.0.0.1"\n');
    expect(await ok(`swarmup env --shell cmd --no-proxy ${D}`)).toBe(
      `SET DOCKER_TLS_VERIFY=1\nSET DOCKER_HOST=${url}\nSET DOCKER_CERT_PATH=${dir}\nSET DOCKER_MACHINE_NAME=${D}\nSET NO_PROXY=127.0.0.1\nREM Run this command to configure your shell: \nREM \t@FOR /f "tokens=*" %i IN ('swarmup env --shell cmd --no-proxy ${D}') DO @%i\n`,
    );
    expect(await ok(`swarmup env --shell fish --no-proxy ${D}`)).toBe(
      `set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "${url}";\nset -gx DOCKER_CERT_PATH "${dir}";\nset -gx DOCKER_MACHINE_NAME "${D}";\nset -gx NO_PROXY "127.0.0.1";\n# Run this command to configure your shell: \n# eval (swarmup env --shell fish --no-proxy ${D})\n`,
    );
    expect(await ok(`swarmup env --shell emacs --no-proxy ${D}`)).toBe(
      `(setenv "DOCKER_TLS_VERIFY" "1")\n(setenv "DOCKER_HOST" "${url}")\n(setenv "DOCKER_CERT_PATH" "${dir}")\n(setenv "DOCKER_MACHINE_NAME" "${D}")\n(setenv "NO_PROXY" "127.0.0.1")\n;; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command "swarmup env --shell emacs --no-proxy ${D}" (current-buffer)) (eval-buffer))\n`,
    );
    expect(await ok(`swarmup env --shell tcsh ${D}`)).toContain(
      `setenv DOCKER_MACHINE_NAME "${D}";\n: Run this command to configure your shell: \n: eval \`swarmup env --shell tcsh ${D}\`\n`,
    );
    expect(await ok(`NO_PROXY=localhost swarmup env --no-proxy ${D}`)).toContain(
      'export NO_PROXY="localhost,127.0.0.1"\n',
    );
    await fails(`swarmup env -u ${D}`, 1, 'Error: Expected no machine name when the -u flag is present');
    expect(await ok('swarmup env -u')).toBe(
      'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n# Run this command to configure your shell: \n# eval $(swarmup env -u)\n',
    );
    expect(await ok('swarmup env --no-proxy -u')).toContain('unset DOCKER_MACHINE_NAME\nunset NO_PROXY\n');
    expect(await ok('swarmup env --shell powershell -u')).toContain(
      'Remove-Item Env:\\\\DOCKER_TLS_VERIFY\nRemove-Item Env:\\\\DOCKER_HOST\n',
    );
    expect(await ok('swarmup env --shell fish -u')).toContain(
      'set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\n',
    );
    expect(await ok('swarmup env --shell cmd -u')).toContain('SET DOCKER_TLS_VERIFY=\nSET DOCKER_HOST=\n');
    expect(await ok('swarmup env --shell emacs -u')).toContain(
      '(setenv "DOCKER_TLS_VERIFY" nil)\n(setenv "DOCKER_HOST" nil)\n',
    );
    // The output is for eval: it points the docker CLI at the machine.
    expect(await ok(`eval $(swarmup env ${D}); docker info --format '{{.Name}}'`)).toBe(`${D}\n`);
  });

  it('scp through the engine API: both ways, -r, flags after the operands', async () => {
    await ok(`swarmup ssh ${D} 'echo A file created remotely! >/tmp/foo.txt'`);
    await ok(`swarmup scp ${D}:/tmp/foo.txt .`);
    expect(await readFile(join(work, 'foo.txt'), 'utf8')).toBe('A file created remotely!\n');
    await writeFile(join(work, 'local.txt'), 'A file created locally!\n');
    await ok(`swarmup scp local.txt ${D}:/tmp/foo.txt`);
    expect(await ok(`swarmup ssh ${D} cat /tmp/foo.txt`)).toBe('A file created locally!\n');
    await mkdir(join(work, 'tree', 'sub'), { recursive: true });
    await writeFile(join(work, 'tree', 'sub', 'f'), 'deep\n');
    await fails(`swarmup scp tree ${D}:/tmp/`, 1, /^scp: tree: not a regular file/);
    await ok(`swarmup scp tree ${D}:/tmp/ -r`);
    expect(await ok(`swarmup ssh ${D} cat /tmp/tree/sub/f`)).toBe('deep\n');
    await ok(`swarmup scp -r -q ${D}:/tmp/tree back`);
    expect(await readFile(join(work, 'back', 'sub', 'f'), 'utf8')).toBe('deep\n');
  });

  it('state errors of stop, kill, start, with docker-machine’s words and exit code 1', async () => {
    await ok(`swarmup stop ${D}`);
    expect(await ok(`swarmup ls --format '{{.State}}'`)).toBe('Stopped\n');
    for (const verb of ['url', 'env', 'version'])
      await fails(`swarmup ${verb} ${D}`, 1, 'Host is not running');
    await fails(`swarmup stop ${D}`, 1, `Machine "${D}" is already stopped.`);
    await fails(`swarmup kill ${D}`, 1, `Machine "${D}" is already stopped.`);
    await fails(`swarmup ssh ${D} echo hi`, 1, `Error: Cannot run SSH command: Host "${D}" is not running`);
    // "machine should upgrade even when machine is stopped", then "start should show an error after upgrade"
    const up = await line(`swarmup upgrade ${D}`);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('Starting machine so machine can be upgraded...');
    expect(up.stderr).toMatch(/Docker is up to date \(.+\); nothing changed\.|Upgraded /);
    await fails(`swarmup start ${D}`, 1, `Machine "${D}" is already running.`);
    await ok(`swarmup kill ${D}`);
    expect(await ok(`swarmup status ${D}`)).toBe('Stopped\n');
    await ok(`swarmup restart ${D}`);
    expect(await ok(`swarmup status ${D}`)).toBe('Running\n');
    expect(await ok(`docker $(swarmup config ${D}) info --format '{{.Name}}'`)).toBe(`${D}\n`);
  });

  it('Swarm classic flags are answered in one line naming the swarm-mode way; TLS flags refused', async () => {
    const r = await fails(
      `swarmup create -d docker --swarm --swarm-master --swarm-discovery token://abc dmc-classic`,
      1,
      /^--swarm(-master)? is Swarm classic, which swarm mode replaced: use "swarmup cluster up NAME/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(join(store, 'machines'))).toEqual([D]);
    await fails(`swarmup env --swarm ${D}`, 1, /^--swarm is Swarm classic .*"swarmup env MANAGER"/);
    await fails(
      'swarmup --tls-ca-cert /tmp/ca.pem ls',
      1,
      /^--tls-ca-cert is not supported: swarmup keeps one CA/,
    );
    expect((await line(`MACHINE_DEBUG=1 swarmup ssh ${D} true`)).stderr).toContain('[debug] docker exec');
  });

  it('rm: no answer without a terminal keeps the machine; -f alone removes; a failed remove with -f still forgets it and says what is left', async () => {
    await fails(`swarmup rm ${D}`, 1, /^No answer: not a terminal and nothing on stdin; pass -y to confirm$/);
    expect((await line(`echo n | swarmup rm ${D}`)).code).toBe(0);
    expect(await ok('swarmup ls -q')).toBe(`${D}\n`);
    // The engine the machine lives on is gone (as a cloud that does not answer): removing fails.
    const cfgPath = join(store, 'machines', D, 'config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    cfg.Driver.DockerHost = 'unix:///nonexistent.sock';
    await writeFile(cfgPath, JSON.stringify(cfg));
    const r = await line(`swarmup rm -f ${D}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `Warning: removing "${D}" failed \\(.*\\); removing its local record because of -f\\. Left behind may be the docker machine \\(ContainerName swarmup-${D}, ContainerId [0-9a-f]+\\)`,
      ),
    );
    expect(r.stderr).toContain(`Successfully removed ${D}`);
    expect(await ok('swarmup ls -q')).toBe('');
    // What was left, found by its label, then removed the way a user would.
    const ids = (await labDocker(['ps', '-aq', '--filter', `label=swarmup.machine=${D}`])).stdout.trim();
    expect(ids).not.toBe('');
    await labDocker(['rm', '-f', '-v', ...ids.split('\n')]);
    // -f on a name that does not exist: a line, exit 0 (CI cleanups); without -f: exit 1.
    const again = await line(`swarmup rm -f ${D}`);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`Docker machine "${D}" does not exist`);
    await fails(`swarmup rm ${D}`, 1, `Docker machine "${D}" does not exist`);
    await fails('swarmup rm', 1, 'Error: Expected to get one or more machine names as arguments');
  });
});

describe('docker-machine scripts on generic hosts (root, and a non-root sudo user)', () => {
  const gen = (name: string, ip: string, ...extra: string[]) =>
    `swarmup create --driver generic --generic-ip-address ${ip} --generic-ssh-key ${key} ${extra.join(' ')} ${name}`.replace(
      /\s+/g,
      ' ',
    );

  it('an --engine-install-url that cannot be fetched names curl’s error, then the fallback’s', async () => {
    // MACHINE_DOCKER_INSTALL_URL, as docker-machine read it, for --engine-install-url.
    const r = await line(
      `MACHINE_DOCKER_INSTALL_URL=http://127.0.0.1:9/get-docker.sh ${gen('dmc-bad', ip1)}`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /installing Docker failed: cannot download http:\/\/127\.0\.0\.1:9\/get-docker\.sh: curl: \(7\) Failed to connect[^;]*; wget: (not installed|.+)/,
    );
    expect(r.stderr).not.toMatch(/^sh: \d+: wget: not found$/m);
    const rm_ = await line('swarmup rm -f dmc-bad');
    expect(rm_.code, rm_.stderr).toBe(0);
  });

  it('creates both; the sudo user is in the docker group from the very next ssh on', async () => {
    const [a, b] = await Promise.all([line(gen(G1, ip1)), line(gen(G2, ip2, '--generic-ssh-user deploy'))]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(await ok(`swarmup ssh ${G2} id -un`)).toBe('deploy\n');
    expect(await ok(`swarmup ssh ${G2} docker ps -q`)).toBe('');
    expect((await ok(`swarmup ssh ${G2} id -nG`)).split(' ').map((g) => g.trim())).toContain('docker');
  });

  it('keeps the membership through provision and regenerate-certs, without touching it again', async () => {
    const groupLine = async () => (await vmExec(VM2, 'getent group docker')).stdout.trim();
    const before = await groupLine();
    await ok(`swarmup provision ${G2}`);
    await ok(`swarmup regenerate-certs -f ${G2}`);
    expect(await groupLine()).toBe(before);
    expect(await ok(`swarmup ssh ${G2} "docker info --format '{{.Name}}'"`)).toBe(`${VM2}\n`);
  });

  it('ssh: remote options verbatim, ssh(1) options first, OpenSSH and native', async () => {
    expect(await ok(`swarmup ssh ${G1} -C echo foo`)).toBe('foo\n');
    expect(await ok(`swarmup ssh ${G1} echo foo`)).toBe('foo\n');
    expect(await ok(`swarmup --native-ssh ssh ${G1} df -h`)).toMatch(/^Filesystem/);
    expect(await ok(`swarmup ssh ${G2} -- ls -lah /`)).toMatch(/^total/);
    expect(await ok(`swarmup ssh ${G1} ip -4 -o addr show eth0`)).toContain(`inet ${ip1}/`);
    // A login without a terminal reads its commands from stdin, with OpenSSH and natively.
    const login = await line(`swarmup ssh ${G1}`, 'echo via-openssh; exit 4\n');
    expect(login.code).toBe(4);
    expect(login.stdout).toMatch(/(^|\n)via-openssh\n$/);
    const native = await line(`swarmup --native-ssh ssh ${G2}`, 'id -un; exit 5\n');
    expect(native.code).toBe(5);
    expect(native.stdout).toMatch(/(^|\n)deploy\n$/);
    // The user's ssh(1) options reach OpenSSH (-v: its debug lines), after the pinned ones.
    expect((await line(`swarmup ssh ${G1} -v true`)).stderr).toMatch(/^debug1: /m);
    await fails(`swarmup ssh ${G1} --bogus`, 1, /^unknown ssh option "--bogus"/);
  });

  it('swarm init and join over ssh, as the walkthroughs type them', async () => {
    await ok(`swarmup ssh ${G1} docker swarm init --advertise-addr ${ip1}`);
    const token = (await ok(`swarmup ssh ${G1} docker swarm join-token -q worker`)).trim();
    expect(await ok(`swarmup ssh ${G2} docker swarm join --token ${token} ${ip1}:2377`)).toContain(
      'This node joined a swarm as a worker.',
    );
    expect(await ok(`swarmup ssh ${G1} "docker node ls --format '{{.Hostname}} {{.Status}}'"`)).toBe(
      `${VM1} Ready\n${VM2} Ready\n`,
    );
  });

  it('scp between two machines reads both pinned host keys; -d uses rsync where both ends have it', async () => {
    await ok(`swarmup ssh ${G1} 'echo A file hopping around! >/tmp/foo.txt'`);
    await ok(`swarmup scp ${G1}:/tmp/foo.txt ${G2}:/tmp/foo.txt`);
    expect(await ok(`swarmup ssh ${G2} cat /tmp/foo.txt`)).toBe('A file hopping around!\n');
    await ok(`swarmup scp root@${G1}:/tmp/foo.txt deploy@${G2}:/tmp/bar.txt`);
    expect(await ok(`swarmup ssh ${G2} cat /tmp/bar.txt`)).toBe('A file hopping around!\n');
    // The host keys came from the store's pins, and nothing was added to the user's own known_hosts.
    const userKnown = await readFile(join(process.env.HOME ?? '/root', '.ssh', 'known_hosts'), 'utf8').catch(
      () => '',
    );
    expect(userKnown).not.toContain(ip1);
    expect(userKnown).not.toContain(ip2);
    await ok(
      `swarmup ssh ${G2} 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null 2>&1'`,
    );
    const d = await line(`swarmup scp -d local.txt ${G2}:/tmp/delta.txt`);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('to-chk=0/1');
    expect(await ok(`swarmup ssh ${G2} cat /tmp/delta.txt`)).toBe('A file created locally!\n');
    const q = await line(`swarmup scp -d -q local.txt ${G2}:/tmp/delta2.txt`);
    expect([q.code, q.stdout]).toEqual([0, '']);
    const fallback = await line(`swarmup scp -d local.txt ${G1}:/tmp/delta.txt`);
    expect(fallback.code).toBe(0);
    expect(fallback.stderr).toContain(`-d: rsync is not installed on ${G1}; copying with scp instead`);
    expect(await ok(`swarmup ssh ${G1} cat /tmp/delta.txt`)).toBe('A file created locally!\n');
  });

  it('mount and unmount a machine directory with sshfs', async () => {
    await mkdir(join(work, 'mnt'));
    await ok(`swarmup mount ${G2}:/tmp mnt`);
    expect(await readFile(join(work, 'mnt', 'bar.txt'), 'utf8')).toBe('A file hopping around!\n');
    await ok(`swarmup mount -u ${G2}:/tmp mnt`);
    expect(await readdir(join(work, 'mnt'))).toEqual([]);
  });

  it('engine and certificates where docker-machine put them; start and stop as docker-machine answered them', async () => {
    const pids = (await ok(`swarmup ssh ${G1} 'pgrep -f $(which dockerd)'`)).trim().split('\n');
    expect(pids).toHaveLength(1);
    expect(await ok(`swarmup ssh ${G2} 'sudo stat -c "%n %a" /etc/docker/server-key.pem'`)).toBe(
      '/etc/docker/server-key.pem 600\n',
    );
    expect((await vmExec(VM2, 'test -e /etc/docker/swarmup')).code).not.toBe(0);
    await fails(`swarmup start ${G1}`, 1, `Machine "${G1}" is already running.`);
    await fails(`swarmup stop ${G1}`, 1, 'generic driver does not support stop');
  });

  it('upgrade: a no-op when current; an older engine package upgraded, the engine restarted, certificates and swarm kept', async () => {
    const noop = await line(`swarmup upgrade ${G1}`);
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stderr).toMatch(/Docker is up to date \(20\.10\.\d+.*\); nothing changed\./);
    // An older containerd from the security suite, as a machine that missed an update has.
    const older = await vmExec(
      VM1,
      "v=$(apt-cache madison containerd | awk '{print $3}' | sort -V | head -n1); DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades containerd=$v >/dev/null 2>&1; dpkg-query -W -f '${Version}' containerd",
    );
    const cert = (await vmExec(VM1, 'md5sum /etc/docker/server.pem')).stdout;
    const pid = (await ok(`swarmup ssh ${G1} 'pgrep -f $(which dockerd)'`)).trim();
    const r = await line(`swarmup upgrade ${G1}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Upgraded containerd ${older.stdout} -> `);
    expect(r.stderr).toContain('engine restarted, certificates and swarm state kept.');
    expect((await ok(`swarmup ssh ${G1} 'pgrep -f $(which dockerd)'`)).trim()).not.toBe(pid);
    expect((await vmExec(VM1, 'md5sum /etc/docker/server.pem')).stdout).toBe(cert);
    // The worker is Unknown to the restarted manager until its next heartbeat.
    await eventually(
      async () =>
        (await line(`swarmup ssh ${G1} "docker node ls --format '{{.Hostname}} {{.Status}}'"`)).stdout ===
        `${VM1} Ready\n${VM2} Ready\n`,
      60_000,
      'both nodes Ready after the upgrade',
    );
    expect(await ok(`docker $(swarmup config ${G1}) info --format '{{.Swarm.LocalNodeState}}'`)).toBe(
      'active\n',
    );
  });

  it('rm -f without -y, no terminal: both gone', async () => {
    const r = await line(`swarmup rm -f ${G1} ${G2}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Successfully removed ${G1}`);
    expect(await ok('swarmup ls -q')).toBe('');
  });
});

describe("the Aliyun walkthrough's exports and create/ssh lines (docker-machine-driver-aliyunecs)", () => {
  const PASSWORD = 'Walk1-through!';
  let emu: AliyunEmulator;
  let exports = '';

  beforeAll(async () => {
    emu = await startAliyunEmulator({ backing: { image: 'node' }, addressPrefix: '127.88.9.' });
    exports = [
      `export ECS_ACCESS_KEY_ID=${emu.accessKeyId}`,
      `export ECS_ACCESS_KEY_SECRET=${emu.accessKeySecret}`,
      `export ECS_REGION=${emu.regionId}`,
      `export ECS_API_ENDPOINT=${emu.endpoint}`,
      `export ECS_SSH_PASSWORD='${PASSWORD}'`,
      'export ECS_IO_OPTIMIZED=true',
      'export ECS_UPGRADE_KERNEL=true',
    ].join('; ');
  });

  afterAll(async () => {
    await line(`${exports}; swarmup rm -f node-1`);
    await emu?.stop();
  });

  it('a password Aliyun would refuse is refused before any API call, without showing it', async () => {
    const calls = emu.requests().length;
    const r = await line(`${exports}; export ECS_SSH_PASSWORD=password1; swarmup create -d aliyunecs node-9`);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "invalid --aliyunecs-ssh-password (ECS_SSH_PASSWORD): it has 2 of the four kinds of characters; Aliyun needs 8 to 30 characters, with at least three of: upper case letters, lower case letters, digits, and the special characters ()`~!@#$%^&*-_+=|{}[]:;'<>,.?/",
    );
    expect(emu.requests().length).toBe(calls);
  });

  it('create -d aliyunecs node-1: the password goes to CreateInstance only; login stays with the key', async () => {
    const r = await line(`${exports}; swarmup -D create -d aliyunecs node-1`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'Setting the root password from --aliyunecs-ssh-password (ECS_SSH_PASSWORD); swarmup still logs in with its SSH key',
    );
    expect(r.stderr).toMatch(
      /^Warning: swarmup does not act on --aliyunecs-upgrade-kernel \(ECS_UPGRADE_KERNEL: /m,
    );
    expect(r.stderr).toMatch(/^\[debug\] CreateInstance \{.*"Password":"\*\*\*"/m);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
    const create = emu.requests().filter((q) => q.path === 'CreateInstance');
    expect(create.map((q) => q.params.Password)).toEqual([PASSWORD]);
    expect(create[0].params.IoOptimized).toBe('optimized');
    for (const f of await readdir(store, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const text = await readFile(join(f.parentPath, f.name), 'utf8');
      expect(text, join(f.parentPath, f.name)).not.toContain(PASSWORD);
    }
    const ip = (await ok(`swarmup inspect -f '{{.Driver.InternalIPAddress}}' node-1`)).trim();
    // The walkthrough's shell still has the exports: ssh asks the cloud for the machine's state.
    expect(await ok(`${exports}; swarmup ssh node-1 docker swarm init --advertise-addr ${ip}`)).toContain(
      'Swarm initialized',
    );
    expect(await ok(`${exports}; swarmup ssh node-1 "docker node ls --format '{{.Status}}'"`)).toBe(
      'Ready\n',
    );
  });

  it('rm -y node-1 leaves nothing in the cloud', async () => {
    expect((await line(`${exports}; swarmup rm -y node-1`)).code).toBe(0);
    expect(emu.resourceCount()).toBe(0);
  });
});
