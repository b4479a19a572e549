import type Docker from 'dockerode';
import { UserError } from '../../errors.js';
import { delay } from '../../util/async.js';
import { debug } from '../../util/log.js';
import { compareListeners, listenerKey, sameListener } from '../desired.js';
import type { Listener } from '../model.js';
import { diffByKey, diffSteps, orderSteps, type Plan, type PlanStep } from '../plan.js';
import {
  containerLogs,
  ensureImage,
  execIn,
  findLbContainer,
  LABEL_CLUSTER,
  LABEL_LB,
  lbContainerName,
  putContainerFiles,
  readContainerFile,
  type LbContainer,
} from './container.js';
import {
  CONFIG_DIR,
  CONFIG_FILE,
  CONFIG_PATH,
  configCheckPassed,
  parseState,
  renderConfig,
  type LocalState,
} from './haproxy.js';
import {
  currentWorker,
  listeningPorts,
  parseProbe,
  portsTaken,
  PROBE_SCRIPT,
  type RuntimeState,
} from './runtime.js';

export const DEFAULT_LB_IMAGE = 'haproxy:lts';
export const DEFAULT_BIND = '127.0.0.1';

/** What the local load balancer of a cluster is right now. */
export interface LocalCurrent {
  cluster: string;
  container?: LbContainer;
  /** The config file's text (undefined without a container or file). */
  config?: string;
  /** The state recorded in the config (undefined when missing or unreadable). */
  state?: LocalState;
  /** haproxy's processes and listening ports (undefined when the container is not running). */
  runtime?: RuntimeState;
}

export async function probeRuntime(docker: Docker, id: string): Promise<RuntimeState> {
  const r = await execIn(docker, id, ['sh', '-c', PROBE_SCRIPT]);
  if (r.code !== 0) throw new Error(`probing haproxy failed (exit ${r.code}): ${r.stderr.trim()}`);
  return parseProbe(r.stdout);
}

export async function readLocal(docker: Docker, cluster: string): Promise<LocalCurrent> {
  const container = await findLbContainer(docker, cluster);
  if (!container) return { cluster };
  const [config, runtime] = await Promise.all([
    readContainerFile(docker, container.id, CONFIG_PATH),
    // A probe that fails counts as "listening on nothing": the plan then reloads.
    container.running
      ? probeRuntime(docker, container.id).catch((): RuntimeState => ({ workers: [], others: [] }))
      : undefined,
  ]);
  return { cluster, container, config, state: config ? parseState(config) : undefined, runtime };
}

export interface LocalOptions {
  /** Image for a new container; given explicitly and different from the container's: recreate. */
  image?: string;
  /** Address to listen on; default: the recorded one, else 127.0.0.1. */
  bind?: string;
}

export type LocalAction = 'none' | 'create' | 'recreate' | 'start' | 'reload';

export interface LocalPlan {
  cluster: string;
  plan: Plan;
  /** State (and so config) after apply. */
  next: LocalState;
  config: string;
  image: string;
  action: LocalAction;
  /** The config file changes (otherwise a reload only re-reads the same file). */
  writeConfig: boolean;
}

