/** The instance a machine is, as an insert body (pure), and what swarmup reads back from it. */
import { networkUrl, type Instance } from '../../src/cloud/gce/api.js';
import type { MachineState } from '../../src/driver/contract.js';
import { diskTypeUrl, imageUrl, machineTypeUrl, subnetworkUrl, type GoogleSettings } from './settings.js';

/** `user:ssh-ed25519 AAAA… user`, the format of the `ssh-keys` metadata item. */
export function sshKeysEntry(user: string, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  return `${user}:${type} ${key} ${user}`;
}

export function instanceBody(o: {
  name: string;
  settings: GoogleSettings;
  sshKeys: string;
  tags: string[];
  labels: Record<string, string>;
  natIP?: string;
}): Instance {
  const s = o.settings;
  const sub = subnetworkUrl(s);
  return {
    name: o.name,
    description: 'made by swarmup',
    machineType: machineTypeUrl(s),
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: imageUrl(s),
          diskSizeGb: String(s.diskSize),
          diskType: diskTypeUrl(s),
          labels: o.labels,
        },
      },
    ],
    networkInterfaces: [
      {
        network: networkUrl(s),
        ...(sub ? { subnetwork: sub } : {}),
        accessConfigs: s.useInternalIpOnly
          ? []
          : [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT', ...(o.natIP ? { natIP: o.natIP } : {}) }],
      },
    ],
    metadata: { items: [{ key: 'ssh-keys', value: o.sshKeys }] },
    tags: { items: o.tags },
    labels: o.labels,
    serviceAccounts: [{ email: s.serviceAccount, scopes: s.scopes }],
    scheduling: s.preemptible
      ? { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' }
      : { automaticRestart: true, onHostMaintenance: 'MIGRATE' },
  };
}

/** The addresses of a running instance: external (natIP) and internal (networkIP). */
export function instanceAddresses(i: Instance): { natIP?: string; networkIP?: string } {
  const nic = i.networkInterfaces?.[0];
  return {
    natIP: nic?.accessConfigs?.find((a) => a.natIP)?.natIP ?? undefined,
    networkIP: nic?.networkIP ?? undefined,
  };
}

const STATES: Record<string, MachineState> = {
  PROVISIONING: 'Starting',
  STAGING: 'Starting',
  RUNNING: 'Running',
  STOPPING: 'Stopping',
  SUSPENDING: 'Stopping',
  STOPPED: 'Stopped',
  TERMINATED: 'Stopped',
  SUSPENDED: 'Saved',
  REPAIRING: 'Error',
};

export const machineState = (status: string | null | undefined): MachineState =>
  STATES[status ?? ''] ?? 'None';
