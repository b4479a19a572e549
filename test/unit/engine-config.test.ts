import { describe, it, expect } from 'vitest';
import { renderEngineFiles, validateEngineOptions } from '../../src/provision/engine-config.js';
import { emptyEngineOptions } from '../../src/store/machine-config.js';
import { renderTemplate } from '../../src/util/template.js';
import { parseOsRelease, isDebianLike } from '../../src/provision/os-release.js';
import { installCommand } from '../../src/provision/engine-install.js';
import { dockerdCommand } from '../../src/provision/provisioner.js';
import { versionChanges } from '../../src/provision/engine-upgrade.js';

describe('renderTemplate', () => {
  it('substitutes values and refuses a missing one', () => {
    expect(renderTemplate('a {{x}} b {{ y }}', { x: 1, y: 'two' })).toBe('a 1 b two');
    expect(() => renderTemplate('{{nope}}', {})).toThrow(/"nope" is missing/);
  });
});

describe('renderEngineFiles', () => {
  it('turns on mutual TLS on the engine port and honours every engine flag', () => {
    const o = {
      ...emptyEngineOptions(),
      ArbitraryFlags: ['dns=10.0.0.2', 'debug'],
      Env: ['HTTP_PROXY=http://proxy:3128'],
      InsecureRegistry: ['reg.local:5000'],
      RegistryMirror: ['https://mirror.local'],
      Labels: ['zone=a'],
      StorageDriver: 'overlay2',
    };
    const f = renderEngineFiles(o, 2376, 'generic');
    const d = JSON.parse(f.daemonJson);
    expect(d.hosts).toEqual(['unix:///var/run/docker.sock', 'tcp://0.0.0.0:2376']);
    expect(d.tlsverify).toBe(true);
    expect(d.tlscacert).toBe('/etc/docker/ca.pem');
    expect(d.labels).toEqual(['zone=a', 'provider=generic']);
    expect(d['insecure-registries']).toEqual(['reg.local:5000']);
    expect(d['registry-mirrors']).toEqual(['https://mirror.local']);
    expect(d['storage-driver']).toBe('overlay2');
    expect(f.systemdOverride).toContain('ExecStart=\nExecStart=/usr/bin/dockerd --dns=10.0.0.2 --debug');
    expect(f.systemdOverride).toContain('Environment="HTTP_PROXY=http://proxy:3128"');
    expect(f.dockerdEnv).toContain('DOCKERD_FLAGS="--dns=10.0.0.2 --debug"');
    expect(f.dockerdEnv).toContain("export HTTP_PROXY='http://proxy:3128'");
  });

  it("keeps the unit's own dockerd and containerd socket, drops its -H fd:// and $DOCKER_OPTS", () => {
    const debian =
      'ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS';
    expect(dockerdCommand(['systemd', '/usr/sbin/dockerd', debian])).toBe(
      '/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock',
    );
    expect(dockerdCommand(['systemd', '/usr/bin/dockerd', 'ExecStart=/usr/bin/dockerd -H fd://'])).toBe(
      '/usr/bin/dockerd',
    );
    expect(dockerdCommand(['systemd', '/usr/local/bin/dockerd', ''])).toBe('/usr/local/bin/dockerd');
  });

  it("starts the dockerd the machine has under systemd (/usr/sbin on Debian's docker.io)", () => {
    const f = renderEngineFiles(emptyEngineOptions(), 2376, 'generic', undefined, '/usr/sbin/dockerd');
    expect(f.systemdOverride).toMatch(/^ExecStart=\/usr\/sbin\/dockerd$/m);
    expect(f.systemdOverride).not.toContain('/usr/bin/dockerd');
  });

  it('supervises dockerd by its absolute path where there is no systemd (pgrep -f $(which dockerd) finds it)', () => {
    const f = renderEngineFiles(emptyEngineOptions(), 2376, 'docker', undefined, '/usr/sbin/dockerd');
    expect(f.supervise).toMatch(/^ {2}'\/usr\/sbin\/dockerd' \$DOCKERD_FLAGS /m);
    expect(f.supervise).not.toMatch(/^\s*dockerd /m);
    const d = JSON.parse(f.daemonJson);
    expect([d.tlscacert, d.tlscert, d.tlskey]).toEqual([
      '/etc/docker/ca.pem',
      '/etc/docker/server.pem',
      '/etc/docker/server-key.pem',
    ]);
  });

  it('omits empty settings and keeps an adopted host’s own keys', () => {
    const f = renderEngineFiles(
      emptyEngineOptions(),
      3376,
      'generic',
      '{"log-driver":"journald","hosts":["fd://"]}',
    );
    const d = JSON.parse(f.daemonJson);
    expect(d['log-driver']).toBe('journald');
    expect(d.hosts).toEqual(['unix:///var/run/docker.sock', 'tcp://0.0.0.0:3376']);
    expect(d).not.toHaveProperty('storage-driver');
    expect(d).not.toHaveProperty('registry-mirrors');
  });

  it('is deterministic, so re-provisioning sees no change', () => {
    const o = { ...emptyEngineOptions(), Labels: ['a=b'] };
    expect(renderEngineFiles(o, 2376, 'generic')).toEqual(renderEngineFiles(o, 2376, 'generic'));
  });

  it('rejects engine options that would break the service file', () => {
    expect(() =>
      validateEngineOptions({ ...emptyEngineOptions(), ArbitraryFlags: ['dns=1; rm -rf /'] }),
    ).toThrow(/invalid --engine-opt/);
    expect(() => validateEngineOptions({ ...emptyEngineOptions(), Env: ['NOEQUALS'] })).toThrow(
      /invalid --engine-env/,
    );
    expect(() => validateEngineOptions({ ...emptyEngineOptions(), Labels: ['nolabel'] })).toThrow(
      /invalid --engine-label/,
    );
  });
});

