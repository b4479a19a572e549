/**
 * What the in-cluster load-balancer controller is told: which load balancer it keeps (the target as
 * `lb sync` would build it from the store, written down at install) and where its credentials are.
 * It travels in the service's environment, so it never holds a credential: driver flags marked
 * secret are left out, and credentials are swarm secrets (files) or the instance's own identity.
 */
import type { DriverState, FlagValues } from '../../driver/contract.js';
import { flagsFromEnv, storableFlags } from '../../driver/flags.js';
import { findDriver } from '../../driver/registry.js';
import { UserError } from '../../errors.js';
import type { ManagerEngine } from '../engine.js';
import type { LbTarget, NodeMachine } from '../target.js';

/** How the controller authenticates to the cloud. */
export type ControllerCredentials =
  /** GCE: the VM's service account, through the metadata server. */
  | { kind: 'instance' }
  /** Aliyun: the instance's RAM role (STS credentials from the instance metadata). */
  | { kind: 'ram-role'; role: string }
  /** GCE: a service-account key, a swarm secret mounted at `file`. */
  | { kind: 'key'; file: string }
  /** Aliyun: an AccessKey pair, two swarm secrets. */
  | { kind: 'access-key'; idFile: string; secretFile: string };

export interface ControllerConfig {
  version: 1;
  kind: LbTarget['kind'];
  name: string;
  driver: string;
  /** Driver flags without credentials (a cluster's saved options, or the environment at install). */
  flags: FlagValues;
  /** `--manager`: the manager machine's saved state. */
  machine?: DriverState;
  /** `--manager`: the swarm's machines as they were at install (a cluster's are found by the cloud). */
  machines?: Array<{ name: string; driver: string; state: DriverState; internalIp?: string }>;
  labels: Record<string, string>;
  storeId?: string;
  credentials: ControllerCredentials;
  /** Periodic re-sync, seconds (0: none). */
  resyncS: number;
}

export const CONFIG_ENV = 'SWARMUP_LB_CONTROLLER_CONFIG';

/** The config of a target (the machines of a hand-made swarm are written down with their state). */
export async function configOf(
  t: LbTarget,
  credentials: ControllerCredentials,
  resyncS: number,
): Promise<ControllerConfig> {
  const machines =
    t.kind === 'manager'
      ? await Promise.all(
          (await t.machines()).map(async (m) => ({
            name: m.name,
            driver: m.driver,
            state: m.state,
            internalIp: await m.internalIp().catch(() => undefined),
          })),
        )
      : undefined;
  return {
    version: 1,
    kind: t.kind,
    name: t.name,
    driver: t.driver,
    flags: storableFlags(findDriver(t.driver), t.flags),
    ...(t.machine ? { machine: t.machine } : {}),
    ...(machines ? { machines } : {}),
    labels: t.labels,
    storeId: await t.storeId(),
    credentials,
    resyncS,
  };
}

/** Read the config from the environment (one clear line when it is missing or broken). */
export function parseConfig(text: string | undefined): ControllerConfig {
  if (!text)
    throw new UserError(
      `${CONFIG_ENV} is not set: "lb controller run" runs inside the service that "lb controller install" makes`,
    );
  let c: ControllerConfig;
  try {
    c = JSON.parse(text) as ControllerConfig;
  } catch {
    throw new UserError(`${CONFIG_ENV} is not JSON`);
  }
  if (
    c?.version !== 1 ||
    !c.name ||
    !c.driver ||
    !c.credentials?.kind ||
    (c.kind !== 'cluster' && c.kind !== 'manager')
  )
    throw new UserError(`${CONFIG_ENV} is not a controller config of this swarmup version`);
  return c;
}

/**
 * The load balancer's target inside the cluster: the manager is the local engine's socket, the
 * machines those written down at install, and `extraFlags` the credentials read from secrets.
 */
export function controllerTarget(
  c: ControllerConfig,
  engine: ManagerEngine,
  node: string,
  extraFlags: FlagValues = {},
): LbTarget {
  const machines: NodeMachine[] = (c.machines ?? []).map((m) => ({
    name: m.name,
    driver: m.driver,
    state: m.state,
    internalIp: async () => {
      if (!m.internalIp) throw new Error(`no internal address of ${m.name} was written down at install`);
      return m.internalIp;
    },
  }));
  return {
    kind: c.kind,
    name: c.name,
    driver: c.driver,
    flags: flagsFromEnv(findDriver(c.driver), { ...c.flags, ...extraFlags }),
    ...(c.machine ? { machine: c.machine } : {}),
    labels: c.labels,
    storeId: async () => c.storeId,
    manager: async () => ({ name: node, endpoint: engine }),
    machines: async () => machines,
    // The controller serves cloud load balancers only; a local one runs beside a store, not in the swarm.
    hostEngine: () => Promise.reject(new Error('the in-cluster controller runs no local load balancer')),
  };
}
