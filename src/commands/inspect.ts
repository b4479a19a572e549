import type { Command } from 'commander';
import { join } from 'node:path';
import { loadMachine } from '../machine/machine.js';
import type { MachineConfig } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import { UserError } from '../errors.js';
import { nameOr, storeOf } from './common.js';

/** The config as users see it: store-relative paths made absolute, as docker-machine printed them. */
export function presentConfig(store: Store, cfg: MachineConfig): Record<string, unknown> {
  const a = cfg.HostOptions.AuthOptions;
  const auth: Record<string, unknown> = { ...a, StorePath: store.machineDir(cfg.Name) };
  for (const k of Object.keys(a) as Array<keyof typeof a>) {
    if (typeof a[k] === 'string') auth[k] = store.abs(a[k] as string);
  }
  const driver: Record<string, unknown> = { ...cfg.Driver, StorePath: store.root };
  if (typeof cfg.Driver.SSHKeyPath === 'string')
    driver.SSHKeyPath = join(store.machineDir(cfg.Name), cfg.Driver.SSHKeyPath);
  return { ...cfg, Driver: driver, HostOptions: { ...cfg.HostOptions, AuthOptions: auth } };
}

export async function run(name: string | undefined, opts: { format?: string }, cmd: Command): Promise<void> {
  const store = storeOf(cmd);
  const m = await loadMachine(store, nameOr(name));
  const view = presentConfig(store, m.cfg);
  if (!opts.format) {
    process.stdout.write(JSON.stringify(view, null, 4) + '\n');
    return;
  }
  const { renderGoTemplate } = await import('../util/go-template.js');
  try {
    process.stdout.write(renderGoTemplate(opts.format, view) + '\n');
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}
