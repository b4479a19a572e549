/**
 * Swarm bootstrap end to end, for real: three lab VMs (Debian + docker.io) become TLS Docker hosts with
 * `swarmup create --driver generic`, then src/swarm builds, converges and shrinks a swarm on them
 * through the Engine API. Uses the built CLI (`npm run build` first; test/run-all does).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labUp, removeVm, startVm } from '../lab/lab.js';
import { run, swarmup, tempDir } from './helpers.js';
import { Store } from '../../src/store/store.js';
import { engineEndpoint, loadMachine } from '../../src/machine/machine.js';
import { engineClient } from '../../src/swarm/client.js';
import { bootstrapSwarm } from '../../src/swarm/bootstrap.js';
import { listNodes, swarmState } from '../../src/swarm/calls.js';
import {
  initSwarm,
  joinSwarm,
  joinTokens,
  leaveSwarm,
  type SwarmMember,
} from '../../src/swarm/membership.js';
import { removeNode, setNodeLabels, setNodeRole } from '../../src/swarm/nodes.js';
import { waitNodesReady } from '../../src/swarm/ready.js';

const VMS = ['e2e-sw-1', 'e2e-sw-2', 'e2e-sw-3'];
const [M1, W1, W2] = VMS;
let work: string;
let store: string;
let key: string;
const ips: Record<string, string> = {};
let members: SwarmMember[];
const logs: string[] = [];
const log = (m: string) => logs.push(m);
const timings: Record<string, number> = {};

const member = (name: string) => members.find((m) => m.name === name)!;
const m1 = () => member(M1).endpoint;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  timings[label] = Math.round(performance.now() - t0);
  return r;
}

/** Node spec versions, to prove that a call changed nothing. */
async function nodeVersions(): Promise<Record<string, number>> {
  const nodes = (await engineClient(m1()).listNodes()) as { ID: string; Version: { Index: number } }[];
  return Object.fromEntries(nodes.map((n) => [n.ID, n.Version.Index]));
}

async function roles(): Promise<Record<string, string>> {
  return Object.fromEntries((await listNodes(m1())).map((n) => [n.hostname, n.role]));
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-e2e-swarm-');
  store = join(work, 'store');
  key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const authorizedKey = await readFile(`${key}.pub`, 'utf8');
  await Promise.all(VMS.map((n) => removeVm(n)));
  const started = await Promise.all(VMS.map((n) => startVm(n, { image: 'node', authorizedKey })));
  for (const s of started) ips[s.name] = s.ip;
});

