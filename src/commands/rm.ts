import type { Command } from 'commander';
import { UserError, machineNotFound, oneLine } from '../errors.js';
import { loadMachine } from '../machine/machine.js';
import type { MachineConfig } from '../store/machine-config.js';
import { info } from '../util/log.js';
import { confirm, forEachMachine, storeOf } from './common.js';

/** State keys that name what a driver made, in the order a user would look for them. */
const RESOURCE_KEYS = [
  'InstanceName',
  'InstanceId',
  'ContainerName',
  'ContainerId',
  'VMName',
  'UUID',
  'Project',
  'RegionId',
  'Zone',
  'KeyPairName',
  'SecurityGroupId',
];

/** What a failed remove may have left, from the machine's saved driver state. */
export function leftovers(cfg: MachineConfig): string {
  const s = cfg.Driver as Record<string, unknown>;
  const ids = RESOURCE_KEYS.filter((k) => typeof s[k] === 'string' && s[k] !== '').map(
    (k) => `${k} ${String(s[k])}`,
  );
  return `the ${cfg.DriverName} machine${ids.length ? ` (${ids.join(', ')})` : ''}`;
}

/**
 * `rm [-f] [-y] NAME...`, as docker-machine: -y skips the question; -f also skips it, and removes the
 * local record even when removing the machine fails (a warning says what may be left) or the machine
 * does not exist, and exits 0.
 */
export async function run(
  names: string[],
  opts: { force?: boolean; y?: boolean },
  cmd: Command,
): Promise<void> {
  // docker-machine's words; no "default" here: removing is not guessed.
  if (!names.length) throw new UserError('Error: Expected to get one or more machine names as arguments');
  const store = storeOf(cmd);
  const force = !!opts.force;
  const missing: string[] = [];
  const claims = new Set<string>();
  for (const n of names) {
    if (await store.exists(n)) continue;
    // The claim of an interrupted create (shown by ls as "interrupted create") can be removed too.
    if (await store.isInterrupted(n)) claims.add(n);
    else missing.push(n);
  }
  if (missing.length && !force) throw machineNotFound(missing[0]);
  const list = names.filter((n) => !missing.includes(n));
  for (const n of missing) info(`Error removing host "${n}": Docker machine "${n}" does not exist`);
  if (!list.length) return;
  info(`About to remove ${list.join(', ')}`);
  info('WARNING: This action will delete both local reference and remote instance.');
  if (!opts.y && !force && !(await confirm('Are you sure?', '-y'))) return;
  await forEachMachine(list, async (n) => {
    if (claims.has(n)) {
      await store.remove(n);
      info(
        `Successfully removed ${n} (the claim of an interrupted create; a new create of ${n} removes anything it had made)`,
      );
      return;
    }
    let cfg: MachineConfig | undefined;
    try {
      const m = await loadMachine(store, n);
      cfg = m.cfg;
      await m.driver.remove();
    } catch (err) {
      if (!force) {
        throw new UserError(
          `Error removing host "${n}": ${oneLine(err)} (use -f to remove the local record anyway)`,
        );
      }
      info(
        `Warning: removing "${n}" failed (${oneLine(err)}); removing its local record because of -f. ` +
          `Left behind may be ${cfg ? leftovers(cfg) : 'whatever its driver made'}: remove it with the cloud's own tools.`,
      );
    }
    await store.remove(n);
    info(`Successfully removed ${n}`);
  });
}
