import { describe, it, expect } from 'vitest';
import {
  checkCollisions,
  parseProcRoutes,
  type HostNet,
  parseDhcpServers,
  parseHostOnlyCidr,
  parseHostOnlyIfs,
} from '../../drivers/virtualbox/hostonly.js';
import { hostOnlyNetName, parseHostOnlyNets } from '../../drivers/virtualbox/hostonlynet.js';

describe('--virtualbox-hostonly-cidr', () => {
  it("docker-machine's default: host .1, DHCP server .2, leases .100-.254", () => {
    expect(parseHostOnlyCidr('192.168.99.1/24')).toEqual({
      ip: '192.168.99.1',
      prefix: 24,
      netmask: '255.255.255.0',
      network: '192.168.99.0',
      broadcast: '192.168.99.255',
      dhcp: { server: '192.168.99.2', lower: '192.168.99.100', upper: '192.168.99.254' },
    });
  });

  it('keeps the DHCP server and the leases off the host address', () => {
    expect(parseHostOnlyCidr('192.168.56.2/24').dhcp).toEqual({
      server: '192.168.56.3',
      lower: '192.168.56.100',
      upper: '192.168.56.254',
    });
    expect(parseHostOnlyCidr('192.168.56.150/24').dhcp.lower).toBe('192.168.56.151');
  });

  it('small and large networks', () => {
    expect(parseHostOnlyCidr('10.9.0.1/28')).toMatchObject({
      netmask: '255.255.255.240',
      dhcp: { server: '10.9.0.2', lower: '10.9.0.8', upper: '10.9.0.14' },
    });
    expect(parseHostOnlyCidr('10.9.0.1/16')).toMatchObject({
      netmask: '255.255.0.0',
      broadcast: '10.9.255.255',
      dhcp: { lower: '10.9.0.100', upper: '10.9.255.254' },
    });
  });

  it('refuses a network address, a broadcast address, bad syntax and odd prefixes', () => {
    expect(() => parseHostOnlyCidr('192.168.99.0/24')).toThrow(/host address, not a network address/);
    expect(() => parseHostOnlyCidr('192.168.99.255/24')).toThrow(/broadcast/);
    expect(() => parseHostOnlyCidr('192.168.99.1')).toThrow(/expected an IPv4 address\/prefix/);
    expect(() => parseHostOnlyCidr('192.168.299.1/24')).toThrow(/expected an IPv4/);
    expect(() => parseHostOnlyCidr('192.168.99.1/30')).toThrow(/between \/8 and \/29/);
    expect(() => parseHostOnlyCidr('10.0.0.1/7')).toThrow(/between \/8 and \/29/);
  });
});

const HOSTONLYIFS = `Name:            vboxnet10
GUID:            786f6276-656e-4174-b000-0a002700000a
DHCP:            Disabled
IPAddress:       192.168.66.1
NetworkMask:     255.255.255.0
IPV6Address:     
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:0a
MediumType:      Ethernet
Wireless:        No
Status:          Down
VBoxNetworkName: HostInterfaceNetworking-vboxnet10

Name:            vboxnet11
GUID:            786f6276-656e-4174-b100-0a002700000b
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:     
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:0b
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet11

`;

describe('VBoxManage list hostonlyifs / dhcpservers', () => {
  it('host-only interfaces', () => {
    expect(parseHostOnlyIfs(HOSTONLYIFS)).toEqual([
      {
        name: 'vboxnet10',
        ip: '192.168.66.1',
        netmask: '255.255.255.0',
        status: 'Down',
        networkName: 'HostInterfaceNetworking-vboxnet10',
      },
      {
        name: 'vboxnet11',
        ip: '192.168.99.1',
        netmask: '255.255.255.0',
        status: 'Up',
        networkName: 'HostInterfaceNetworking-vboxnet11',
      },
    ]);
  });

  it('DHCP servers in the VirtualBox 5/6.0 format and in the 6.1+ format', () => {
    const old = `NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.99.2
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.99.100
upperIPAddress: 192.168.99.254
Enabled:        Yes

`;
    const v7 = `NetworkName:    HostInterfaceNetworking-vboxnet0
Dhcpd IP:       192.168.56.100
LowerIPAddress: 192.168.56.101
UpperIPAddress: 192.168.56.254
NetworkMask:    255.255.255.0
Enabled:        No
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Groups:               None
Individual Configs:   None
`;
    expect(parseDhcpServers(old)).toEqual([
      {
        networkName: 'HostInterfaceNetworking-vboxnet0',
        ip: '192.168.99.2',
        netmask: '255.255.255.0',
        lower: '192.168.99.100',
        upper: '192.168.99.254',
        enabled: true,
      },
    ]);
    expect(parseDhcpServers(v7)).toEqual([
      {
        networkName: 'HostInterfaceNetworking-vboxnet0',
        ip: '192.168.56.100',
        netmask: '255.255.255.0',
        lower: '192.168.56.101',
        upper: '192.168.56.254',
        enabled: false,
      },
    ]);
  });
});