afterAll(async () => {
  if (Object.keys(timings).length) console.log(`swarm e2e timings (ms): ${JSON.stringify(timings)}`);
  await Promise.all(VMS.map((n) => removeVm(n)));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('swarm bootstrap on lab VMs', () => {
  it('turns three VMs into TLS Docker hosts with the generic driver', async () => {
    const results = await timed('create 3 machines', () =>
      Promise.all(
        VMS.map((n) =>
          swarmup(store, [
            'create',
            '--driver',
            'generic',
            '--generic-ip-address',
            ips[n],
            '--generic-ssh-key',
            key,
            n,
          ]),
        ),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const s = new Store(store);
    members = await Promise.all(
      VMS.map(async (name, i): Promise<SwarmMember> => {
        const m = await loadMachine(s, name);
        return {
          name,
          role: i === 0 ? 'manager' : 'worker',
          endpoint: await engineEndpoint(m),
          advertiseAddr: await m.driver.getInternalIP(),
          labels: { 'e2e.zone': `z${i}` },
        };
      }),
    );
    for (const m of members) expect((await swarmState(m.endpoint)).state).toBe('inactive');
  });

  it('bootstraps one manager and two workers', async () => {
    const r = await timed('bootstrapSwarm 1 manager + 2 workers', () => bootstrapSwarm(members, { log }));
    expect(r).toMatchObject({ initialized: true, joined: [W1, W2], removedNodes: [] });
    expect(Object.keys(r.nodeIds)).toEqual(VMS);
    const ready = await waitNodesReady(m1(), VMS, 60_000);
    expect(ready.map((n) => n.hostname)).toEqual(VMS);
    const nodes = await listNodes(m1());
    expect(nodes.map((n) => [n.hostname, n.role, n.state, n.availability])).toEqual([
      [M1, 'manager', 'ready', 'active'],
      [W1, 'worker', 'ready', 'active'],
      [W2, 'worker', 'ready', 'active'],
    ]);
    expect(nodes.filter((n) => n.leader).map((n) => n.hostname)).toEqual([M1]);
    for (const [i, n] of nodes.entries()) {
      expect(n.labels).toEqual({
        'swarmup.role': members[i].role,
        'swarmup.machine': VMS[i],
        'e2e.zone': `z${i}`,
      });
      expect(n.addr).toBe(ips[n.hostname]);
      expect(n.engineVersion).toMatch(/^20\.10\./);
      expect(n.id).toMatch(/^[a-z0-9]{25}$/);
    }
    const st = await swarmState(m1());
    expect(st).toMatchObject({ state: 'active', isManager: true });
    expect(st.clusterId).toBeTruthy();
    expect(await swarmState(member(W1).endpoint)).toMatchObject({ state: 'active', isManager: false });
  });

  it('changes nothing when run a second time', async () => {
    const before = await nodeVersions();
    logs.push('--- second run');
    const r = await timed('bootstrapSwarm no-op', () => bootstrapSwarm(members, { log }));
    expect(r).toMatchObject({ initialized: false, joined: [] });
    expect(await nodeVersions()).toEqual(before);
    expect(logs.slice(logs.indexOf('--- second run'))).toEqual([
      '--- second run',
      `Using the existing swarm managed by ${M1}`,
      'The swarm is up to date',
    ]);
    // The single calls are idempotent too.
    expect(await initSwarm(member(M1))).toEqual({ created: false });
    const tokens = await joinTokens(m1());
    expect(await joinSwarm(member(W1), tokens, [`${ips[M1]}:2377`], { manager: m1() })).toEqual({
      joined: false,
    });
    expect(await joinSwarm(member(W2), tokens, [ips[M1]])).toEqual({ joined: false });
    await setNodeLabels(m1(), W1, { 'e2e.zone': 'z1' });
    expect(await nodeVersions()).toEqual(before);
  });

  it('promotes a worker and demotes it back', async () => {
    await timed('promote', () => setNodeRole(m1(), W1, 'manager'));
    expect(await roles()).toEqual({ [M1]: 'manager', [W1]: 'manager', [W2]: 'worker' });
    let nodes = await listNodes(m1());
    expect(nodes.filter((n) => n.leader)).toHaveLength(1);
    // Raft counts it as a reachable manager; its own daemon takes over once its new certificate is in.
    await expect
      .poll(async () => (await swarmState(member(W1).endpoint)).isManager, { timeout: 30_000 })
      .toBe(true);
    // The new manager answers manager-only calls itself.
    expect((await listNodes(member(W1).endpoint)).map((n) => n.hostname)).toEqual(VMS);

    await timed('demote', () => setNodeRole(m1(), W1, 'worker'));
    expect(await roles()).toEqual({ [M1]: 'manager', [W1]: 'worker', [W2]: 'worker' });
    nodes = await listNodes(m1());
    expect(nodes.filter((n) => n.leader).map((n) => n.hostname)).toEqual([M1]);
    await expect
      .poll(async () => (await swarmState(member(W1).endpoint)).isManager, { timeout: 30_000 })
      .toBe(false);
    expect((await waitNodesReady(m1(), VMS, 60_000)).length).toBe(3);
  });

  it('converges roles back to the members on a re-run', async () => {
    await setNodeRole(m1(), W2, 'manager');
    logs.push('--- converge');
    const r = await bootstrapSwarm(members, { log });
    expect(r).toMatchObject({ initialized: false, joined: [] });
    expect(logs).toContain(`Demoting ${W2} to worker`);
    expect(await roles()).toEqual({ [M1]: 'manager', [W1]: 'worker', [W2]: 'worker' });
  });

  it('removes a node after it leaves, then joins it again', async () => {
    const tokens = await joinTokens(m1());
    expect(await leaveSwarm(member(W2).endpoint, false)).toEqual({ left: true });
    expect(await leaveSwarm(member(W2).endpoint, false)).toEqual({ left: false });
    await removeNode(m1(), W2);
    expect((await listNodes(m1())).map((n) => n.hostname)).toEqual([M1, W1]);
    await removeNode(m1(), W2); // already gone: fine

    // A wrong token is refused with a message that carries no token.
    const bad = { manager: tokens.manager, worker: `${tokens.worker.slice(0, -4)}zzzz` };
    const err = await timed('join with a bad token', () =>
      joinSwarm(member(W2), bad, [ips[M1]], { manager: m1(), deadlineMs: 20_000 }).then(
        () => undefined,
        (e: Error) => e,
      ),
    );
    expect(err?.message).toMatch(new RegExp(`^joining ${W2} to the swarm on .* failed: `));
    for (const t of [tokens.manager, tokens.worker, bad.worker]) expect(err?.message).not.toContain(t);
    expect(err?.message).not.toMatch(/SWMTKN-1-[a-z0-9]/);

    const r = await timed('joinSwarm of one worker', () =>
      joinSwarm(member(W2), tokens, [ips[M1]], { manager: m1() }),
    );
    expect(r).toEqual({ joined: true });
    expect(await bootstrapSwarm(members, { log })).toMatchObject({ initialized: false, joined: [] });
    const nodes = await waitNodesReady(m1(), VMS, 60_000);
    expect(nodes.find((n) => n.hostname === W2)?.labels['swarmup.role']).toBe('worker');
  });

  it('refuses machines that belong to another swarm, and rejoins them once they leave', async () => {
    expect(await timed('leave of a worker', () => leaveSwarm(member(W2).endpoint, false))).toEqual({
      left: true,
    });
    await timed('removeNode', () => removeNode(m1(), W2));
    // W2 starts a swarm of its own.
    expect(await timed('initSwarm', () => initSwarm({ ...member(W2), role: 'manager' }))).toEqual({
      created: true,
    });
    await expect(bootstrapSwarm(members, { log })).rejects.toThrow(/managers of different swarms/);
    const tokens = await joinTokens(m1());
    await expect(joinSwarm(member(W2), tokens, [ips[M1]], { manager: m1() })).rejects.toThrow(
      `${W2} is already in another swarm`,
    );
    // A worker cannot become the first manager of a new swarm.
    await expect(initSwarm({ ...member(W1), role: 'manager' })).rejects.toThrow(
      `${W1} is already a worker of a swarm`,
    );
    expect(await leaveSwarm(member(W2).endpoint, true)).toEqual({ left: true });
    const r = await timed('bootstrapSwarm rejoining one worker', () => bootstrapSwarm(members, { log }));
    expect(r).toMatchObject({ initialized: false, joined: [W2] });
    expect((await waitNodesReady(m1(), VMS, 60_000)).map((n) => n.role)).toEqual([
      'manager',
      'worker',
      'worker',
    ]);
  });

  it('names the nodes that are not Ready when waiting times out', async () => {
    await expect(waitNodesReady(m1(), [...VMS, 'e2e-sw-nope'], 1_500)).rejects.toThrow(
      /^swarm nodes not Ready after 2 s: e2e-sw-nope \(not in the swarm\)$/,
    );
  });

  it('joins managers one at a time and removes the entries rejoined machines left behind', async () => {
    const all: SwarmMember[] = members.map((m) => ({ ...m, role: 'manager' }));
    // The workers leave without being removed from the swarm: their old entries stay behind.
    await Promise.all([W1, W2].map((n) => leaveSwarm(member(n).endpoint, false)));
    expect((await listNodes(m1())).map((n) => n.hostname)).toEqual(VMS);
    const r = await timed('bootstrapSwarm joining 2 managers', () => bootstrapSwarm(all, { log }));
    expect(r).toMatchObject({ initialized: false, joined: [W1, W2] });
    const ready = await waitNodesReady(m1(), VMS, 60_000);
    expect(ready.map((n) => n.labels['swarmup.role'])).toEqual(['manager', 'manager', 'manager']);
    const nodes = await listNodes(m1());
    expect(nodes.map((n) => [n.hostname, n.role])).toEqual(VMS.map((h) => [h, 'manager']));
    expect(nodes.filter((n) => n.leader)).toHaveLength(1);
    expect(await bootstrapSwarm(all, { log })).toMatchObject({ initialized: false, joined: [] });
  });

  it('rejoins a manager that left, under the new leader, and drops its old raft entry', async () => {
    const all: SwarmMember[] = members.map((m) => ({ ...m, role: 'manager' }));
    const oldId = (await swarmState(m1())).nodeId!;
    expect(await leaveSwarm(m1(), true)).toEqual({ left: true });
    const r = await timed('bootstrapSwarm after a manager left', () => bootstrapSwarm(all, { log }));
    expect(r).toMatchObject({ initialized: false, joined: [M1], removedNodes: [oldId] });
    const nodes = await waitNodesReady(member(W1).endpoint, VMS, 60_000);
    expect(nodes.map((n) => n.role)).toEqual(['manager', 'manager', 'manager']);
    const listed = await listNodes(member(W1).endpoint);
    expect(listed.map((n) => n.hostname)).toEqual(VMS);
    expect(listed.map((n) => n.id)).not.toContain(oldId);
    expect(listed.filter((n) => n.leader)).toHaveLength(1);
    expect(logs.some((l) => l.startsWith(`Removing the stale node ${oldId} of ${M1}`))).toBe(true);
  });

  it('never logs a join token', async () => {
    const tokens = await joinTokens(m1());
    expect(tokens.worker).toMatch(/^SWMTKN-1-/);
    expect(logs.length).toBeGreaterThan(5);
    const text = logs.join('\n');
    expect(text).not.toContain(tokens.worker);
    expect(text).not.toContain(tokens.manager);
    expect(text).not.toContain('SWMTKN');
  });
});
