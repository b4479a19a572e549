/**
 * The load-balancer seam: every load balancer (the local haproxy container, a GCE network load
 * balancer, an Aliyun SLB) is one `LbBackend`, and one loop (src/lb/reconcile.ts) drives them all:
 * read what exists, compute what the swarm asks for, plan (pure), apply, verify. Backends return
 * data and report progress through a `log` callback; they never print and know no CLI.
 */
import type { Plan } from './plan.js';
import type { SwarmSnapshot } from './model.js';

export type Provider = 'local' | 'gce' | 'slb';

/** Progress lines (stderr in the CLI, the log of a controller). */
export type Log = (msg: string) => void;

/** A plan as every backend makes it: the steps, what it warns about, and what JSON shows about it. */
export interface BackendPlan {
  plan: Plan;
  /** Things the user should know (a node that is not an instance, a host-mode port on some nodes). */
  warnings: string[];
  /** Where the plan applies, for JSON output (`container`, `project`/`region`, `loadBalancer`...). */
  where: Record<string, unknown>;
}

/** What a sync that applied something ends with, per backend (rendered by the CLI). */
export type InSync = (
  | {
      provider: 'local';
      container: string;
      listeners: number;
      bind: string;
      action: string;
      readyMs?: number;
    }
  | { provider: 'gce'; address?: string; rules: string[]; instances: number }
  | { provider: 'slb'; id: string; address?: string; listeners: number }
) & {
  /** `BackendPlan.where` as it is after the apply (a load balancer just made has an id now). */
  where?: Record<string, unknown>;
};

/** The swarm service a backend runs on the nodes to health-check them (GCE), and how its tasks fare. */
export interface HelperHealth {
  service: string;
  image: string;
  /** Nodes whose newest task runs. */
  running: number;
  /** Nodes whose newest task is still on its way (pending, preparing, starting...). */
  starting: number;
  /** Nodes whose newest task failed or was rejected, with the engine's reasons (deduplicated). */
  failed: number;
  failedState?: string;
  errors: string[];
  /** What the user can do about the errors (e.g. set SWARMUP_LB_HEALTH_IMAGE). */
  hint?: string;
}

/** `lb status` as data: what the backend has, and whether it matches the swarm. */
export interface LbStatus {
  provider: Provider;
  /** The backend's own fields (container, listeners, target pool, ...), as printed with --json. */
  details: Record<string, unknown>;
  /** Changes a sync would make; undefined when the swarm could not be read. */
  pending?: number;
  /** Why the swarm could not be compared. */
  swarmError?: string;
  /** The helper service's state, when the backend has one. */
  health?: HelperHealth;
}

export interface RemoveOptions {
  log: Log;
  /**
   * Also remove what the load balancer runs on the swarm (the GCE health service) when a manager
   * answers. `cluster down` passes false: the swarm goes with the machines.
   */
  swarm?: boolean;
  /** The cluster's own resources go right after (cluster down): rules in its own group need no revoking. */
  clusterGoes?: boolean;
  /** Called with the removal plan before it is carried out, when the backend plans one (GCE). */
  onPlan?: (plan: Plan) => void;
}

/**
 * One load balancer in front of one swarm. `Cur` is what exists, `Des` what the swarm asks for and
 * `P` the plan between them; the reconcile loop treats them as opaque.
 */
export interface LbBackend<Cur = unknown, Des = unknown, P extends BackendPlan = BackendPlan> {
  readonly provider: Provider;
  /** Read what exists now (reads only). */
  current(): Promise<Cur>;
  /** What the swarm asks for, from a snapshot (may read the store to map nodes to instances). */
  desired(snap: SwarmSnapshot, current: Cur): Promise<Des>;
  /** Pure: the steps from `current` to `desired`. */
  plan(current: Cur, desired: Des): P;
  /** Carry out the plan (nothing when it has no steps). */
  apply(p: P, current: Cur, log: Log): Promise<void>;
  /** Read again and check nothing is left to do (throws otherwise); what the balancer now is. */
  verify(p: P, desired: Des): Promise<InSync>;
  /** What `lb sync` would say about a backend already in sync, when it says anything (SLB). */
  unchanged?(p: P, current: Cur): InSync | undefined;
  /** The helper service's tasks, when the backend runs one on the swarm (undefined otherwise). */
  helperHealth?(): Promise<HelperHealth | undefined>;
  /** Remove everything this load balancer owns; what went. */
  remove(o: RemoveOptions): Promise<string[]>;
  /** Status as data; `swarm` reads the swarm to compare with (its failure is reported, not thrown). */
  describe(swarm: () => Promise<SwarmSnapshot>): Promise<LbStatus>;
}
