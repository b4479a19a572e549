import type { DriverState } from '../driver/contract.js';
import { UserError } from '../errors.js';

/** Bump when the shape changes; loading a newer version is refused instead of misread. */
export const CONFIG_VERSION = 1;

export interface EngineOptions {
  InstallURL?: string;
  /** --engine-opt values, `key=value` or `flag`. */
  ArbitraryFlags: string[];
  Env: string[];
  InsecureRegistry: string[];
  Labels: string[];
  RegistryMirror: string[];
  StorageDriver?: string;
  TlsSan: string[];
}

/** Certificate paths, relative to the store root so the store can be copied elsewhere. */
export interface AuthOptions {
  CertDir: string;
  CaCertPath: string;
  CaPrivateKeyPath: string;
  ClientCertPath: string;
  ClientKeyPath: string;
  ServerCertPath: string;
  ServerKeyPath: string;
  ServerCertSANs: string[];
}

export interface MachineConfig {
  ConfigVersion: number;
  Name: string;
  DriverName: string;
  Driver: DriverState;
  HostOptions: { EngineOptions: EngineOptions; AuthOptions: AuthOptions };
  CreatedAt: string;
  /** False until provisioning has finished once; `provision NAME` completes it. */
  Provisioned: boolean;
  /** Set for machines made by `cluster up`. */
  Cluster?: { Name: string; Role: 'manager' | 'worker' };
}

export { validateMachineName } from './names.js';

export function defaultAuthOptions(name: string): AuthOptions {
  const m = `machines/${name}`;
  return {
    CertDir: 'certs',
    CaCertPath: 'certs/ca.pem',
    CaPrivateKeyPath: 'certs/ca-key.pem',
    ClientCertPath: 'certs/cert.pem',
    ClientKeyPath: 'certs/key.pem',
    ServerCertPath: `${m}/server.pem`,
    ServerKeyPath: `${m}/server-key.pem`,
    ServerCertSANs: [],
  };
}

export function emptyEngineOptions(): EngineOptions {
  return { ArbitraryFlags: [], Env: [], InsecureRegistry: [], Labels: [], RegistryMirror: [], TlsSan: [] };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check a config.json; any defect is one clear line naming the file. */
export function parseMachineConfig(text: string, file: string): MachineConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file} is corrupt: ${(err as Error).message}`);
  }
  const bad = (what: string) => new UserError(`${file} is corrupt: ${what}`);
  if (!isObj(raw)) throw bad('not a JSON object');
  if (typeof raw.ConfigVersion !== 'number') throw bad('missing ConfigVersion');
  if (raw.ConfigVersion > CONFIG_VERSION) {
    throw new UserError(
      `${file} was written by a newer swarmup (config version ${raw.ConfigVersion}); upgrade swarmup`,
    );
  }
  if (typeof raw.Name !== 'string' || typeof raw.DriverName !== 'string')
    throw bad('missing Name or DriverName');
  if (!isObj(raw.Driver)) throw bad('missing Driver');
  if (
    !isObj(raw.HostOptions) ||
    !isObj(raw.HostOptions.EngineOptions) ||
    !isObj(raw.HostOptions.AuthOptions)
  ) {
    throw bad('missing HostOptions');
  }
  const cfg = raw as unknown as MachineConfig;
  cfg.HostOptions.EngineOptions = { ...emptyEngineOptions(), ...cfg.HostOptions.EngineOptions };
  cfg.Provisioned = cfg.Provisioned === true;
  return cfg;
}
