import type { Driver, DriverContext } from '../driver/contract.js';
import { findDriver } from '../driver/registry.js';
import type { EngineEndpoint } from '../engine/api.js';
import type { MachineConfig } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import { info } from '../util/log.js';
import { UserError } from '../errors.js';
import { readStoreCerts } from './certs.js';

/** A machine: its saved config and its driver, rebuilt from the store. */
export interface Machine {
  store: Store;
  cfg: MachineConfig;
  driver: Driver;
}

export function driverContext(store: Store, name: string): DriverContext {
  return { machineName: name, machineDir: store.machineDir(name), log: info };
}

export async function loadMachine(store: Store, name: string): Promise<Machine> {
  const cfg = await store.load(name);
  const mod = await findDriver(cfg.DriverName).load();
  // The store's identity lets the driver check that what it acts on carries this store's labels.
  const ctx = { ...driverContext(store, name), storeId: await store.knownId() };
  const driver = await mod.fromState(ctx, cfg.Driver);
  return { store, cfg, driver };
}

/** Save the config with the driver's current state. */
export async function saveMachine(m: Machine): Promise<void> {
  m.cfg.Driver = m.driver.state;
  await m.store.save(m.cfg);
}

export function enginePort(m: Machine): number {
  return m.cfg.Driver.EnginePort ?? 2376;
}

export async function machineUrl(m: Machine): Promise<string> {
  return `tcp://${await m.driver.getIP()}:${enginePort(m)}`;
}

export async function engineEndpoint(m: Machine): Promise<EngineEndpoint> {
  const certs = await readStoreCerts(m.store);
  if (!certs)
    throw new UserError(
      `the store ${m.store.root} has no certificates: run "swarmup regenerate-certs --client-certs"`,
    );
  const { ca, client } = certs;
  return {
    host: await m.driver.getIP(),
    port: enginePort(m),
    ca: ca.certPem,
    cert: client.certPem,
    key: client.keyPem,
  };
}
