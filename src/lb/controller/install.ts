/**
 * `lb controller install|status|rm` (host side, through a manager's TLS endpoint): the service, its
 * secrets and its lease config, made and removed as one thing; status as data.
 */
import type Docker from 'dockerode';
import { UserError, oneLine } from '../../errors.js';
import { delay } from '../../util/async.js';
import type { Log, Provider } from '../backend.js';
import { providerFor } from '../backends.js';
import { managerClient } from '../engine.js';
import type { LbTarget } from '../target.js';
import { configOf } from './config.js';
import {
  controllerSecrets,
  ensureSecret,
  planCredentials,
  pruneSecrets,
  type CredentialChoice,
} from './credentials.js';
import { placeImage } from './image.js';
import { ensureLease, LEASE, readLease, type ControllerStatus, type LeaseState } from './lease.js';
import { CONTROLLER, PASSED_ENV, controllerSpec, type ServiceSpec } from './spec.js';

/** The local load balancer is an haproxy container on the operator's host: nothing to run inside. */
export function refuseLocal(t: LbTarget): void {
  if (providerFor(t.driver) !== 'local') return;
  throw new UserError(
    `the ${t.driver} driver's load balancer is an haproxy container on this host (swarmup-lb-${t.name}), which the cluster cannot reach: keep it with "swarmup lb sync --${t.kind} ${t.name} --watch" here`,
  );
}

/** Labels saying whose controller it is. */
const ownerLabels = (t: LbTarget) => ({ [`swarmup.${t.kind}`]: t.name });

interface RawService {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
  UpdateStatus?: { State?: string; Message?: string };
}

interface RawTask {
  ID: string;
  Slot?: number;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string; Message?: string; Timestamp?: string };
  Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
}