/** A listener as the local balancer has it: bound on an address, maybe not actually listening. */
interface Bound {
  listener: Listener;
  bind: string;
  listening: boolean;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
const about = (l: Listener) => `(${l.services.join(', ')}, ${l.mode} mode)`;
const toBackends = (l: Listener) => `→ ${plural(l.backends.length, 'backend')} ${about(l)}`;

function describeUpdate(from: Bound, to: Bound): string {
  const changes: string[] = [];
  if (!from.listening) changes.push('not listening');
  if (from.bind !== to.bind) changes.push(`bind ${from.bind} → ${to.bind}`);
  const a = from.listener;
  const b = to.listener;
  if (a.mode !== b.mode) changes.push(`mode ${a.mode} → ${b.mode}`);
  if (a.backendPort !== b.backendPort) changes.push(`backend port ${a.backendPort} → ${b.backendPort}`);
  if (a.services.join() !== b.services.join())
    changes.push(`services ${a.services.join(',')} → ${b.services.join(',')}`);
  const id = (x: { node: string; address: string }) => `${x.node} ${x.address}`;
  const had = new Set(a.backends.map(id));
  const has = new Set(b.backends.map(id));
  const added = b.backends.filter((x) => !had.has(id(x))).map((x) => `+${x.node}`);
  const removed = a.backends.filter((x) => !has.has(id(x))).map((x) => `-${x.node}`);
  if (added.length || removed.length) changes.push(`backends ${[...added, ...removed].join(' ')}`);
  return `${changes.join(', ')} ${toBackends(b)}`;
}

/** Pure: what `apply` will do to go from `current` to `desired`. */
export function planLocal(
  current: LocalCurrent,
  desired: readonly Listener[],
  opts: LocalOptions = {},
): LocalPlan {
  const { cluster, container, state, runtime } = current;
  const name = lbContainerName(cluster);
  const tcp = desired.filter((l) => l.protocol === 'tcp');
  const skipped = desired
    .filter((l) => l.protocol !== 'tcp')
    .map((l) => ({
      kind: 'listener',
      name: listenerKey(l),
      reason: `unsupported locally: haproxy proxies TCP, not ${l.protocol.toUpperCase()} ${about(l)}`,
    }));
  const bind = opts.bind ?? state?.bind ?? DEFAULT_BIND;
  const image = opts.image ?? container?.image ?? DEFAULT_LB_IMAGE;
  const next: LocalState = { version: 1, cluster, bind, listeners: [...tcp].sort(compareListeners) };
  const config = renderConfig(next);

  const steps: PlanStep[] = [];
  let action: LocalAction = 'none';
  if (!container) {
    if (tcp.length > 0) {
      action = 'create';
      steps.push({
        op: 'create',
        kind: 'container',
        name,
        detail: `(${image}, host network, binds ${bind})`,
      });
    }
  } else if (opts.image !== undefined && opts.image !== container.image) {
    action = 'recreate';
    steps.push({
      op: 'update',
      kind: 'container',
      name,
      detail: `image ${container.image} → ${opts.image} (recreate)`,
    });
  } else if (!container.running) {
    action = 'start';
    steps.push({ op: 'update', kind: 'container', name, detail: `start (${container.status})` });
  }

  const ports = runtime ? listeningPorts(runtime) : undefined;
  const have: Bound[] = container
    ? (state?.listeners ?? []).map((l) => ({
        listener: l,
        bind: state!.bind,
        // Only a running container that needs no container step is checked for drift.
        listening: action !== 'none' || ports === undefined || ports.has(l.port),
      }))
    : [];
  const want: Bound[] = next.listeners.map((l) => ({ listener: l, bind, listening: true }));
  const diff = diffByKey(
    want,
    have,
    (b) => listenerKey(b.listener),
    (a, b) => b.listening && a.bind === b.bind && sameListener(a.listener, b.listener),
  );
  steps.push(
    ...diffSteps(diff, {
      kind: 'listener',
      name: (b) => listenerKey(b.listener),
      create: (b) => toBackends(b.listener),
      update: describeUpdate,
      delete: (b) => about(b.listener),
    }),
  );
  const writeConfig = !!container && current.config !== config;
  if (container && steps.length === 0 && writeConfig) {
    steps.push({ op: 'update', kind: 'config', name: `${name}:${CONFIG_PATH}`, detail: '(format changed)' });
  }
  if (action === 'none' && steps.length > 0) action = 'reload';
  return {
    cluster,
    plan: { steps: orderSteps(steps, ['container', 'listener', 'config']), skipped },
    next,
    config,
    image,
    action,
    writeConfig,
  };
}

export interface ApplyResult {
  action: LocalAction;
  containerId?: string;
  /** From signal (or start) to the new haproxy worker listening on every port. */
  readyMs?: number;
}

const expectedPorts = (s: LocalState) => s.listeners.filter((l) => l.protocol === 'tcp').map((l) => l.port);

const sameSet = (a: Iterable<number>, b: Iterable<number>) => {
  const x = [...new Set(a)].sort((p, q) => p - q).join();
  const y = [...new Set(b)].sort((p, q) => p - q).join();
  return x === y;
};

/** haproxy's alerts since its last (re)load, from the container log. */
async function recentAlerts(docker: Docker, id: string): Promise<string[]> {
  const logs = await containerLogs(docker, id, 80).catch(() => '');
  const since = logs.lastIndexOf('Reloading HAProxy');
  return (since >= 0 ? logs.slice(since) : logs)
    .split('\n')
    .filter((l) => /\[ALERT\]/.test(l) && !/no server available/.test(l))
    .map((l) => l.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*/, '').trim());
}

/**
 * Wait until a haproxy worker that was not there before (`before`) listens on exactly `ports` and no
 * other worker listens anywhere else. Fails fast when the container stops or haproxy reports a
 * failed (re)load.
 */
