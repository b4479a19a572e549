import { describe, it, expect } from 'vitest';
import {
  classifyOthers,
  findNode,
  identifyNodes,
  nodeReadiness,
  type MachineRef,
} from '../../src/swarm/identity.js';
import { chooseBootstrapManager, type LocalSwarmState, type RawNode } from '../../src/swarm/model.js';
import {
  chooseSurvivor,
  quorumFromNodes,
  quorumFromPeers,
  type QuorumMember,
} from '../../src/swarm/quorum.js';

const node = (id: string, hostname: string, over: Partial<RawNode> = {}): RawNode => ({
  ID: id,
  Spec: { Role: 'worker', Availability: 'active', Labels: {} },
  Description: { Hostname: hostname },
  Status: { State: 'ready', Addr: `10.0.0.${id.length}` },
  ...over,
});
const labelled = (id: string, machine: string, over: Partial<RawNode> = {}) =>
  node(id, 'ubuntu', {
    Spec: { Role: 'worker', Availability: 'active', Labels: { 'swarmup.machine': machine } },
    ...over,
  });
const at = (addr: string, state = 'ready') => ({ Status: { State: state, Addr: addr } });
const names = (m: Map<string, RawNode>) => Object.fromEntries([...m].map(([k, v]) => [k, v.ID]));