describe('collisions with host networks', () => {
  const net = parseHostOnlyCidr('192.168.99.1/24');
  const ifs = parseHostOnlyIfs(HOSTONLYIFS);
  const iface = (name: string, address: string, prefix: number): HostNet => ({
    name,
    address,
    network: address.replace(/\.\d+$/, '.0'),
    prefix,
  });

  it("VirtualBox's own interface for this network is no collision, up or without carrier", () => {
    expect(() => checkCollisions(net, ifs, [iface('vboxnet11', '192.168.99.1', 24)])).not.toThrow();
    // No VM running: the interface has no carrier and only the routing table shows it.
    expect(() =>
      checkCollisions(net, ifs, [{ name: 'vboxnet11', network: '192.168.99.0', prefix: 24 }]),
    ).not.toThrow();
  });

  it('a LAN on the same network is', () => {
    expect(() => checkCollisions(net, ifs, [iface('wlan0', '192.168.99.23', 24)])).toThrow(
      /conflicts with the host interface wlan0 \(192\.168\.99\.23\/24\)/,
    );
    expect(() =>
      checkCollisions(
        net,
        [],
        [{ name: 'eth0', address: '192.168.1.5', network: '192.168.0.0', prefix: 16 }],
      ),
    ).toThrow(/eth0/);
  });

  it("a second interface with the very same address is not VirtualBox's (a stale bridge, a VPN)", () => {
    const own = iface('vboxnet11', '192.168.99.1', 24);
    const stale = iface('br-old', '192.168.99.1', 24);
    expect(() => checkCollisions(net, ifs, [stale, own])).toThrow(/conflicts with the host interface br-old/);
    expect(() => checkCollisions(net, [], [own])).toThrow(/conflicts with the host interface vboxnet11/);
  });

  it('a bridge that lost its carrier still holds the route, so it collides too', () => {
    // What a killed run leaves: its bridge, no ports, the network still routed to it.
    const stale: HostNet = { name: 'vbs0ceda5n0', network: '192.168.99.0', prefix: 24 };
    expect(() => checkCollisions(net, [], [stale])).toThrow(
      /conflicts with the host interface vbs0ceda5n0 \(192\.168\.99\.0\/24\); choose another network or remove that interface/,
    );
    // With VirtualBox's own interface up, the stale one is the one named.
    expect(() =>
      checkCollisions(net, ifs, [
        stale,
        { name: 'vbsfeed01n0', address: '192.168.99.1', network: '192.168.99.0', prefix: 24 },
      ]),
    ).toThrow(/host interface vbs0ceda5n0/);
  });

  it('another host-only network overlapping it is', () => {
    const wide = [
      { name: 'vboxnet3', ip: '192.168.0.1', netmask: '255.255.0.0', status: 'Up', networkName: 'x' },
    ];
    expect(() => checkCollisions(net, wide, [])).toThrow(/overlaps the host-only network vboxnet3/);
  });

  it('reads the connected routes of /proc/net/route, not the default or gateway routes', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'swlab0\t00001CAC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      'vbs0ceda5n0\t0063A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'tun0\t0000000A\t0100A8C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0',
      '',
    ].join('\n');
    expect(parseProcRoutes(text)).toEqual([
      { name: 'swlab0', network: '172.28.0.0', prefix: 16 },
      { name: 'vbs0ceda5n0', network: '192.168.99.0', prefix: 24 },
    ]);
  });
});

describe('host-only networks (VirtualBox 7 on macOS)', () => {
  it('parses `list hostonlynets`, whose blocks have a blank line after GUID', () => {
    const out =
      'Name:            swarmup-192.168.99.0-24\nGUID:            8f0c3a4e-6a5b-4c1d-9e2f-0a1b2c3d4e5f\n\n' +
      'State:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.99.1\n' +
      'UpperIP:         192.168.99.254\nVBoxNetworkName: hostonly-swarmup-192.168.99.0-24\n\n' +
      'Name:            Legacy vboxnet0 Network\nGUID:            1f0c3a4e-6a5b-4c1d-9e2f-0a1b2c3d4e5f\n\n' +
      'State:           Disabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.59.100\n' +
      'UpperIP:         192.168.59.254\nVBoxNetworkName: hostonly-Legacy vboxnet0 Network\n\n';
    expect(parseHostOnlyNets(out)).toEqual([
      {
        name: 'swarmup-192.168.99.0-24',
        enabled: true,
        netmask: '255.255.255.0',
        lower: '192.168.99.1',
        upper: '192.168.99.254',
      },
      {
        name: 'Legacy vboxnet0 Network',
        enabled: false,
        netmask: '255.255.255.0',
        lower: '192.168.59.100',
        upper: '192.168.59.254',
      },
    ]);
    expect(parseHostOnlyNets('')).toEqual([]);
  });

  it('names the network after --virtualbox-hostonly-cidr', () => {
    expect(hostOnlyNetName(parseHostOnlyCidr('192.168.99.1/24'))).toBe('swarmup-192.168.99.0-24');
    expect(hostOnlyNetName(parseHostOnlyCidr('10.20.0.1/16'))).toBe('swarmup-10.20.0.0-16');
  });
});