describe('os-release and the install command', () => {
  it('detects Debian-like systems', () => {
    const deb = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
    expect(deb.ID).toBe('debian');
    expect(isDebianLike(deb)).toBe(true);
    expect(isDebianLike(parseOsRelease('ID=linuxmint\nID_LIKE="ubuntu debian"\n'))).toBe(true);
    expect(installCommand(deb)).toContain('apt-get install -y -qq docker.io');
  });

  it('uses the install URL when given and refuses unknown systems without one', () => {
    const fedora = parseOsRelease('ID=fedora\nPRETTY_NAME="Fedora Linux 40"\n');
    expect(() => installCommand(fedora)).toThrow(/cannot install Docker on Fedora Linux 40 automatically/);
    expect(installCommand(fedora, 'https://get.docker.com')).toContain("'https://get.docker.com'");
  });
});

describe('upgrade: what changed', () => {
  const before =
    'containerd=1.6.20~ds1-1+deb12u2\ndocker.io=20.10.24+dfsg1-1\nDocker version 20.10.24+dfsg1, build 5d6db84';
  it('names changed packages, not the unchanged dockerd line', () => {
    const after = before.replace('deb12u2', 'deb12u3');
    expect(versionChanges(before, after)).toEqual([
      'containerd 1.6.20~ds1-1+deb12u2 -> 1.6.20~ds1-1+deb12u3',
    ]);
    expect(versionChanges(before, before)).toEqual([]);
  });
  it('falls back to dockerd --version where there is no package database', () => {
    expect(versionChanges('Docker version 24.0.7, build a', 'Docker version 25.0.1, build b')).toEqual([
      'dockerd 24.0.7, build a -> 25.0.1, build b',
    ]);
    expect(versionChanges('', 'docker-ce=5:25.0.1-1\nDocker version 25.0.1, build b')).toEqual([
      'docker-ce (none) -> 5:25.0.1-1',
    ]);
  });
});
