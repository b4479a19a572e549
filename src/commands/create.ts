import type { Command } from 'commander';
import type { Driver } from '../driver/contract.js';
import { findDriver } from '../driver/registry.js';
import { UserError, oneLine } from '../errors.js';
import { driverContext, saveMachine, type Machine } from '../machine/machine.js';
import { validateEngineOptions } from '../provision/engine-config.js';
import {
  CONFIG_VERSION,
  defaultAuthOptions,
  validateMachineName,
  type EngineOptions,
  type MachineConfig,
} from '../store/machine-config.js';
import { info } from '../util/log.js';
import { storeOf } from './common.js';
import { driverFlagValues } from './create-options.js';

interface CreateOptions {
  driver?: string;
  engineInstallUrl?: string;
  engineOpt: string[];
  engineInsecureRegistry: string[];
  engineRegistryMirror: string[];
  engineLabel: string[];
  engineStorageDriver?: string;
  engineEnv: string[];
  tlsSan: string[];
  [k: string]: unknown;
}

export function engineOptionsFrom(o: CreateOptions): EngineOptions {
  return {
    InstallURL: o.engineInstallUrl,
    ArbitraryFlags: o.engineOpt,
    Env: o.engineEnv,
    InsecureRegistry: o.engineInsecureRegistry,
    Labels: o.engineLabel,
    RegistryMirror: o.engineRegistryMirror,
    StorageDriver: o.engineStorageDriver,
    TlsSan: o.tlsSan,
  };
}

export async function run(name: string, opts: CreateOptions, cmd: Command): Promise<void> {
  if (!opts.driver) throw new UserError('--driver is required (run "swarmup create --help" for the list)');
  const plugin = findDriver(opts.driver);
  validateMachineName(name);
  const engine = engineOptionsFrom(opts);
  validateEngineOptions(engine);
  const flags = driverFlagValues(plugin, opts);
  for (const f of plugin.flags) {
    if (f.required && (flags[f.name] === undefined || flags[f.name] === '')) {
      throw new UserError(
        `--${f.name} is required for the ${plugin.name} driver${f.env ? ` (or set ${f.env})` : ''}`,
      );
    }
  }
  const store = storeOf(cmd);
  const mod = await plugin.load();
  await store.reserve(name);

  let driver: Driver | undefined;
  let created = false;
  try {
    const ctx = driverContext(store, name);
    driver = await mod.fromFlags(ctx, flags);
    info('Running pre-create checks...');
    try {
      await driver.preCreateCheck?.();
    } catch (err) {
      throw new UserError(`Error with pre-create check: ${oneLine(err)}`, 3);
    }
    info('Creating machine...');
    await driver.create();
    created = true;
    const cfg: MachineConfig = {
      ConfigVersion: CONFIG_VERSION,
      Name: name,
      DriverName: plugin.name,
      Driver: driver.state,
      HostOptions: { EngineOptions: engine, AuthOptions: defaultAuthOptions(name) },
      CreatedAt: new Date().toISOString(),
      Provisioned: false,
    };
    const m: Machine = { store, cfg, driver };
    await saveMachine(m);
    const { provision } = await import('../provision/provisioner.js');
    await provision(m, { log: info });
  } catch (err) {
    if (!created) {
      await driver?.remove().catch(() => undefined);
      await store.release(name);
      throw err;
    }
    throw new UserError(
      `${oneLine(err)}. The machine "${name}" exists but is not fully provisioned: fix the cause and run ` +
        `"swarmup provision ${name}", or remove it with "swarmup rm -y ${name}"`,
      err instanceof UserError ? err.exitCode : 1,
    );
  }
  info('Docker is up and running!');
  info(`To point your Docker client at it, run: eval "$(swarmup env ${name})"`);
}