async function waitForWorker(
  docker: Docker,
  id: string,
  ports: number[],
  before: RuntimeState | undefined,
  deadlineMs = 20_000,
): Promise<RuntimeState> {
  const old = new Set((before?.workers ?? []).map((w) => `${w.pid}/${w.start}`));
  const end = Date.now() + deadlineMs;
  let last: RuntimeState | undefined;
  for (;;) {
    const info = await docker.getContainer(id).inspect();
    if (!info.State.Running || info.State.Restarting) {
      const alerts = await recentAlerts(docker, id);
      throw new UserError(
        `haproxy in ${info.Name.replace(/^\//, '')} exited (code ${info.State.ExitCode})${alerts.length ? `: ${alerts.join('; ')}` : ''}`,
      );
    }
    last = await probeRuntime(docker, id).catch(() => undefined);
    const w = last && currentWorker(last);
    debug(`haproxy workers: ${last?.workers.map((x) => `${x.pid}:[${x.ports.join(',')}]`).join(' ') ?? '?'}`);
    if (
      last &&
      w &&
      !old.has(`${w.pid}/${w.start}`) &&
      sameSet(w.ports, ports) &&
      sameSet(listeningPorts(last), ports)
    ) {
      return last;
    }
    const logs = await containerLogs(docker, id, 30).catch(() => '');
    const tail = logs.slice(Math.max(0, logs.lastIndexOf('Reloading HAProxy')));
    if (before && /Loading failure/.test(tail)) {
      throw new UserError(
        `haproxy refused the new configuration: ${(await recentAlerts(docker, id)).join('; ') || 'see docker logs'}`,
      );
    }
    if (Date.now() > end) {
      const now = last ? [...listeningPorts(last)].join(',') || 'none' : 'unknown';
      const alerts = await recentAlerts(docker, id);
      throw new UserError(
        `haproxy did not start listening on ${ports.join(',') || 'no ports'} within ${deadlineMs / 1000} s (listening: ${now})${alerts.length ? `: ${alerts.join('; ')}` : ''}`,
      );
    }
    await delay(100);
  }
}

