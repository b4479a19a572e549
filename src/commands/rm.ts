import type { Command } from 'commander';
import { machineNotFound, oneLine } from '../errors.js';
import { loadMachine } from '../machine/machine.js';
import { info } from '../util/log.js';
import { confirm, forEachMachine, namesOr, storeOf } from './common.js';

export async function run(
  names: string[],
  opts: { force?: boolean; y?: boolean },
  cmd: Command,
): Promise<void> {
  const store = storeOf(cmd);
  const list = namesOr(names);
  const claims = new Set<string>();
  for (const n of list) {
    if (await store.exists(n)) continue;
    // The claim of an interrupted create (shown by ls as "interrupted create") can be removed too.
    if (await store.isInterrupted(n)) claims.add(n);
    else throw machineNotFound(n);
  }
  if (!opts.y) {
    const ok = await confirm(
      `About to remove ${list.join(', ')}\nWARNING: This action will delete both local reference and remote instance.\nAre you sure?`,
      '-y',
    );
    if (!ok) return;
  }
  await forEachMachine(list, async (n) => {
    if (claims.has(n)) {
      await store.remove(n);
      info(
        `Successfully removed ${n} (the claim of an interrupted create; a new create of ${n} removes anything it had made)`,
      );
      return;
    }
    try {
      const m = await loadMachine(store, n);
      await m.driver.remove();
    } catch (err) {
      if (!opts.force)
        throw new Error(`removing "${n}" failed: ${oneLine(err)} (use -f to remove the local record anyway)`);
      info(`removing "${n}" failed (${oneLine(err)}); removing the local record because of -f`);
    }
    await store.remove(n);
    info(`Successfully removed ${n}`);
  });
}
