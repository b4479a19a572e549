/**
 * What the VM's BIOS boots from: the devices of the boot order (`--boot1..4`) in turn, a hard disk on a
 * bootable controller, or a DVD image with an El Torito boot record. VirtualBox starts a VM with nothing
 * to boot all the same (`startvm` succeeds, the VM runs); its BIOS then halts with "FATAL: No bootable
 * medium found! System halted." and the guest never comes up. The disk's contents are not modelled: an
 * attached hard disk counts as bootable (it is a cloud image).
 */
import { readFileSync } from 'node:fs';
import { isBootableIso } from './iso9660.js';
import type { SimState, Vm } from './state.js';

export const NO_BOOTABLE_MEDIUM = 'FATAL: No bootable medium found! System halted.';

/** The first device of the boot order the BIOS can boot, e.g. `disk SATA-0-0`; undefined when none. */
export function bootDevice(st: SimState, vm: Vm): string | undefined {
  const order = ['boot1', 'boot2', 'boot3', 'boot4'].map((k) => String(vm.settings[k] ?? 'none'));
  for (const dev of order) {
    if (dev !== 'disk' && dev !== 'dvd') continue; // floppy: none modelled; net: no PXE server on NAT
    for (const at of vm.attachments) {
      if (at.type !== (dev === 'disk' ? 'hdd' : 'dvddrive')) continue;
      if (!vm.ctls.find((c) => c.name === at.ctl)?.bootable) continue;
      const m = st.media.find((x) => x.uuid === at.medium);
      if (!m) continue;
      if (dev === 'dvd') {
        let bootable = false;
        try {
          bootable = isBootableIso(readFileSync(m.location));
        } catch {
          /* unreadable: not bootable */
        }
        if (!bootable) continue;
      }
      return `${dev} ${at.ctl}-${at.port}-${at.device}`;
    }
  }
  return undefined;
}
