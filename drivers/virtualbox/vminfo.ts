import type { MachineState } from '../../src/driver/contract.js';

/** A NAT port forward as `showvminfo --machinereadable` prints it: name,proto,hostip,hostport,guestip,guestport. */
export interface PortForward {
  name: string;
  proto: string;
  hostIp: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
}

export interface VmInfo {
  /** Every key=value line, values unescaped. Later duplicates (e.g. Forwarding(0) of NIC 2) are in `forwards`. */
  values: Map<string, string>;
  /** NAT port forwards by NIC number (1-based). */
  forwards: Map<number, PortForward[]>;
}

const LINE = /^(?:"((?:[^"\\]|\\.)*)"|([^=]+))=(?:"((?:[^"\\]|\\.)*)"|(.*))$/;
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** Parse `VBoxManage showvminfo <vm> --machinereadable` (quoting and escaping as VirtualBox 6.1+ does). */
export function parseVmInfo(stdout: string): VmInfo {
  const values = new Map<string, string>();
  const forwards = new Map<number, PortForward[]>();
  let nic = 0;
  for (const line of stdout.split(/\r?\n/)) {
    const m = LINE.exec(line);
    if (!m) continue;
    const key = m[1] !== undefined ? unescape(m[1]) : m[2];
    const value = m[3] !== undefined ? unescape(m[3]) : m[4];
    const nicKey = /^(?:nic|natnet|macaddress|cableconnected|nictype|nicspeed|hostonlyadapter)(\d)$/.exec(
      key,
    );
    if (nicKey) nic = Number(nicKey[1]);
    if (/^Forwarding\(\d+\)$/.test(key)) {
      const [name, proto, hostIp, hostPort, guestIp, guestPort] = value.split(',');
      const list = forwards.get(nic) ?? [];
      list.push({
        name,
        proto,
        hostIp,
        hostPort: Number(hostPort),
        guestIp,
        guestPort: Number(guestPort),
      });
      forwards.set(nic, list);
      continue;
    }
    if (!values.has(key)) values.set(key, value);
  }
  return { values, forwards };
}

/** VMState values of `showvminfo --machinereadable` as machine states (docker-machine's mapping, extended). */
export function machineState(vmState: string | undefined): MachineState {
  switch (vmState) {
    case 'running':
      return 'Running';
    case 'paused':
      return 'Paused';
    case 'saved':
    case 'aborted-saved':
      return 'Saved';
    case 'poweroff':
    case 'aborted':
      return 'Stopped';
    case 'starting':
    case 'restoring':
      return 'Starting';
    case 'stopping':
    case 'saving':
      return 'Stopping';
    case 'gurumeditation':
      return 'Error';
    default:
      return 'None';
  }
}

/** `"name" {uuid}` lines of `VBoxManage list vms`. */
export function parseVmList(stdout: string): Array<{ name: string; uuid: string }> {
  const out: Array<{ name: string; uuid: string }> = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]+)\}$/.exec(line.trim());
    if (m) out.push({ name: m[1], uuid: m[2] });
  }
  return out;
}

/** `Key: k, Value: v` lines of `VBoxManage getextradata <vm> enumerate`. */
export function parseExtraData(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^Key: (.*?), Value: (.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The UUID line of `VBoxManage createvm` output. */
export function parseCreatedUuid(stdout: string): string | undefined {
  return /^UUID:\s*([0-9a-fA-F-]{36})\s*$/m.exec(stdout)?.[1];
}
