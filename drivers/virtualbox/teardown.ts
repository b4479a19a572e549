import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isNotRunning, type VBoxManage } from './vboxmanage.js';

/**
 * Power a VM off unless it is off already, then unregister it with `--delete`, which deletes its hard
 * disks too; retried while VirtualBox still releases the session of the power-off.
 */
export async function deleteVm(vbm: VBoxManage, uuid: string, vmState: string | undefined): Promise<void> {
  if (vmState && !['poweroff', 'aborted', 'saved'].includes(vmState)) {
    await vbm.run(['controlvm', uuid, 'poweroff']).catch((err) => {
      if (!isNotRunning(err)) throw err;
    });
  }
  await vbm.runUnlocked(['unregistervm', uuid, '--delete']);
}

/**
 * Delete a seed ISO. `unregistervm --delete` detaches DVD images but closes only hard disks
 * (CleanupMode_DetachAllReturnHardDisksOnly): the seed would stay in VirtualBox's media registry, an
 * inaccessible entry once its file is gone. Closing a file VirtualBox does not know opens and closes
 * it, a no-op.
 */
export async function deleteSeed(vbm: VBoxManage, path: string): Promise<void> {
  if (!existsSync(path)) return;
  await vbm.run(['closemedium', 'dvd', path]).catch(() => undefined);
  await rm(path, { force: true });
}