describe('node identity without hostnames', () => {
  it('hosts that all call themselves ubuntu are told apart by ID, label and address', () => {
    const nodes = [
      node('id-a', 'ubuntu', at('10.1.0.1')),
      labelled('id-b', 'c-worker-1', at('10.1.0.2')),
      node('id-c', 'ubuntu', at('10.1.0.3')),
    ];
    const machines: MachineRef[] = [
      { name: 'c-manager-1', nodeId: 'id-a', hostname: 'ubuntu' },
      { name: 'c-worker-1', hostname: 'ubuntu' },
      { name: 'c-worker-2', address: '10.1.0.3', hostname: 'ubuntu' },
    ];
    const r = identifyNodes(nodes, machines);
    expect(names(r.nodes)).toEqual({ 'c-manager-1': 'id-a', 'c-worker-1': 'id-b', 'c-worker-2': 'id-c' });
    expect(Object.fromEntries(r.matchedBy)).toEqual({
      'c-manager-1': 'id',
      'c-worker-1': 'label',
      'c-worker-2': 'address',
    });
    expect(r.others).toEqual([]);
  });

  it('uses the recorded ID before the label, and a hostname only when nobody shares it', () => {
    const nodes = [labelled('old', 'm1', at('10.1.0.1', 'down')), node('new', 'm1-host', at('10.1.0.9'))];
    expect(names(identifyNodes(nodes, [{ name: 'm1', recordedIds: ['new', 'old'] }]).nodes)).toEqual({
      m1: 'new',
    });
    expect(names(identifyNodes(nodes, [{ name: 'm1', hostname: 'm1-host' }]).nodes)).toEqual({ m1: 'old' });
    expect(names(identifyNodes([node('x', 'h')], [{ name: 'a', hostname: 'h' }]).nodes)).toEqual({ a: 'x' });
    // Two machines or two nodes with that hostname: no guess.
    expect(
      identifyNodes(
        [node('x', 'h')],
        [
          { name: 'a', hostname: 'h' },
          { name: 'b', hostname: 'h' },
        ],
      ).nodes.size,
    ).toBe(0);
    expect(identifyNodes([node('x', 'h'), node('y', 'h')], [{ name: 'a', hostname: 'h' }]).nodes.size).toBe(
      0,
    );
  });

  it('a machine whose daemon answered is its current node only, never an older entry', () => {
    const old = labelled('old', 'w1', at('10.1.0.5', 'down'));
    // Its daemon is in no swarm (made again, not joined yet): the labelled entry is not it.
    expect(identifyNodes([old], [{ name: 'w1', nodeId: null, address: '10.1.0.5' }]).others).toEqual([old]);
    const cur = node('cur', 'x', at('10.1.0.5'));
    const r = identifyNodes([old, cur], [{ name: 'w1', nodeId: 'cur' }]);
    expect(names(r.nodes)).toEqual({ w1: 'cur' });
    expect(r.others).toEqual([old]);
  });

  it('tells the cluster’s own leftovers from strangers', () => {
    const machines: MachineRef[] = [
      {
        name: 'c-manager-1',
        nodeId: 'm',
        recordedIds: ['m', 'rec'],
        address: '10.1.0.1',
        hostname: 'ubuntu',
      },
      { name: 'c-worker-1', nodeId: 'w', address: '10.1.0.2', hostname: 'w1' },
      { name: 'c-worker-2', nodeId: 'w2', address: '10.1.0.3', hostname: 'ubuntu' },
    ];
    const rec = node('rec', 'zzz', at('10.9.9.9'));
    const label = labelled('lab', 'c-worker-1', at('10.9.9.8'));
    const gone = node('gone', 'x', {
      ...at('10.9.9.7', 'down'),
      Spec: { Labels: { 'swarmup.cluster': 'c', 'swarmup.machine': 'c-worker-9' } },
    });
    const aliveExtra = node('extra', 'x', {
      ...at('10.9.9.6'),
      Spec: { Labels: { 'swarmup.cluster': 'c' } },
    });
    const sameAddr = node('addr', 'q', at('10.1.0.2', 'unknown'));
    const sameHost = node('host', 'w1', at('10.9.9.5', 'down'));
    const sharedHost = node('shared', 'ubuntu', at('10.9.9.4', 'down'));
    const stranger = node('stranger', 'other', at('10.9.9.3'));
    const r = classifyOthers(
      [rec, label, gone, aliveExtra, sameAddr, sameHost, sharedHost, stranger],
      machines,
      'c',
    );
    expect(r.stale.map((s) => `${s.node.ID}:${s.reason}`)).toEqual([
      'rec:recorded',
      'lab:label',
      'gone:label',
      'addr:address',
      'host:hostname',
    ]);
    expect(r.strangers.map((n) => n.ID)).toEqual(['extra', 'shared', 'stranger']);
    // Ready at a machine's address: a leftover only when that machine's daemon said it is another node.
    const readyAtW2 = node('early', 'w2', at('10.1.0.3'));
    expect(classifyOthers([readyAtW2], machines, 'c').stale.map((x) => x.reason)).toEqual(['address']);
    const unasked = machines.map((m) => (m.name === 'c-worker-2' ? { ...m, nodeId: undefined } : m));
    expect(classifyOthers([readyAtW2], unasked, 'c').strangers).toEqual([readyAtW2]);
  });

  it('an entry no daemon ever registered: a leftover when a join of this run made it, or when it is old', () => {
    const machines: MachineRef[] = [{ name: 'c-manager-1', nodeId: 'm', address: '10.1.0.1' }];
    const now = Date.parse('2026-12-07T04:40:00Z');
    // What the leader lists for a join it accepted whose node never came to say who it is.
    const ghost = (id: string, created: string): RawNode => ({
      ID: id,
      CreatedAt: created,
      Spec: { Role: 'manager' },
      Status: { State: 'unknown' },
    });
    const young = ghost('young', '2026-12-07T04:39:50Z');
    const old = ghost('old', '2026-12-07T04:38:00Z');
    const kinds = (ev: Parameters<typeof classifyOthers>[3]) =>
      classifyOthers([young, old], machines, 'c', ev).stale.map((x) => `${x.node.ID}:${x.reason}`);
    expect(kinds({ now })).toEqual(['old:never registered']);
    expect(kinds({ now, before: new Set(['m', 'old']) })).toEqual([
      'young:never registered',
      'old:never registered',
    ]);
    // Before any join of this run it was there, and it is young: someone's join may be under way.
    expect(kinds({ now, before: new Set(['m', 'young', 'old']) })).toEqual(['old:never registered']);
    // No evidence at all: nothing is assumed.
    expect(kinds({})).toEqual([]);
    // A node that said who it is is never that.
    const named = { ...young, Description: { Hostname: 'h' } };
    expect(classifyOthers([named], machines, 'c', { now, before: new Set() }).stale).toEqual([]);
  });

  it('finds one node by ID or by a hostname exactly one node has', () => {
    const nodes = [node('a', 'h1'), node('b', 'h2'), node('c', 'h2')];
    expect(findNode(nodes, 'a').ID).toBe('a');
    expect(findNode(nodes, 'h1').ID).toBe('a');
    expect(() => findNode(nodes, 'nope')).toThrow('no swarm node is named "nope"');
    expect(() => findNode(nodes, 'h2')).toThrow(/2 swarm nodes are named "h2".*use a node ID/);
  });

  it('says which machines are not Ready and why, and which nodes are no machine’s', () => {
    const nodes = [
      node('a', 'ok'),
      node('b', 'gone', { Status: { State: 'down', Message: 'heartbeat failure' } }),
      node('c', 'drained', { Spec: { Role: 'worker', Availability: 'drain' } }),
      node('d', 'x'),
    ];
    const r = nodeReadiness(nodes, [
      { name: 'ok', hostname: 'ok' },
      { name: 'gone', nodeId: 'b' },
      { name: 'drained', recordedIds: ['c'] },
      { name: 'missing', nodeId: null },
    ]);
    expect([...r.ready.keys()]).toEqual(['ok']);
    expect(r.notReady).toEqual([
      'gone (down, active: heartbeat failure)',
      'drained (ready, drain)',
      'missing (not in the swarm)',
    ]);
    expect(r.others.map((n) => n.ID)).toEqual(['d']);
  });
});

