import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { buildSeedIso, metaData, networkConfig, userData } from '../../drivers/virtualbox/cloud-init.js';
import { buildIso9660 } from '../../drivers/virtualbox/iso9660.js';
import { readIso9660 } from '../vbox-sim/iso9660.js';
import { cloudInitScript, dhcp4Enabled, readSeed } from '../vbox-sim/cloud-init.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq5m0rbOB4bWcBd0eJ8c3bJ6S0l1oC0vI8Tb2d1XyZ9 swarmup-node-1';
const MACS = { nat: '0800271A2B3C', hostOnly: '080027D4E5F6' };
const opts = { hostname: 'node-1', instanceId: 'iid-1234', user: 'docker', publicKey: KEY, macs: MACS };
const NAT = { name: 'enp0s3', mac: MACS.nat };
const HOSTONLY = { name: 'enp0s8', mac: MACS.hostOnly };
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

describe('NoCloud seed ISO', () => {
  const iso = buildSeedIso({ ...opts, share: { name: 'hosthome', mountPoint: '/hosthome' } }, DATE);

  it('is an ISO9660 image whose volume descriptors add up', () => {
    expect(iso.length % 2048).toBe(0);
    const pvd = iso.subarray(16 * 2048, 17 * 2048);
    expect(pvd[0]).toBe(1);
    expect(pvd.subarray(1, 6).toString()).toBe('CD001');
    expect(pvd.readUInt32LE(80)).toBe(iso.length / 2048);
    expect(pvd.readUInt32BE(84)).toBe(iso.length / 2048);
    expect(pvd.readUInt16LE(128)).toBe(2048);
    expect(pvd.subarray(813, 827).toString()).toBe('20260102030405');
    const svd = iso.subarray(17 * 2048, 18 * 2048);
    expect(svd[0]).toBe(2);
    expect(svd.subarray(88, 91).toString()).toBe('%/E');
    expect(iso[18 * 2048]).toBe(255);
  });

  it('reads back (Joliet names) as volume cidata with user-data, meta-data and network-config', () => {
    const img = readIso9660(iso);
    expect(img.volumeId).toBe('cidata');
    expect(img.names).toBe('joliet');
    expect([...img.files.keys()].sort()).toEqual(['meta-data', 'network-config', 'user-data']);
    expect(img.files.get('network-config')!.toString()).toBe(networkConfig(opts));
    expect(img.files.get('user-data')!.toString()).toBe(
      userData({ ...opts, share: { name: 'hosthome', mountPoint: '/hosthome' } }),
    );
    expect(img.files.get('meta-data')!.toString()).toBe(metaData(opts));
  });

  it('also reads back through the primary names alone (8.3 names, as Linux maps them)', () => {
    const img = readIso9660(iso, { names: 'primary' });
    expect(img.names).toBe('primary');
    expect([...img.files.keys()].sort()).toEqual(['meta-data', 'network-config', 'user-data']);
    expect(img.files.get('meta-data')!.toString()).toBe(metaData(opts));
  });

  it('user-data: hostname, a docker user with passwordless sudo and only our key, no root login', () => {
    const text = readIso9660(iso).files.get('user-data')!.toString();
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const ud = parse(text);
    expect(ud.hostname).toBe('node-1');
    expect(ud.users).toEqual([
      {
        name: 'docker',
        gecos: 'swarmup',
        groups: ['sudo'],
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        shell: '/bin/bash',
        lock_passwd: true,
        ssh_authorized_keys: [KEY],
      },
    ]);
    expect(ud.disable_root).toBe(true);
    expect(ud.ssh_pwauth).toBe(false);
    expect(ud.mounts).toEqual([
      ['hosthome', '/hosthome', 'vboxsf', 'defaults,nofail,uid=1000,gid=1000', '0', '0'],
    ]);
  });

  it('meta-data names the instance and the host', () => {
    expect(parse(readIso9660(iso).files.get('meta-data')!.toString())).toEqual({
      'instance-id': 'iid-1234',
      'local-hostname': 'node-1',
    });
  });

  it('network-config (v2): DHCPv4 on both NICs, matched by the MACs the driver set; routes and DNS from NAT only', () => {
    const nc = parse(readIso9660(iso).files.get('network-config')!.toString());
    expect(nc).toEqual({
      version: 2,
      ethernets: {
        nat: { match: { macaddress: '08:00:27:1a:2b:3c' }, dhcp4: true },
        hostonly: {
          match: { macaddress: '08:00:27:d4:e5:f6' },
          dhcp4: true,
          'dhcp4-overrides': { 'use-routes': false, 'use-dns': false },
        },
      },
    });
  });

  it('without a share there is no mounts entry', () => {
    expect(parse(userData(opts)).mounts).toBeUndefined();
  });

  it('the simulator applies it as cloud-init would: user, sudo rule, key, hostname, no root key', () => {
    const seed = readSeed(iso)!;
    const { script, ignored } = cloudInitScript(seed);
    expect(ignored).toEqual(['mounts']);
    expect(script).toContain("hostname 'node-1'");
    expect(script).toMatch(/useradd -m -U -s '\/bin\/bash' 'docker'/);
    expect(script).toContain("'docker ALL=(ALL) NOPASSWD:ALL'");
    expect(script).toContain(`'${KEY}'`);
    expect(script).toContain('rm -f /root/.ssh/authorized_keys');
  });

  it("the simulator's guest runs DHCP on the host-only NIC because the seed's network-config says so", () => {
    const seed = readSeed(iso)!;
    expect(seed.networkConfig).toBe(networkConfig(opts));
    expect(dhcp4Enabled(seed, HOSTONLY, NAT)).toBe(true);
    expect(dhcp4Enabled(seed, NAT, NAT)).toBe(true);
    // Another NIC (another MAC) is not matched.
    expect(dhcp4Enabled(seed, { name: 'enp0s9', mac: '080027000001' }, NAT)).toBe(false);
  });

  it("without network-config, cloud-init's fallback: DHCP on the first NIC only, none on the host-only NIC", () => {
    const seed = { ...readSeed(iso)!, networkConfig: undefined };
    expect(dhcp4Enabled(seed, NAT, NAT)).toBe(true);
    expect(dhcp4Enabled(seed, HOSTONLY, NAT)).toBe(false);
    expect(dhcp4Enabled(undefined, HOSTONLY, NAT)).toBe(false);
  });

  it('network-config matched by name (globs, or the entry named after the interface), v1, disabled', () => {
    const with_ = (networkConfig: string) => ({ userData: '', metaData: '', networkConfig });
    const v2 = (e: string) => with_(`network:\n  version: 2\n  ethernets:\n${e}`);
    expect(
      dhcp4Enabled(v2('    all:\n      match: {name: "enp*"}\n      dhcp4: true\n'), HOSTONLY, NAT),
    ).toBe(true);
    expect(dhcp4Enabled(v2('    enp0s8:\n      dhcp4: true\n'), HOSTONLY, NAT)).toBe(true);
    expect(dhcp4Enabled(v2('    enp0s8:\n      dhcp4: false\n'), HOSTONLY, NAT)).toBe(false);
    // Both match keys must hold.
    expect(
      dhcp4Enabled(
        v2('    x:\n      match: {name: enp0s8, macaddress: "08:00:27:00:00:01"}\n      dhcp4: true\n'),
        HOSTONLY,
        NAT,
      ),
    ).toBe(false);
    const v1 = with_(
      'version: 1\nconfig:\n  - type: physical\n    name: eth1\n    mac_address: "08:00:27:d4:e5:f6"\n    subnets: [{type: dhcp}]\n',
    );
    expect(dhcp4Enabled(v1, HOSTONLY, NAT)).toBe(true);
    expect(dhcp4Enabled(v1, NAT, NAT)).toBe(false);
    expect(dhcp4Enabled(with_('network: {config: disabled}\n'), NAT, NAT)).toBe(false);
  });

  it('a volume not labelled cidata is not a seed', () => {
    const other = buildIso9660({
      volumeId: 'DATA',
      files: [{ name: 'user-data', content: '#cloud-config\n' }],
    });
    expect(readSeed(other)).toBeUndefined();
  });

  it('refuses more files than one directory sector holds', () => {
    const files = Array.from({ length: 60 }, (_, i) => ({
      name: `file-with-a-long-name-${i}`,
      content: 'x',
    }));
    expect(() => buildIso9660({ volumeId: 'x', files })).toThrow(/one-sector/);
  });
});

