import { describe, it, expect } from 'vitest';
import { ipForMac, normalizeMac } from '../../drivers/virtualbox/guest-ip.js';
import { parseVBoxError } from '../../drivers/virtualbox/vboxmanage.js';
import {
  machineState,
  parseCreatedUuid,
  parseExtraData,
  parseVmInfo,
  parseVmList,
} from '../../drivers/virtualbox/vminfo.js';

/** `ip -o link show; echo ---; ip -o -4 addr show` in a guest with a NAT NIC and a host-only NIC. */
const GUEST = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:8a:3a:f0 brd ff:ff:ff:ff:ff:ff
3: enp0s8@if721: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 08:00:27:fb:7e:a0 brd ff:ff:ff:ff:ff:ff link-netnsid 0
4: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default \\    link/ether 02:42:5c:11:22:33 brd ff:ff:ff:ff:ff:ff
---
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: enp0s3    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic enp0s3\\       valid_lft 86313sec preferred_lft 86313sec
3: enp0s8    inet 192.168.99.100/24 brd 192.168.99.255 scope global dynamic enp0s8\\       valid_lft 513sec preferred_lft 513sec
4: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever preferred_lft forever
`;

describe('MAC → IP inside the guest', () => {
  it('finds the host-only NIC by the MAC VirtualBox reports (080027FB7EA0)', () => {
    expect(ipForMac(GUEST, '080027FB7EA0')).toEqual({ iface: 'enp0s8', ip: '192.168.99.100' });
  });

  it('accepts MACs with colons and any case', () => {
    expect(normalizeMac('08:00:27:FB:7E:A0')).toBe('080027fb7ea0');
    expect(ipForMac(GUEST, '08:00:27:8a:3a:f0').ip).toBe('10.0.2.15');
  });

  it('an interface without an IPv4 address yet (DHCP pending) gives no IP', () => {
    const pending = GUEST.replace(/^3: enp0s8 {4}inet .*\n/m, '');
    expect(ipForMac(pending, '080027FB7EA0')).toEqual({ iface: 'enp0s8' });
  });

  it('an unknown MAC matches nothing, not the first interface', () => {
    expect(ipForMac(GUEST, '080027000000')).toEqual({});
  });

  it('does not take the address of another interface with a similar name', () => {
    const out = GUEST.replace('3: enp0s8    inet 192.168.99.100', '3: enp0s80    inet 192.168.99.200');
    expect(ipForMac(out, '080027FB7EA0')).toEqual({ iface: 'enp0s8' });
  });
});

const VMINFO = String.raw`name="node-1"
groups="/"
ostype="Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"
UUID="b657f22d-d598-473d-bc85-c84688508d3e"
CfgFile="/home/u/.swarmup/machines/node-1/node-1/node-1.vbox"
memory=1024
VMState="running"
description="a \"quoted\" one with a \\ backslash"
"SATA-0-0"="/home/u/.swarmup/machines/node-1/disk.vdi"
"SATA-ImageUUID-0-0"="0b1c2d3e-0000-4000-8000-000000000000"
"SATA-1-0"="/home/u/.swarmup/machines/node-1/seed.iso"
natnet1="nat"
macaddress1="0800278A3AF0"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
mtu="0"
Forwarding(0)="ssh,tcp,127.0.0.1,39211,,22"
Forwarding(1)="web,tcp,,8080,,80"
hostonlyadapter2="vboxnet0"
macaddress2="080027FB7EA0"
nic2="hostonly"
nic3="none"
`;

describe('showvminfo --machinereadable', () => {
  const info = parseVmInfo(VMINFO);

  it('reads values, unescaping quotes and backslashes', () => {
    expect(info.values.get('VMState')).toBe('running');
    expect(info.values.get('memory')).toBe('1024');
    expect(info.values.get('description')).toBe('a "quoted" one with a \\ backslash');
    expect(info.values.get('SATA-1-0')).toBe('/home/u/.swarmup/machines/node-1/seed.iso');
    expect(info.values.get('macaddress2')).toBe('080027FB7EA0');
    expect(info.values.get('hostonlyadapter2')).toBe('vboxnet0');
  });

  it('groups NAT port forwards by NIC', () => {
    expect(info.forwards.get(1)).toEqual([
      { name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 39211, guestIp: '', guestPort: 22 },
      { name: 'web', proto: 'tcp', hostIp: '', hostPort: 8080, guestIp: '', guestPort: 80 },
    ]);
    expect(info.forwards.get(2)).toBeUndefined();
  });

  it('maps VMState as docker-machine did', () => {
    expect(machineState('running')).toBe('Running');
    expect(machineState('poweroff')).toBe('Stopped');
    expect(machineState('aborted')).toBe('Stopped');
    expect(machineState('saved')).toBe('Saved');
    expect(machineState('paused')).toBe('Paused');
    expect(machineState('gurumeditation')).toBe('Error');
    expect(machineState(undefined)).toBe('None');
  });
});

describe('other VBoxManage output', () => {
  it('list vms, getextradata enumerate, createvm', () => {
    expect(
      parseVmList(
        '"node-1" {b657f22d-d598-473d-bc85-c84688508d3e}\n"my vm" {0b1c2d3e-0000-4000-8000-000000000000}\n',
      ),
    ).toEqual([
      { name: 'node-1', uuid: 'b657f22d-d598-473d-bc85-c84688508d3e' },
      { name: 'my vm', uuid: '0b1c2d3e-0000-4000-8000-000000000000' },
    ]);
    expect(parseExtraData('Key: swarmup/cluster, Value: vb\nKey: swarmup/role, Value: manager\n')).toEqual({
      'swarmup/cluster': 'vb',
      'swarmup/role': 'manager',
    });
    expect(
      parseCreatedUuid(
        "Virtual machine 'my-vm' is created and registered.\nUUID: 9f69463b-2426-49be-8ad2-cb609e20953b\nSettings file: '/Users/test/VirtualBox VMs/my-vm/my-vm.vbox'\n",
      ),
    ).toBe('9f69463b-2426-49be-8ad2-cb609e20953b');
  });

  it('errors: the first error line and the COM code', () => {
    expect(
      parseVBoxError(
        `VBoxManage: error: Could not find a registered machine named 'Mojave'
VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee IUnknown
VBoxManage: error: Context: "FindMachine(Bstr(pszVM).raw(), machine.asOutParam())" at line 595 of file VBoxManageMisc.cpp
`,
      ),
    ).toEqual({
      detail: "Could not find a registered machine named 'Mojave'",
      code: 'VBOX_E_OBJECT_NOT_FOUND',
    });
    expect(
      parseVBoxError(
        `VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)
VBoxManage: error: Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp
`,
      ).code,
    ).toBe('E_ACCESSDENIED');
    expect(parseVBoxError('VBoxManage.exe: error: VT-x is not available (VERR_VMX_NO_VMX)\n').detail).toBe(
      'VT-x is not available (VERR_VMX_NO_VMX)',
    );
  });
});