const st = (over: Partial<LocalSwarmState>): LocalSwarmState => ({
  state: 'active',
  isManager: true,
  clusterId: 'C',
  ...over,
});
const mgr = (id: string, addr: string, over: Partial<RawNode> = {}): RawNode =>
  node(id, id, {
    ...at(addr),
    Spec: { Role: 'manager' },
    ManagerStatus: { Reachability: 'reachable', Addr: `${addr}:2377` },
    ...over,
  });

describe('lost quorum, decided from evidence', () => {
  // Three managers; two were made again (fresh daemons, not in any swarm yet).
  const members: QuorumMember[] = [
    { name: 'm1', role: 'manager', state: st({ nodeId: 'n1' }), address: '10.0.0.1', recordedIds: ['n1'] },
    {
      name: 'm2',
      role: 'manager',
      state: { state: 'inactive', isManager: false },
      address: '10.0.0.12',
      recordedIds: ['n2'],
    },
    {
      name: 'm3',
      role: 'manager',
      state: { state: 'inactive', isManager: false },
      address: '10.0.0.13',
      recordedIds: ['n3'],
    },
    {
      name: 'w1',
      role: 'worker',
      state: st({ nodeId: 'w', isManager: false, clusterId: undefined }),
      address: '10.0.0.4',
    },
  ];

  it('sees it at once from a leader that still answers, though raft calls the others reachable', () => {
    const nodes = [
      mgr('n1', '10.0.0.1', { ManagerStatus: { Leader: true, Reachability: 'reachable' } }),
      mgr('n2', '10.0.0.2'),
      mgr('n3', '10.0.0.3'),
      node('w', 'w1'),
    ];
    const v = quorumFromNodes(nodes, members, 'C', 'c');
    expect(v).toMatchObject({ size: 3, alive: ['n1'], dead: ['n2', 'n3'], unknown: [], lost: true });
  });

  it('keeps a majority with one manager gone', () => {
    const one = members.map((m) => (m.name === 'm3' ? { ...m, state: st({ nodeId: 'n3' }) } : m));
    const nodes = [
      mgr('n1', '10.0.0.1'),
      mgr('n2', '10.0.0.2', { ManagerStatus: { Reachability: 'unreachable' } }),
      mgr('n3', '10.0.0.3'),
    ];
    expect(quorumFromNodes(nodes, one, 'C')).toMatchObject({
      alive: ['n1', 'n3'],
      dead: ['n2'],
      lost: false,
    });
  });

  it('sees it without a leader from the raft membership the survivor knows', () => {
    const peers = [
      { nodeId: 'n1', addr: '10.0.0.1:2377' },
      { nodeId: 'n2', addr: '10.0.0.2:2377' }, // recorded for m2
      { nodeId: 'n3', addr: '10.0.0.13:2377' }, // at m3's address (m3 now has no node)
    ];
    expect(quorumFromPeers(peers, members, 'C')).toMatchObject({
      alive: ['n1'],
      dead: ['n2', 'n3'],
      lost: true,
    });
    // Managers swarmup cannot account for might be alive: no restart while they could make a majority.
    const foreign = [
      { nodeId: 'n1', addr: '10.0.0.1:2377' },
      { nodeId: 'f1', addr: '10.5.0.1:2377' },
      { nodeId: 'f2', addr: '10.5.0.2:2377' },
    ];
    expect(quorumFromPeers(foreign, members, 'C')).toMatchObject({ unknown: ['f1', 'f2'], lost: false });
    const fewer = [
      ...peers,
      { nodeId: 'f1', addr: '10.5.0.1:2377' },
      { nodeId: 'n9', addr: '10.0.0.12:2377' },
    ];
    expect(quorumFromPeers(fewer, members, 'C')).toMatchObject({ unknown: ['f1'], lost: true });
    // Nobody can say what the raft membership is: not a lost quorum.
    expect(quorumFromPeers([], members, 'C')).toMatchObject({ size: 0, lost: false });
  });

  it('counts a manager it did not ask (busy, no node ID) as the raft member at its own address', () => {
    const unasked: QuorumMember[] = [
      {
        name: 'm1',
        role: 'manager',
        state: { state: 'inactive', isManager: false },
        address: '10.0.0.1',
        recordedIds: ['n1'],
      },
      {
        name: 'm2',
        role: 'manager',
        state: { state: 'active', isManager: true, busy: true },
        address: '10.0.0.2',
      },
      { name: 'm3', role: 'manager', state: { state: 'inactive', isManager: false }, address: '10.0.0.3' },
    ];
    const peers = [
      { nodeId: 'n1', addr: '10.0.0.1:2377' },
      { nodeId: 'n2', addr: '10.0.0.2:2377' },
      { nodeId: 'n3', addr: '10.0.0.3:2377' },
    ];
    expect(quorumFromPeers(peers, unasked, undefined)).toMatchObject({
      alive: ['n2'],
      dead: ['n1', 'n3'],
      lost: true,
    });
    // The same with m3 still there (unasked): two of three, a majority.
    const two = unasked.map((m) => (m.name === 'm3' ? { ...m, state: unasked[1].state } : m));
    expect(quorumFromPeers(peers, two, undefined)).toMatchObject({ alive: ['n2', 'n3'], lost: false });
    expect(chooseSurvivor(two, undefined)).toBe(1);
    expect(
      chooseBootstrapManager(
        two,
        two.map((m) => m.state),
      ),
    ).toEqual({ index: 1, init: false, orphans: [] });
  });

  it('never takes a busy manager for the node the store recorded (a rejoin the record missed)', () => {
    // m2 was made again and joined (new node n2b) in a run killed before it recorded n2b; m1 is busy.
    const rejoined: QuorumMember[] = [
      {
        name: 'm1',
        role: 'manager',
        state: { state: 'active', isManager: true, busy: true },
        address: '10.0.0.1',
        recordedIds: ['n1'],
      },
      {
        name: 'm2',
        role: 'manager',
        state: st({ nodeId: 'n2b' }),
        address: '10.0.0.2',
        recordedIds: ['n2a'],
      },
      {
        name: 'm3',
        role: 'manager',
        state: { state: 'active', isManager: true, busy: true },
        address: '10.0.0.3',
        recordedIds: ['n3a'],
      },
    ];
    const peers = [
      { nodeId: 'n1', addr: '10.0.0.1:2377' },
      { nodeId: 'n2b', addr: '10.0.0.2:2377' },
      { nodeId: 'n3b', addr: '10.0.0.3:2377' },
    ];
    expect(quorumFromPeers(peers, rejoined, 'C')).toMatchObject({ alive: ['n1', 'n2b', 'n3b'], lost: false });
    // Before anybody is asked which swarm it is (the cluster ID unknown), m2's own node still counts.
    expect(quorumFromPeers(peers, rejoined, undefined)).toMatchObject({ alive: ['n1', 'n2b', 'n3b'] });
    const nodes = [
      mgr('n1', '10.0.0.1'),
      mgr('n2b', '10.0.0.2'),
      mgr('n3b', '10.0.0.3'),
      node('n2a', 'm2', {
        ...at('10.0.0.2', 'down'),
        Spec: { Role: 'manager' },
        ManagerStatus: { Reachability: 'unreachable' },
      }),
    ];
    expect(quorumFromNodes(nodes, rejoined, 'C', 'c')).toMatchObject({
      alive: ['n1', 'n2b', 'n3b'],
      dead: ['n2a'],
      lost: false,
    });
  });

  it('restarts raft from the leader, else the last known leader, else the first declared manager', () => {
    const two: QuorumMember[] = [
      { name: 'w1', role: 'worker', state: st({ nodeId: 'x' }), address: '' },
      { name: 'm1', role: 'manager', state: st({ nodeId: 'a' }), address: '' },
      { name: 'm2', role: 'manager', state: st({ nodeId: 'b' }), address: '' },
      { name: 'm3', role: 'manager', state: { state: 'inactive', isManager: false }, address: '' },
    ];
    expect(chooseSurvivor(two, 'C', { leaderNodeId: 'b', lastLeader: 'm1' })).toBe(2);
    expect(chooseSurvivor(two, 'C', { lastLeader: 'm2' })).toBe(2);
    expect(chooseSurvivor(two, 'C', { lastLeader: 'm3' })).toBe(1);
    expect(chooseSurvivor(two, 'C')).toBe(1);
    expect(chooseSurvivor(two, 'other')).toBe(-1);
  });
});