async function readService(docker: Docker): Promise<RawService | undefined> {
  try {
    return (await docker.getService(CONTROLLER.service).inspect()) as RawService;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** The `swarmup.cluster`/`swarmup.manager` a controller serves, as `cluster "x"`. */
const ownerOf = (labels: Record<string, string>): string =>
  labels['swarmup.cluster']
    ? `cluster "${labels['swarmup.cluster']}"`
    : `manager "${labels['swarmup.manager']}"`;

/** A task's name as swarm gives it to the container (`{{.Task.Name}}`): the lease holder. */
const taskName = (t: RawTask) => `${CONTROLLER.service}.${t.Slot ?? 1}.${t.ID}`;

async function nodeNames(docker: Docker): Promise<Map<string, string>> {
  const nodes = (await docker.listNodes()) as Array<{ ID: string; Description?: { Hostname?: string } }>;
  return new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
}

export interface InstallOptions {
  image: string;
  credentials?: CredentialChoice;
  googleKeyFile?: string;
  resyncS: number;
  log: Log;
  /** How long to wait for the controller's first sync (default 120 s; 0: do not wait). */
  waitMs?: number;
}

export interface InstallResult {
  action: 'created' | 'updated' | 'unchanged';
  image: string;
  loadedInto: string[];
  credentials: string;
  status?: ControllerStatusReport;
}

/** The manager's Docker client and a check that the controller there (if any) is this target's. */
async function swarmOf(t: LbTarget): Promise<{ docker: Docker; manager: string }> {
  const m = await t.manager();
  return { docker: managerClient(m.endpoint), manager: m.name };
}

function checkOwner(t: LbTarget, s: RawService | undefined): void {
  if (!s) return;
  const own = s.Spec.Labels?.[`swarmup.${t.kind}`] === t.name;
  if (!own)
    throw new UserError(
      `this swarm runs a load-balancer controller for ${ownerOf(s.Spec.Labels ?? {})}, not for ${t.kind} "${t.name}"`,
    );
}

export async function installController(t: LbTarget, o: InstallOptions): Promise<InstallResult> {
  refuseLocal(t);
  const { docker } = await swarmOf(t);
  const before = await readService(docker);
  checkOwner(t, before);
  const plan = await planCredentials(t, { choice: o.credentials, googleKeyFile: o.googleKeyFile });
  const placed = await placeImage(t, o.image, o.log);
  const config = await configOf(t, plan.credentials, o.resyncS);
  await ensureLease(docker, ownerLabels(t));
  const existing = await controllerSecrets(docker);
  const secrets = [];
  for (const s of plan.secrets) secrets.push(await ensureSecret(docker, s, existing));
  const hostNet = (
    (await docker.listNetworks({ filters: { name: ['host'] } })) as Array<{ Id: string; Name: string }>
  ).find((n) => n.Name === 'host');
  if (!hostNet) throw new UserError('the manager has no "host" network');
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  const spec = controllerSpec(
    { image: o.image, imageId: placed.localId, config, secrets, env, owner: ownerLabels(t) },
    hostNet.Id,
  );
  let action: InstallResult['action'] = 'unchanged';
  const since = Date.now();
  if (!before) {
    o.log(`Creating service ${CONTROLLER.service} (${o.image})...`);
    await docker.createService(spec);
    action = 'created';
  } else if (before.Spec.Labels?.[CONTROLLER.digestLabel] !== spec.Labels[CONTROLLER.digestLabel]) {
    o.log(`Updating service ${CONTROLLER.service} (${o.image})...`);
    await docker.getService(before.ID).update({ ...spec, version: before.Version.Index });
    action = 'updated';
  }
  if (action !== 'unchanged')
    await pruneSecrets(
      docker,
      secrets.map((s) => s.id),
    );
  const status =
    o.waitMs === 0
      ? undefined
      : await waitForController(docker, action === 'unchanged' ? 0 : since, o.waitMs ?? 120_000);
  return {
    action,
    image: o.image,
    loadedInto: placed.loaded,
    credentials: plan.credentials.kind,
    status,
  };
}

export interface ControllerStatusReport {
  service: { id: string; image: string; credentials: string; replicas: string; updateState?: string } | null;
  /** The task that should run now, with its node and state (`digest`: of the spec it runs). */
  task?: { name: string; node: string; state: string; error?: string; since?: string; digest?: string };
  lease?: { holder: string; expires?: string };
  /** What the lease holder last reported. */
  status?: ControllerStatus;
}

/** `lb controller status` as data. */
export async function readControllerStatus(docker: Docker): Promise<ControllerStatusReport> {
  const svc = await readService(docker);
  const lease: LeaseState | undefined = await readLease(docker).catch(() => undefined);
  const leaseOut = lease
    ? {
        ...(lease.holder ? { holder: lease.holder } : { holder: '' }),
        ...(lease.expiresAt ? { expires: new Date(lease.expiresAt).toISOString() } : {}),
      }
    : undefined;
  if (!svc) return { service: null, lease: leaseOut, status: lease?.status };
  const [tasks, names] = await Promise.all([
    docker.listTasks({ filters: { service: [CONTROLLER.service] } }) as Promise<RawTask[]>,
    nodeNames(docker),
  ]);
  const sorted = [...tasks].sort((a, b) =>
    String(b.CreatedAt ?? '').localeCompare(String(a.CreatedAt ?? '')),
  );
  const running = sorted.filter((x) => x.Status?.State === 'running');
  const current = sorted.find((x) => x.DesiredState === 'running') ?? sorted[0];
  const err = sorted.find((x) => x.Status?.Err)?.Status?.Err;
  return {
    service: {
      id: svc.ID,
      image: svc.Spec.TaskTemplate.ContainerSpec.Image,
      credentials: svc.Spec.Labels?.[CONTROLLER.credentialsLabel] ?? '?',
      replicas: `${running.length}/1`,
      ...(svc.UpdateStatus?.State ? { updateState: svc.UpdateStatus.State } : {}),
    },
    ...(current
      ? {
          task: {
            name: taskName(current),
            node: names.get(current.NodeID ?? '') ?? current.NodeID ?? '-',
            state: current.Status?.State ?? '?',
            ...(current.Status?.State !== 'running' && (current.Status?.Err ?? err)
              ? { error: current.Status?.Err ?? err }
              : {}),
            ...(current.Status?.Timestamp ? { since: current.Status.Timestamp } : {}),
            ...(current.Spec?.ContainerSpec?.Labels?.[CONTROLLER.digestLabel]
              ? { digest: current.Spec.ContainerSpec.Labels[CONTROLLER.digestLabel] }
              : {}),
          },
        }
      : {}),
    lease: leaseOut,
    status: lease?.status,
  };
}

/**
 * Wait until the controller's task runs, holds the lease and has synced once since `sinceMs`;
 * a task that fails (an image that cannot be pulled, a config it refuses) ends the wait with why.
 */
async function waitForController(
  docker: Docker,
  sinceMs: number,
  ms: number,
): Promise<ControllerStatusReport> {
  const end = Date.now() + ms;
  let last: ControllerStatusReport | undefined;
  for (;;) {
    last = await readControllerStatus(docker);
    const s = last.status;
    if (
      last.task?.state === 'running' &&
      last.lease?.holder === last.task.name &&
      s?.holder === last.task.name &&
      s.lastSync &&
      Date.parse(s.lastSync) >= sinceMs
    )
      return last;
    if (Date.now() > end) {
      const why =
        last.task?.error ??
        (s?.holder === last.task?.name && s?.lastError ? s.lastError : undefined) ??
        `task ${last.task?.state ?? 'not scheduled'}`;
      throw new UserError(
        `the controller did not report a sync within ${ms / 1000} s (${why}); "swarmup lb controller status" and "docker service logs ${CONTROLLER.service}" tell more`,
      );
    }
    await delay(1_000);
  }
}

/** Is a controller installed on the target's swarm? (`lb sync` then never fights it.) */
export async function controllerOf(t: LbTarget): Promise<{ node?: string } | undefined> {
  if (providerFor(t.driver) === 'local') return undefined;
  const { docker } = await swarmOf(t);
  const svc = await readService(docker);
  if (!svc) return undefined;
  const s = await readControllerStatus(docker).catch(() => undefined);
  return { node: s?.task?.node };
}

export async function controllerStatusOf(t: LbTarget): Promise<ControllerStatusReport> {
  refuseLocal(t);
  const { docker } = await swarmOf(t);
  return readControllerStatus(docker);
}

/**
 * Remove the service, wait until its task gave up the lease (it finishes a running sync first, so
 * nothing changes the load balancer after this returns), then its lease config and secrets.
 */
export async function removeController(
  docker: Docker,
  log: Log,
  waitMs = LEASE.ttlMs + 15_000,
): Promise<string[]> {
  const gone: string[] = [];
  const svc = await readService(docker);
  if (svc) {
    log(`Removing service ${CONTROLLER.service}...`);
    await docker.getService(svc.ID).remove();
    gone.push(`service ${CONTROLLER.service}`);
    const end = Date.now() + waitMs;
    for (;;) {
      const l = await readLease(docker).catch(() => undefined);
      if (!l || !l.holder || l.expiresAt <= Date.now()) break;
      if (Date.now() > end) {
        log(`Note: the controller ${l.holder} still holds the lease; going on`);
        break;
      }
      await delay(500);
    }
  }
  if (await readLease(docker).catch(() => undefined)) {
    try {
      await docker.getConfig(LEASE.config).remove();
      gone.push(`config ${LEASE.config}`);
    } catch (err) {
      log(`Note: config ${LEASE.config} not removed: ${oneLine(err)}`);
    }
  }
  // A secret stays mounted until its task's container is gone: retry a few times.
  for (let i = 0; i < 20; i++) {
    const left = await controllerSecrets(docker);
    gone.push(...(await pruneSecrets(docker, [])).map((n) => `secret ${n}`));
    if (left.length === 0 || (await controllerSecrets(docker)).length === 0) break;
    await delay(500);
  }
  return gone;
}

export async function removeControllerOf(t: LbTarget, log: Log): Promise<string[]> {
  refuseLocal(t);
  const { docker } = await swarmOf(t);
  checkOwner(t, await readService(docker));
  return removeController(docker, log);
}

/** Which providers can have a controller (gce, slb). */
export const hasController = (p: Provider) => p !== 'local';
