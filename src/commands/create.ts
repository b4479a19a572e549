import type { Command } from 'commander';
import { findDriver } from '../driver/registry.js';
import { UserError } from '../errors.js';
import { validateEngineOptions } from '../provision/engine-config.js';
import { validateMachineName, type EngineOptions } from '../store/machine-config.js';
import { info } from '../util/log.js';
import { interruptible, signalExitCode } from '../util/interrupt.js';
import { storeOf } from './common.js';
import { requireDriverFlags } from '../driver/flags.js';
import { attrName, driverFlagValues } from './driver-flags.js';
import { CLASSIC_SWARM_SWITCHES, CLASSIC_SWARM_VALUE_FLAGS, classicSwarm } from './classic-swarm.js';

export interface EngineFlagOptions {
  engineInstallUrl?: string;
  engineOpt: string[];
  engineInsecureRegistry: string[];
  engineRegistryMirror: string[];
  engineLabel: string[];
  engineStorageDriver?: string;
  engineEnv: string[];
  tlsSan: string[];
}

interface CreateOptions extends EngineFlagOptions {
  driver?: string;
  [k: string]: unknown;
}

export function engineOptionsFrom(o: EngineFlagOptions): EngineOptions {
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

/** docker-machine's TLS variables: swarmup keeps one CA per store and makes its own certificates. */
const MACHINE_TLS_ENV = [
  'MACHINE_TLS_CA_CERT',
  'MACHINE_TLS_CA_KEY',
  'MACHINE_TLS_CLIENT_CERT',
  'MACHINE_TLS_CLIENT_KEY',
];

export async function run(name: string, opts: CreateOptions, cmd: Command): Promise<void> {
  for (const f of [...CLASSIC_SWARM_SWITCHES, ...CLASSIC_SWARM_VALUE_FLAGS]) {
    if (opts[attrName(f)] !== undefined) throw classicSwarm(`--${f}`);
  }
  if (!opts.driver) throw new UserError('--driver is required (run "swarmup create --help" for the list)');
  const tlsEnv = MACHINE_TLS_ENV.filter((v) => process.env[v]);
  if (tlsEnv.length) {
    info(
      `Warning: ${tlsEnv.join(', ')} ignored: swarmup makes its own CA and client certificate, in the store's certs/`,
    );
  }
  const plugin = findDriver(opts.driver);
  validateMachineName(name);
  const engine = engineOptionsFrom(opts);
  validateEngineOptions(engine);
  const flags = driverFlagValues(plugin, opts);
  requireDriverFlags(plugin, flags);
  const { createMachine } = await import('../machine/create-machine.js');
  const interrupt = interruptible((sig) =>
    info(`${sig}: stopping and removing what this create made; a second ${sig} exits at once`),
  );
  try {
    await createMachine({
      store: storeOf(cmd),
      plugin,
      name,
      flags,
      engine,
      log: info,
      signal: interrupt.signal,
    });
  } catch (err) {
    if (!interrupt.received) throw err;
    throw new UserError(
      `create of "${name}" interrupted by ${interrupt.received}; nothing was kept`,
      signalExitCode(interrupt.received),
    );
  } finally {
    interrupt.dispose();
  }
  info('Docker is up and running!');
  info(`To point your Docker client at it, run: eval "$(swarmup env ${name})"`);
}
