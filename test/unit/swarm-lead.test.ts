/**
 * A restarted raft that names no leader: its engine is restarted once, then the repair goes on; without
 * a way to restart it, or when the restart fails or does not help, one clear line says what was seen.
 * The swarm calls are replaced by a scripted swarm (node lists, force-new-cluster, leave) so that the
 * Docker Engine's rare no-leader-flag answer happens on every run.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEndpoint } from '../../src/engine/api.js';
import { UserError } from '../../src/errors.js';
import { EngineApiError } from '../../src/swarm/errors.js';
import type { LocalSwarmState, RawNode } from '../../src/swarm/model.js';
import type { SwarmOptions } from '../../src/swarm/steps/context.js';

/** What the scripted swarm answers: `leads` decides whether the survivor's list flags a leader. */
const swarm = {
  leads: false,
  nodeReads: 0,
  forced: [] as string[],
  left: [] as string[],
  /** Rebuilds started (from which member) and swarm inits that followed. */
  rebuilt: [] as string[],
};
const endpoint = (host: string): EngineEndpoint => ({ host, port: 2376, ca: '', cert: '', key: '' });

const survivorNode = (leader: boolean): RawNode => ({
  ID: 'n1',
  Spec: { Role: 'manager' },
  Status: { State: 'ready', Addr: leader ? '10.0.0.1' : '0.0.0.0' },
  ManagerStatus: leader ? { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' } : undefined,
});

vi.mock('../../src/swarm/calls.js', async (orig) => ({
  ...(await orig<typeof import('../../src/swarm/calls.js')>()),
  readNodes: async () => {
    swarm.nodeReads++;
    return [survivorNode(swarm.leads), { ID: 'w1', Spec: { Role: 'worker' }, Status: { State: 'ready' } }];
  },
  swarmState: async (ep: EngineEndpoint): Promise<LocalSwarmState> =>
    ep.host === 'm1' || !swarm.left.includes(ep.host)
      ? { state: 'active', isManager: true, nodeId: ep.host === 'm1' ? 'n1' : 'n2', clusterId: 'c1' }
      : { state: 'inactive', isManager: false },
  settledState: async (): Promise<LocalSwarmState> => ({ state: 'inactive', isManager: false }),
}));
vi.mock('../../src/swarm/membership.js', async (orig) => ({
  ...(await orig<typeof import('../../src/swarm/membership.js')>()),
  forceNewCluster: async (m: { name: string }) => void swarm.forced.push(m.name),
  leaveSwarm: async (ep: EngineEndpoint) => {
    swarm.left.push(ep.host);
    return { left: true };
  },
}));

vi.mock('../../src/swarm/steps/rebuild.js', async (orig) => ({
  ...(await orig<typeof import('../../src/swarm/steps/rebuild.js')>()),
  startRebuild: async (ctx: { members: { name: string }[] }, from: number, why: string) =>
    void swarm.rebuilt.push(`rebuild from ${ctx.members[from].name}: ${why}`),
}));
vi.mock('../../src/swarm/steps/init.js', () => ({
  initOrAdopt: { title: 'init', run: async () => void swarm.rebuilt.push('init') },
}));

const { NoLeadError, awaitLead } = await import('../../src/swarm/steps/await-lead.js');
const { repairQuorum } = await import('../../src/swarm/steps/repair-quorum.js');
const { newContext } = await import('../../src/swarm/steps/context.js');

beforeEach(() => {
  Object.assign(swarm, { leads: false, nodeReads: 0, forced: [], left: [], rebuilt: [] });
});

const unflagged = (): RawNode[] => [survivorNode(false)];
const fast = { flagMs: 300, afterRestartMs: 1_000 };

describe('awaitLead: a restarted raft whose node list names no leader', () => {
  it('a node list with the leader flag: no engine restart', async () => {
    const restartEngine = vi.fn(async () => undefined);
    const r = await awaitLead({
      name: 'm1',
      nodes: async () => [survivorNode(true)],
      restartEngine,
      ...fast,
    });
    expect(r).toEqual({ engineRestarted: false });
    expect(restartEngine).not.toHaveBeenCalled();
  });

  it('the engine is restarted once, and the leader flag that follows ends the wait', async () => {
    let restarted = false;
    const restartEngine = vi.fn(async () => void (restarted = true));
    const onRestart = vi.fn();
    const r = await awaitLead({
      name: 'm1',
      nodes: async () => [survivorNode(restarted)],
      restartEngine,
      onRestart,
      ...fast,
    });
    expect(r).toEqual({ engineRestarted: true });
    expect(restartEngine).toHaveBeenCalledTimes(1);
    expect(onRestart).toHaveBeenCalledWith(
      expect.stringMatching(/no leader \(managers: n1 0\.0\.0\.0 \{\}\)/),
    );
  });

  it('a restart that does not help: one line saying so and what was seen', async () => {
    const restartEngine = vi.fn(async () => undefined);
    const err = await awaitLead({ name: 'm1', nodes: async () => unflagged(), restartEngine, ...fast }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoLeadError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(
      /^m1 did not lead the swarm restarted on it \(docker swarm init --force-new-cluster\), not even after its Docker Engine was restarted \(last seen: a node list of 1 with no leader \(managers: n1 0\.0\.0\.0 \{\}\)\)$/,
    );
    expect(restartEngine).toHaveBeenCalledTimes(1);
  });

  it('a restart that fails: one line with its reason, not retried', async () => {
    const restartEngine = vi.fn(async () => {
      throw new Error('ssh: connect to host 10.0.0.1 port 22: Connection refused');
    });
    const err = await awaitLead({ name: 'm1', nodes: async () => unflagged(), restartEngine, ...fast }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err).not.toBeInstanceOf(NoLeadError);
    expect((err as Error).message).toMatch(
      /^m1 did not lead .* \(last seen: a node list of 1 with no leader .*\), and restarting its Docker Engine failed: ssh: connect to host 10\.0\.0\.1 port 22: Connection refused$/,
    );
    expect(restartEngine).toHaveBeenCalledTimes(1);
  });

  it('no way to restart the engine: one line after the bound', async () => {
    const err = await awaitLead({ name: 'm1', nodes: async () => unflagged(), ...fast }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /^m1 did not lead the swarm restarted on it .* within 0 s \(last seen: a node list/,
    );
  });

  it('no answer, then a leader: transient errors are waited out, the last one is what was seen', async () => {
    const noLeader = new EngineApiError(
      'listing swarm nodes on 10.0.0.1:2376: The swarm does not have a leader',
      503,
      'The swarm does not have a leader',
    );
    const err = await awaitLead({
      name: 'm1',
      nodes: async () => {
        throw noLeader;
      },
      ...fast,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/last seen: .*does not have a leader/);
    // No node list was seen: not the restarted raft that names no member, so no rebuild follows.
    expect(err).not.toBeInstanceOf(NoLeadError);
  });

  it('an error that is not about the leader is not waited out', async () => {
    const restartEngine = vi.fn(async () => undefined);
    const denied = new EngineApiError(
      'listing swarm nodes on 10.0.0.1:2376: permission denied',
      403,
      'permission denied',
    );
    await expect(
      awaitLead({ name: 'm1', nodes: async () => Promise.reject(denied), restartEngine, ...fast }),
    ).rejects.toBe(denied);
    expect(restartEngine).not.toHaveBeenCalled();
  });
});

describe('repairQuorum: a lost quorum restarted on a survivor that names no leader', () => {
  const members = ['m1', 'm2', 'm3'].map((name) => ({
    name,
    role: 'manager' as const,
    endpoint: endpoint(name),
    advertiseAddr: `10.0.0.${name.slice(1)}`,
  }));
  // The 12 s bound of a real repair passes on a fake clock.
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
  const run = async (ctx: Parameters<typeof repairQuorum.run>[0]) => {
    let done = false;
    const p = repairQuorum.run(ctx).finally(() => (done = true));
    p.catch(() => undefined);
    while (!done) await vi.advanceTimersByTimeAsync(500);
    return p;
  };
  const lostCtx = (opts: { restartEngine?: (m: string) => Promise<void>; rebuildStore?: object }) => {
    const log: string[] = [];
    const ctx = newContext(members, {
      log: (m: string) => log.push(m),
      repair: true,
      ...(opts as Pick<SwarmOptions, 'restartEngine' | 'rebuildStore'>),
    });
    ctx.states = [
      { state: 'active', isManager: true, nodeId: 'n1', clusterId: 'c1' },
      { state: 'active', isManager: true, nodeId: 'n2', clusterId: 'c1' },
      { state: 'inactive', isManager: false },
    ];
    ctx.leader = 0;
    ctx.control = members[0].endpoint;
    ctx.lostQuorum = { size: 5, alive: ['n1', 'n2'], dead: ['a', 'b', 'c'], unknown: [], lost: true };
    return { ctx, log };
  };

  it('restarts the survivor’s engine once, then the other manager leaves to join again', async () => {
    const restartEngine = vi.fn(async () => void (swarm.leads = true));
    const { ctx, log } = lostCtx({ restartEngine });
    await run(ctx);
    expect(swarm.forced).toEqual(['m1']);
    expect(restartEngine.mock.calls).toEqual([['m1']]);
    expect(swarm.left).toEqual(['m2']);
    expect(ctx.result.quorumRestartedOn).toBe('m1');
    expect(log.join('\n')).toMatch(/m1 lists the swarm's nodes with no leader: restarting its Docker Engine/);
  });

  it('a survivor that leads at once: no engine restart', async () => {
    swarm.leads = true;
    const restartEngine = vi.fn(async () => undefined);
    const { ctx } = lostCtx({ restartEngine });
    await run(ctx);
    expect(restartEngine).not.toHaveBeenCalled();
    expect(swarm.left).toEqual(['m2']);
  });

  it('without a way to restart the engine: one error, nothing left to leave', async () => {
    const { ctx } = lostCtx({});
    await expect(run(ctx)).rejects.toThrow(/^m1 did not lead the swarm restarted on it .* within 12 s/);
    expect(swarm.left).toEqual([]);
  });

  it('a restart that does not help, with a store to keep the swarm in: the swarm is rebuilt there', async () => {
    const restartEngine = vi.fn(async () => undefined);
    const { ctx } = lostCtx({ restartEngine, rebuildStore: {} });
    await run(ctx);
    expect(swarm.forced).toEqual(['m1']);
    expect(restartEngine).toHaveBeenCalledTimes(1);
    expect(swarm.rebuilt).toEqual(['rebuild from m1: the raft restarted on m1 never named a leader', 'init']);
    // The rebuild made every member leave: nothing is left for the old-raft leave step.
    expect(swarm.left).toEqual([]);
  });

  it('no rebuild when the survivor only stopped answering: the one-line error stays', async () => {
    const restartEngine = vi.fn(async () => {
      throw new Error('ssh: connect to host 10.0.0.1 port 22: Connection refused');
    });
    const { ctx } = lostCtx({ restartEngine, rebuildStore: {} });
    await expect(run(ctx)).rejects.toThrow(/restarting its Docker Engine failed: ssh: connect/);
    expect(swarm.rebuilt).toEqual([]);
  });

  it('no rebuild without a store to keep the swarm in: the one-line error stays', async () => {
    const { ctx } = lostCtx({ restartEngine: async () => undefined });
    await expect(run(ctx)).rejects.toThrow(/not even after its Docker Engine was restarted/);
    expect(swarm.rebuilt).toEqual([]);
  });
});
