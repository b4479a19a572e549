/**
 * What the swarm steps share while they bring members into one swarm. Each step reads what the steps
 * before it found and leaves what the next ones need; bootstrap.ts lists them in order.
 */
import type { EngineEndpoint } from '../../engine/api.js';
import { oneLine } from '../../errors.js';
import { mapBounded } from '../../util/async.js';
import { joinTokens, type JoinTokens, type SwarmMember } from '../membership.js';
import type { MachineRef } from '../identity.js';
import type { QuorumVerdict } from '../quorum.js';
import type { SwarmContents } from '../contents.js';
import { hostOf, type LocalSwarmState } from '../model.js';

export interface SwarmOptions {
  log: (m: string) => void;
  /** Members handled at once (state reads, worker joins, labels); default 8. */
  parallel?: number;
  /**
   * The members are one cluster's own machines, so a swarm that lost its managers is theirs to
   * repair: workers left behind by managers that are all gone leave it and join a new swarm, and a
   * swarm without a raft majority restarts from its most up-to-date surviving manager.
   */
  repair?: boolean;
  /** The cluster's name: nodes labelled with it are the cluster's own. */
  cluster?: string;
  /** The machine that led the swarm when it was last converged (preferred to restart raft from). */
  lastLeader?: string;
  /** Told every member's node ID as soon as all are known (to record them before anything else). */
  onNodeIds?: (ids: Record<string, string>) => Promise<void>;
  /** The member an earlier, unfinished run restarted raft on (see `onRaftRestart`). */
  raftRestartedOn?: string;
  /** Told the member raft is about to be restarted on, before the restart (to record it). */
  onRaftRestart?: (member: string) => Promise<void>;
  /**
   * Restart a member's Docker Engine through its driver and return once the engine answers. Used when
   * the member raft was restarted on names no leader (see steps/await-lead.ts); without it, that fails.
   */
  restartEngine?: (member: string) => Promise<void>;
  /** Rebuild the swarm (`--rebuild-swarm`, see steps/rebuild.ts). */
  rebuild?: boolean;
  /** Where a rebuild keeps what it carries over; without it, no rebuild is done or resumed. */
  rebuildStore?: RebuildStore;
}

/** What a rebuild carries over, with the old swarm's ID (see rebuild.ts). */
export type KeptContents = SwarmContents & { clusterId?: string };

/** Where a rebuild keeps what it carries over (the swarmup store, 0600) until the new swarm holds it. */
export interface RebuildStore {
  load(): Promise<KeptContents | undefined>;
  save(c: KeptContents): Promise<void>;
  clear(): Promise<void>;
}

export interface SwarmResult {
  /** `swarm init` ran (a new swarm). */
  initialized: boolean;
  /** Members that were not in the swarm before, in member order. */
  joined: string[];
  /** Machine name → node ID, for every member. */
  nodeIds: Record<string, string>;
  /** Node entries removed as leftovers. */
  removedNodes: string[];
  /** The member raft was restarted from (`--force-new-cluster`), if it was. */
  quorumRestartedOn?: string;
  /** A rebuild (see steps/rebuild.ts) finished: the swarm is new, its contents made again. */
  rebuilt?: boolean;
}

export interface SwarmContext {
  readonly members: readonly SwarmMember[];
  readonly opts: SwarmOptions;
  readonly parallel: number;
  /** Each member's swarm state, as the latest step saw it. */
  states: LocalSwarmState[];
  /** Index of the member whose swarm the others join. */
  leader: number;
  /** `swarm init` is needed on the leader. */
  init: boolean;
  /** Members that are workers of a swarm whose managers are all gone. */
  orphans: number[];
  /** A manager every call goes through. */
  control: EngineEndpoint;
  /** Each member's node ID once it is in the swarm. */
  nodeIds: string[];
  /** Something changed: the log says what. */
  changed: boolean;
  result: SwarmResult;
  /** Log a change. */
  change(m: string): void;
  /** Log something that is not a change. */
  note(m: string): void;
  /** The join tokens once read (see `tokensOf`). */
  tokenCache?: Promise<JoinTokens>;
  /** A lost quorum proven before any surviving manager was asked (see inspectMembers). */
  lostQuorum?: QuorumVerdict;
  /** The swarm's node IDs before this run's first join (an entry newer than that came from a join). */
  beforeJoins?: ReadonlySet<string>;
}

export interface SwarmStep {
  /** What the step does, in a few words (for readers and debug output). */
  title: string;
  run(ctx: SwarmContext): Promise<void>;
}

export function newContext(members: readonly SwarmMember[], opts: SwarmOptions): SwarmContext {
  const ctx: SwarmContext = {
    members,
    opts,
    parallel: Math.max(1, opts.parallel ?? 8),
    states: [],
    leader: -1,
    init: false,
    orphans: [],
    control: members[0].endpoint,
    nodeIds: [],
    changed: false,
    result: { initialized: false, joined: [], nodeIds: {}, removedNodes: [] },
    change(m) {
      ctx.changed = true;
      opts.log(m);
    },
    note: (m) => opts.log(m),
  };
  return ctx;
}

/** The join tokens, read from the control manager once, when a step first needs them. */
export function tokensOf(ctx: SwarmContext): Promise<JoinTokens> {
  ctx.tokenCache ??= joinTokens(ctx.control);
  return ctx.tokenCache;
}

/** Settle `fn` over items with bounded concurrency; failures are collected, not thrown. */
export async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: unknown; message: string })[]> {
  return mapBounded(items, limit, async (item) => {
    try {
      return { ok: true as const, value: await fn(item) };
    } catch (error) {
      return { ok: false as const, error, message: oneLine(error) };
    }
  });
}

/** The members' references for node identity: current IDs where known, records, addresses. */
export function machineRefs(ctx: SwarmContext): MachineRef[] {
  return ctx.members.map((m, i) => ({
    name: m.name,
    nodeId: ctx.nodeIds[i] ?? (ctx.states[i]?.state === 'active' ? ctx.states[i].nodeId : null) ?? null,
    recordedIds: m.recordedNodeIds,
    address: hostOf(m.advertiseAddr),
    hostname: ctx.states[i]?.hostname,
  }));
}