async function createContainer(
  docker: Docker,
  lp: LocalPlan,
  log: (m: string) => void,
): Promise<ApplyResult> {
  await ensureImage(docker, lp.image, log);
  const name = lbContainerName(lp.cluster);
  log(`Creating container ${name} (${lp.image}, host network)...`);
  const c = await docker.createContainer({
    name,
    Image: lp.image,
    // Works with the official image and any image with haproxy on its PATH; -W: master-worker
    // (SIGUSR2 reloads), -db: stay in the foreground.
    Entrypoint: ['haproxy'],
    Cmd: ['-W', '-db', '-f', CONFIG_PATH],
    // root: binds ports below 1024 too (the official image runs as user haproxy).
    User: '0',
    Labels: { [LABEL_CLUSTER]: lp.cluster, [LABEL_LB]: 'local' },
    StopSignal: 'SIGUSR1',
    HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } },
  });
  try {
    await putConfig(docker, c.id, CONFIG_FILE, lp.config);
    const t0 = Date.now();
    await c.start();
    await waitForWorker(docker, c.id, expectedPorts(lp.next), undefined);
    return { action: lp.action, containerId: c.id, readyMs: Date.now() - t0 };
  } catch (err) {
    await c.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** Put a file into the config directory (made if missing) of a container, running or not. */
async function putConfig(docker: Docker, id: string, file: string, content: string): Promise<void> {
  const dir = CONFIG_DIR.slice(CONFIG_DIR.lastIndexOf('/') + 1);
  const parent = CONFIG_DIR.slice(0, CONFIG_DIR.lastIndexOf('/')) || '/';
  await putContainerFiles(docker, id, parent, [{ name: `${dir}/` }, { name: `${dir}/${file}`, content }]);
}

/** Keep the old config as .prev and move the staged one in place (one rename: atomic). */
const SWAP_SCRIPT = `cd ${CONFIG_DIR} && { [ ! -f ${CONFIG_FILE} ] || cp -p ${CONFIG_FILE} haproxy.prev.cfg; } && mv -f haproxy.next.cfg ${CONFIG_FILE}`;

const RESTORE_SCRIPT = `cd ${CONFIG_DIR} && if [ -f haproxy.prev.cfg ]; then mv -f haproxy.prev.cfg ${CONFIG_FILE}; fi`;

async function reload(
  docker: Docker,
  c: LbContainer,
  current: LocalCurrent,
  lp: LocalPlan,
  log: (m: string) => void,
): Promise<ApplyResult> {
  const before = await probeRuntime(docker, c.id);
  // A port another process holds would make haproxy pause every listener while it retries, then
  // fail: refuse before touching anything.
  const held = listeningPorts(before);
  const taken = portsTaken(
    before,
    lp.next.bind,
    expectedPorts(lp.next).filter((p) => !held.has(p)),
  );
  if (taken.length > 0) {
    throw new UserError(
      `cannot listen on ${taken.join(', ')}: another process on this host already does; free the port or publish another one`,
    );
  }
  if (lp.writeConfig) {
    log(`Writing ${CONFIG_PATH} in ${c.name}...`);
    await putConfig(docker, c.id, 'haproxy.next.cfg', lp.config);
    const check = await execIn(docker, c.id, ['haproxy', '-c', '-f', `${CONFIG_DIR}/haproxy.next.cfg`]);
    const said = check.stdout + check.stderr;
    if (!configCheckPassed(check.code, said)) {
      const why = said
        .split('\n')
        .filter((l) => /ALERT|error/i.test(l))
        .map((l) => l.replace(/^\[ALERT\]\s*(\(\d+\)\s*)?:\s*/, '').trim())
        .join('; ');
      throw new UserError(
        `haproxy rejected the generated configuration: ${why || said.trim() || `exit ${check.code}`}`,
      );
    }
    const swap = await execIn(docker, c.id, ['sh', '-c', SWAP_SCRIPT]);
    if (swap.code !== 0)
      throw new Error(`installing the new config failed: ${swap.stderr.trim() || `exit ${swap.code}`}`);
  }
  log(`Reloading haproxy in ${c.name} (SIGUSR2)...`);
  const t0 = Date.now();
  await docker.getContainer(c.id).kill({ signal: 'SIGUSR2' });
  try {
    await waitForWorker(docker, c.id, expectedPorts(lp.next), before);
  } catch (err) {
    if (lp.writeConfig && current.state) {
      // Keep file and runtime in agreement: the old workers still run the previous config.
      log('Restoring the previous configuration...');
      const failed = await probeRuntime(docker, c.id).catch(() => undefined);
      await execIn(docker, c.id, ['sh', '-c', RESTORE_SCRIPT]).catch(() => undefined);
      await docker
        .getContainer(c.id)
        .kill({ signal: 'SIGUSR2' })
        .catch(() => undefined);
      await waitForWorker(docker, c.id, expectedPorts(current.state), failed).catch(() => undefined);
    }
    throw err;
  }
  return { action: 'reload', containerId: c.id, readyMs: Date.now() - t0 };
}

/** Make the local load balancer match the plan (nothing when the plan has no steps). */
export async function applyLocal(
  docker: Docker,
  current: LocalCurrent,
  lp: LocalPlan,
  log: (m: string) => void,
): Promise<ApplyResult> {
  const c = current.container;
  switch (lp.action) {
    case 'none':
      return { action: 'none', containerId: c?.id };
    case 'create':
      return createContainer(docker, lp, log);
    case 'recreate':
      log(`Removing container ${c!.name} to recreate it with ${lp.image}...`);
      await docker.getContainer(c!.id).remove({ force: true });
      return createContainer(docker, lp, log);
    case 'start': {
      if (lp.writeConfig) await putConfig(docker, c!.id, CONFIG_FILE, lp.config);
      log(`Starting container ${c!.name}...`);
      const t0 = Date.now();
      await docker
        .getContainer(c!.id)
        .start()
        .catch((err: unknown) => {
          // 304: already started (a restarting container)
          if ((err as { statusCode?: number }).statusCode !== 304) throw err;
        });
      await waitForWorker(docker, c!.id, expectedPorts(lp.next), undefined);
      return { action: 'start', containerId: c!.id, readyMs: Date.now() - t0 };
    }
    case 'reload':
      return reload(docker, c!, current, lp, log);
  }
}

/** Read the load balancer again and check it matches the plan; returns what was read. */
export async function verifyLocal(
  docker: Docker,
  lp: LocalPlan,
  desired: readonly Listener[],
): Promise<LocalCurrent> {
  const again = await readLocal(docker, lp.cluster);
  const expectContainer = lp.action !== 'none' || again.container !== undefined;
  if (expectContainer && !again.container?.running) {
    throw new UserError(`verification failed: container ${lbContainerName(lp.cluster)} is not running`);
  }
  const left = planLocal(again, desired, { image: lp.image, bind: lp.next.bind }).plan.steps;
  if (left.length > 0) {
    throw new UserError(
      `verification failed: the load balancer still differs (${left.map((s) => `${s.op} ${s.kind} ${s.name}`).join('; ')})`,
    );
  }
  return again;
}

/** Remove the cluster's LB container; false when there was none. */
export async function removeLocal(docker: Docker, cluster: string, before?: () => void): Promise<boolean> {
  const c = await findLbContainer(docker, cluster);
  if (!c) return false;
  before?.();
  await docker.getContainer(c.id).remove({ force: true });
  return true;
}