describe("the simulator's ISO9660 reader on images genisoimage made", () => {
  const fixture = (name: string) =>
    gunzipSync(readFileSync(new URL(`../vbox-sim/fixtures/${name}`, import.meta.url)));

  it("Joliet + Rock Ridge (cloud-init documentation's command): the Joliet names", () => {
    const img = readIso9660(fixture('genisoimage-joliet-rock.iso.gz'));
    expect(img).toMatchObject({ volumeId: 'cidata', names: 'joliet' });
    expect(img.files.get('user-data')!.toString()).toBe('#cloud-config\nhostname: fixture\n');
    expect(readSeed(fixture('genisoimage-joliet-rock.iso.gz'))?.metaData).toBe(
      'instance-id: fx-1\nlocal-hostname: fixture\n',
    );
  });

  it('Rock Ridge only: the NM names', () => {
    const img = readIso9660(fixture('genisoimage-rock.iso.gz'));
    expect(img.names).toBe('rockridge');
    expect([...img.files.keys()].sort()).toEqual(['meta-data', 'user-data']);
  });

  it('primary names only: the 8.3 names genisoimage made up', () => {
    const img = readIso9660(fixture('genisoimage-rock.iso.gz'), { names: 'primary' });
    expect([...img.files.keys()].sort()).toEqual(['meta_dat', 'user_dat']);
  });
});
