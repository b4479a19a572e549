/**
 * The local load balancer as an `LbBackend`: one haproxy container on the local Docker engine (host
 * network) per target, for drivers whose machines this host reaches at their swarm addresses.
 */
import Docker from 'dockerode';
import { UserError } from '../../errors.js';
import { apiAnswerMs, noAnswerHint } from '../../util/deadlines.js';
import type { InSync, LbBackend, LbStatus, Log, RemoveOptions } from '../backend.js';
import { desiredListeners, listenerKey } from '../desired.js';
import type { Listener, SwarmSnapshot } from '../model.js';
import {
  applyLocal,
  planLocal,
  readLocal,
  removeLocal,
  verifyLocal,
  type ApplyResult,
  type LocalCurrent,
  type LocalOptions,
  type LocalPlan,
} from './backend.js';
import { lbContainerName } from './container.js';

export const localEngineName = () => process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

/** Turn a failure to talk to the local engine into one clear line. */
async function onLocalEngine<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UserError) throw err;
    const silent = noAnswerHint(err);
    throw new UserError(
      `${what} on the local Docker engine (${localEngineName()}): ${silent ?? (err as Error).message}`,
    );
  }
}

type Planned = LocalPlan & { warnings: string[]; where: Record<string, unknown> };

export class LocalLb implements LbBackend<LocalCurrent, Listener[], Planned> {
  readonly provider = 'local' as const;
  // The engine named by DOCKER_HOST, with the API deadline (docker-modem reads connectionTimeout).
  private readonly docker = new Docker({ connectionTimeout: apiAnswerMs() } as Docker.DockerOptions);
  private applied?: ApplyResult;

  constructor(
    private readonly name: string,
    private readonly opts: LocalOptions = {},
  ) {}

  current(): Promise<LocalCurrent> {
    return onLocalEngine('cannot read the load balancer', () => readLocal(this.docker, this.name));
  }

  async desired(snap: SwarmSnapshot): Promise<Listener[]> {
    return desiredListeners(snap.services, snap.nodes, snap.tasks);
  }

  plan(current: LocalCurrent, desired: Listener[]): Planned {
    const lp = planLocal(current, desired, this.opts);
    return {
      ...lp,
      warnings: [],
      where: { container: lbContainerName(this.name), image: lp.image, bind: lp.next.bind },
    };
  }

  async apply(p: Planned, current: LocalCurrent, log: Log): Promise<void> {
    this.applied = await onLocalEngine('cannot update the load balancer', () =>
      applyLocal(this.docker, current, p, log),
    );
  }

  async verify(p: Planned, desired: Listener[]): Promise<InSync> {
    const after = await onLocalEngine('cannot verify the load balancer', () =>
      verifyLocal(this.docker, p, desired),
    );
    return {
      provider: 'local',
      container: lbContainerName(this.name),
      listeners: after.state?.listeners.length ?? 0,
      bind: p.next.bind,
      action: this.applied?.action ?? p.action,
      readyMs: this.applied?.readyMs,
    };
  }

  async remove(o: RemoveOptions): Promise<string[]> {
    const name = lbContainerName(this.name);
    // No local engine at all (a VirtualBox or generic user without Docker here): no container either.
    const noEngine = await this.docker.ping().then(
      () => false,
      (err: NodeJS.ErrnoException) => ['ENOENT', 'ECONNREFUSED'].includes(err.code ?? ''),
    );
    if (noEngine) return [];
    const removed = await onLocalEngine('cannot remove the load balancer', () =>
      removeLocal(this.docker, this.name, () => o.log(`Removing load balancer container ${name}...`)),
    );
    if (!removed) return [];
    return [`container ${lbContainerName(this.name)}`];
  }

  async describe(swarm: () => Promise<SwarmSnapshot>): Promise<LbStatus> {
    const cur = await this.current();
    // Compare with the swarm when a manager answers; the LB's own state is shown either way.
    let pending: number | undefined;
    let swarmError: string | undefined;
    try {
      pending = planLocal(cur, await this.desired(await swarm())).plan.steps.length;
    } catch (err) {
      swarmError = (err as Error).message;
    }
    const listening = new Set(cur.runtime?.workers.flatMap((w) => w.ports) ?? []);
    const c = cur.container;
    return {
      provider: 'local',
      pending,
      swarmError,
      details: {
        containerName: lbContainerName(this.name),
        engine: localEngineName(),
        container: c
          ? { name: c.name, id: c.id, image: c.image, status: c.status, startedAt: c.startedAt }
          : null,
        bind: cur.state?.bind ?? null,
        listeners: (cur.state?.listeners ?? []).map((l) => ({
          listener: listenerKey(l),
          mode: l.mode,
          services: l.services,
          backends: l.backends,
          listening: !!c?.running && listening.has(l.port),
        })),
      },
    };
  }
}
