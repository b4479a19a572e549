import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DiscoveredCluster, FlagValues } from '../../src/driver/contract.js';
import { mapBounded } from '../../src/util/async.js';
import { deleteSeed, deleteVm } from './teardown.js';
import { VBoxManage, isMachineNotFound } from './vboxmanage.js';
import { parseExtraData, parseVmInfo, parseVmList } from './vminfo.js';
import { laterExpiry } from '../../src/driver/expiry.js';

interface LabelledVm {
  name: string;
  uuid: string;
  extra: Record<string, string>;
}

const vboxmanage = (flags: FlagValues) => {
  const p = flags['virtualbox-vboxmanage'];
  return new VBoxManage(typeof p === 'string' && p ? p : undefined);
};

/** Every registered VM with its swarmup extra data (one `getextradata enumerate` per VM). */
async function labelledVms(vbm: VBoxManage): Promise<LabelledVm[]> {
  const vms = parseVmList((await vbm.run(['list', 'vms'])).stdout);
  const out = await mapBounded(vms, 4, async (vm) => {
    try {
      const extra = parseExtraData((await vbm.run(['getextradata', vm.uuid, 'enumerate'])).stdout);
      return { ...vm, extra };
    } catch (err) {
      if (isMachineNotFound(err)) return undefined; // unregistered meanwhile
      throw err;
    }
  });
  return out.filter((v): v is LabelledVm => !!v && v.extra['swarmup/cluster'] !== undefined);
}

/** Clusters found by the `swarmup/cluster` extra data of registered VMs (works from an empty store). */
export async function discoverClusters(flags: FlagValues): Promise<DiscoveredCluster[]> {
  const clusters = new Map<string, DiscoveredCluster>();
  for (const vm of await labelledVms(vboxmanage(flags))) {
    const name = vm.extra['swarmup/cluster'];
    const d = clusters.get(name) ?? { name, driver: 'virtualbox', machines: [] };
    d.machines.push(vm.name);
    d.expiresAt = laterExpiry(d.expiresAt, vm.extra['swarmup/label/swarmup.expires']);
    clusters.set(name, d);
  }
  for (const d of clusters.values()) d.machines.sort();
  return [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Power off and delete (with their disks) the VMs of a cluster, found by extra data; also the seed ISO
 * swarmup left next to each VM folder. Returns what went.
 */
export async function destroyCluster(
  cluster: string,
  flags: FlagValues,
  log: (msg: string) => void,
): Promise<string[]> {
  const vbm = vboxmanage(flags);
  const vms = (await labelledVms(vbm)).filter((v) => v.extra['swarmup/cluster'] === cluster);
  const gone: string[] = [];
  await mapBounded(vms, 4, async (vm) => {
    let info;
    try {
      info = parseVmInfo((await vbm.run(['showvminfo', vm.uuid, '--machinereadable'])).stdout);
    } catch (err) {
      if (isMachineNotFound(err)) return;
      throw err;
    }
    log(`Removing VirtualBox VM ${vm.name}...`);
    await deleteVm(vbm, vm.uuid, info.values.get('VMState'));
    // <machine dir>/<vm>/<vm>.vbox: the seed and the VM folder's leftovers (serial log) are ours to delete.
    const cfg = info.values.get('CfgFile');
    if (cfg && vm.extra['swarmup/store'] && basename(dirname(cfg)) === vm.name) {
      const vmDir = dirname(cfg);
      await deleteSeed(vbm, join(dirname(vmDir), 'seed.iso'));
      await rm(vmDir, { recursive: true, force: true });
    }
    gone.push(`vm ${vm.name}`);
  });
  return gone.sort();
}
