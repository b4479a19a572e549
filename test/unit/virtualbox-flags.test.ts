import { describe, it, expect } from 'vitest';
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { flagOption } from '../../src/commands/create-options.js';
import { driverFlagValues } from '../../src/commands/driver-flags.js';
import { findDriver } from '../../src/driver/registry.js';
import { DEFAULT_IMAGE_URL } from '../../drivers/virtualbox/defaults.js';
import { settingsFromFlags, shareFromFlags } from '../../drivers/virtualbox/settings.js';

const plugin = findDriver('virtualbox');

/** Parse argv (and env) as `swarmup create --driver virtualbox` does. */
function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = new Command().exitOverride();
    for (const f of plugin.flags) cmd.addOption(flagOption(f));
    cmd.parse(argv, { from: 'user' });
    return driverFlagValues(plugin, cmd.opts());
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('virtualbox flags', () => {
  it("keeps docker-machine's flag names, environment variables and defaults", () => {
    const byName = Object.fromEntries(plugin.flags.map((f) => [f.name, f]));
    expect(byName['virtualbox-memory']).toMatchObject({ env: 'VIRTUALBOX_MEMORY_SIZE', default: 1024 });
    expect(byName['virtualbox-cpu-count']).toMatchObject({ env: 'VIRTUALBOX_CPU_COUNT', default: 1 });
    expect(byName['virtualbox-disk-size']).toMatchObject({ env: 'VIRTUALBOX_DISK_SIZE', default: 20000 });
    expect(byName['virtualbox-hostonly-cidr']).toMatchObject({
      env: 'VIRTUALBOX_HOSTONLY_CIDR',
      default: '192.168.99.1/24',
    });
    expect(byName['virtualbox-hostonly-nictype']).toMatchObject({
      env: 'VIRTUALBOX_HOSTONLY_NIC_TYPE',
      default: '82540EM',
    });
    expect(byName['virtualbox-hostonly-nicpromisc']).toMatchObject({
      env: 'VIRTUALBOX_HOSTONLY_NIC_PROMISC',
      default: 'deny',
    });
    expect(byName['virtualbox-nat-nictype']).toMatchObject({
      env: 'VIRTUALBOX_NAT_NICTYPE',
      default: '82540EM',
    });
    expect(byName['virtualbox-ui-type']).toMatchObject({ env: 'VIRTUALBOX_UI_TYPE', default: 'headless' });
    expect(byName['virtualbox-no-share']).toMatchObject({ env: 'VIRTUALBOX_NO_SHARE', type: 'boolean' });
    expect(byName['virtualbox-share-folder']).toMatchObject({ env: 'VIRTUALBOX_SHARE_FOLDER' });
    expect(byName['virtualbox-host-dns-resolver']).toMatchObject({ env: 'VIRTUALBOX_HOST_DNS_RESOLVER' });
    expect(byName['virtualbox-no-dns-proxy']).toMatchObject({ env: 'VIRTUALBOX_NO_DNS_PROXY' });
    expect(byName['virtualbox-image-url']).toMatchObject({
      env: 'VIRTUALBOX_IMAGE_URL',
      default: DEFAULT_IMAGE_URL,
    });
    expect(DEFAULT_IMAGE_URL).toMatch(
      /^https:\/\/cloud-images\.ubuntu\.com\/.*-server-cloudimg-amd64\.vmdk$/,
    );
    expect(
      plugin.flags.every((f) => f.name.startsWith('virtualbox-') && f.env?.startsWith('VIRTUALBOX_')),
    ).toBe(true);
  });

  it('defaults give a 1 CPU, 1 GB, 20 GB VM on 192.168.99.1/24 with the home directories shared', () => {
    const s = settingsFromFlags(parse([]));
    expect(s).toMatchObject({
      memory: 1024,
      cpus: 1,
      diskSizeMb: 20000,
      imageUrl: DEFAULT_IMAGE_URL,
      hostOnlyCidr: '192.168.99.1/24',
      hostOnlyNicType: '82540EM',
      hostOnlyPromisc: 'deny',
      natNicType: '82540EM',
      hostDnsResolver: false,
      dnsProxy: true,
      uiType: 'headless',
      shutdownTimeoutSec: 60,
    });
    expect(s.share).toBeDefined();
    expect(s.imageChecksum).toBeUndefined();
  });

  it('flags and environment variables', () => {
    const s = settingsFromFlags(
      parse(
        [
          '--virtualbox-memory',
          '2048',
          '--virtualbox-no-share',
          '--virtualbox-hostonly-nictype',
          'virtio',
          '--virtualbox-image-checksum',
          `sha256:${'AB'.repeat(32)}`,
          '--virtualbox-no-dns-proxy',
        ],
        {
          VIRTUALBOX_CPU_COUNT: '2',
          VIRTUALBOX_HOSTONLY_CIDR: '192.168.56.1/24',
          VIRTUALBOX_HOST_DNS_RESOLVER: '1',
        },
      ),
    );
    expect(s).toMatchObject({
      memory: 2048,
      cpus: 2,
      hostOnlyCidr: '192.168.56.1/24',
      hostOnlyNicType: 'virtio',
    });
    expect(s.share).toBeUndefined();
    expect(s.dnsProxy).toBe(false);
    expect(s.hostDnsResolver).toBe(true);
    expect(s.imageChecksum).toBe(`sha256:${'AB'.repeat(32)}`);
  });

  it('a CPU count below 1 means every host CPU (at most 32), as docker-machine did', () => {
    expect(settingsFromFlags({ 'virtualbox-cpu-count': 0 }).cpus).toBe(Math.min(availableParallelism(), 32));
    expect(settingsFromFlags({ 'virtualbox-cpu-count': -1 }).cpus).toBe(Math.min(availableParallelism(), 32));
  });

  it('refuses bad values with one clear message', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [
        { 'virtualbox-hostonly-nictype': 'e1000' },
        /--virtualbox-hostonly-nictype "e1000": expected one of Am79C970A/,
      ],
      [{ 'virtualbox-hostonly-nicpromisc': 'yes' }, /expected one of deny, allow-vms, allow-all/],
      [{ 'virtualbox-ui-type': 'vnc' }, /--virtualbox-ui-type "vnc"/],
      [{ 'virtualbox-memory': 64 }, /--virtualbox-memory "64": expected a whole number of at least 256/],
      [{ 'virtualbox-disk-size': 10 }, /--virtualbox-disk-size/],
      [{ 'virtualbox-hostonly-cidr': '192.168.99.0/24' }, /not a network address/],
      [{ 'virtualbox-image-url': 'ftp://x/y.vmdk' }, /only https:\/\/, http:\/\/ and file:\/\//],
      [{ 'virtualbox-image-url': 'not a url' }, /expected an https:\/\//],
      [{ 'virtualbox-image-checksum': 'md5:abc' }, /expected sha256:<64 hex digits> or sha512/],
      [{ 'virtualbox-boot2docker-url': 'https://x/boot2docker.iso' }, /boot2docker is no longer maintained/],
      [{ 'virtualbox-share-folder': '/srv:bad name' }, /expected dir:name/],
    ];
    for (const [flags, re] of bad)
      expect(() => settingsFromFlags(flags as never), JSON.stringify(flags)).toThrow(re);
  });

  it('shares what docker-machine shared, or --virtualbox-share-folder dir:name', () => {
    expect(shareFromFlags({}, 'linux')).toEqual({
      hostPath: '/home',
      name: 'hosthome',
      mountPoint: '/hosthome',
    });
    expect(shareFromFlags({}, 'darwin')).toEqual({ hostPath: '/Users', name: 'Users', mountPoint: '/Users' });
    expect(shareFromFlags({}, 'win32')).toMatchObject({ hostPath: 'C:\\Users', name: 'c/Users' });
    expect(shareFromFlags({ 'virtualbox-share-folder': '/srv/code:code' }, 'linux')).toEqual({
      hostPath: '/srv/code',
      name: 'code',
      mountPoint: '/code',
    });
    expect(
      shareFromFlags({ 'virtualbox-no-share': true, 'virtualbox-share-folder': '/srv:x' }, 'linux'),
    ).toBeUndefined();
  });
});
