/**
 * The local load balancer as an `LbBackend`: one haproxy container (host network) per target on the
 * engine that hosts the target's machines, or this host's (`LbTarget.hostEngine`, src/engine/host.ts),
 * for drivers whose machines that host reaches at their swarm addresses.
 */
import type Docker from 'dockerode';
import { hostEngineClient, type EngineAddress } from '../../engine/host.js';
import { UserError } from '../../errors.js';
import { noAnswerHint } from '../../util/deadlines.js';
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

/** Turn a failure to talk to the engine into one clear line. */
async function onEngine<T>(engine: EngineAddress, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UserError) throw err;
    const silent = noAnswerHint(err);
    throw new UserError(
      `${what} on the Docker engine ${engine.DockerHost}: ${silent ?? (err as Error).message}`,
    );
  }
}

type Planned = LocalPlan & { warnings: string[]; where: Record<string, unknown> };

export class LocalLb implements LbBackend<LocalCurrent, Listener[], Planned> {
  readonly provider = 'local' as const;
  // With the API deadline (docker-modem reads connectionTimeout).
  private readonly docker: Docker;
  private applied?: ApplyResult;

  constructor(
    private readonly name: string,
    private readonly engine: EngineAddress,
    private readonly opts: LocalOptions = {},
  ) {
    this.docker = hostEngineClient(engine);
  }

  private on<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return onEngine(this.engine, what, fn);
  }

  current(): Promise<LocalCurrent> {
    return this.on('cannot read the load balancer', () => readLocal(this.docker, this.name));
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
    this.applied = await this.on('cannot update the load balancer', () =>
      applyLocal(this.docker, current, p, log),
    );
  }

  async verify(p: Planned, desired: Listener[]): Promise<InSync> {
    const after = await this.on('cannot verify the load balancer', () =>
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
    const removed = await this.on('cannot remove the load balancer', () =>
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
        engine: this.engine.DockerHost,
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
