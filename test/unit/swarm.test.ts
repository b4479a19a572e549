import { describe, it, expect } from 'vitest';
import {
  chooseBootstrapManager,
  managerAddrsOf,
  mergeLabels,
  toLocalSwarmState,
  toSwarmNode,
  withSwarmPort,
  type LocalSwarmState,
  type RawNode,
} from '../../src/swarm/model.js';
import {
  EngineApiError,
  engineMessage,
  isAlreadyInSwarm,
  isNoSuchNode,
  isNotInSwarm,
  isOutOfSequence,
  isTransient,
  redactTokens,
  wrapEngineError,
} from '../../src/swarm/errors.js';
import { clearEngineClients, engineClient } from '../../src/swarm/client.js';
import { bootstrapSwarm } from '../../src/swarm/bootstrap.js';
import type { SwarmMember } from '../../src/swarm/membership.js';

/** One entry of a real `GET /nodes` answer (Docker 20.10, trimmed). */
const manager: RawNode = {
  ID: '381xl9kx0sgeq5danhvya0st7',
  Version: { Index: 39 },
  Spec: { Labels: { 'swarmup.role': 'manager', zone: 'z2' }, Role: 'manager', Availability: 'active' },
  Description: { Hostname: 'm1', Engine: { EngineVersion: '20.10.24+dfsg1' } },
  Status: { State: 'ready', Addr: '172.29.0.4' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '172.29.0.4:2377' },
};

const node = (id: string, hostname: string, over: Partial<RawNode> = {}): RawNode => ({
  ID: id,
  Version: { Index: 10 },
  Spec: { Role: 'worker', Availability: 'active', Labels: {} },
  Description: { Hostname: hostname, Engine: { EngineVersion: '20.10.24' } },
  Status: { State: 'ready', Addr: `10.0.0.${id.length}` },
  ...over,
});

const TOKEN = 'SWMTKN-1-3vdncwn3pfdm4qnivbw8ylkvkbvxb2iz1ijdrxjt0f3c6aq5xq-1tgxkc9b13ga0ehvkxx4m6kpo';

describe('GET /nodes → SwarmNode', () => {
  it('maps every field', () => {
    expect(toSwarmNode(manager)).toEqual({
      id: '381xl9kx0sgeq5danhvya0st7',
      hostname: 'm1',
      role: 'manager',
      leader: true,
      availability: 'active',
      state: 'ready',
      engineVersion: '20.10.24+dfsg1',
      addr: '172.29.0.4',
      labels: { 'swarmup.role': 'manager', zone: 'z2' },
    });
  });

  it('copes with missing parts and a 0.0.0.0 manager address', () => {
    expect(toSwarmNode({ ID: 'x' })).toEqual({
      id: 'x',
      hostname: '',
      role: 'worker',
      leader: false,
      availability: '',
      state: 'unknown',
      engineVersion: '',
      addr: '',
      labels: {},
    });
    const n = toSwarmNode({ ...manager, Status: { State: 'ready', Addr: '0.0.0.0' } });
    expect(n.addr).toBe('172.29.0.4');
    expect(toSwarmNode({ ...manager, Spec: { ...manager.Spec, Labels: null } }).labels).toEqual({});
    const labels = toSwarmNode(manager).labels;
    labels.x = 'y';
    expect(manager.Spec?.Labels).not.toHaveProperty('x');
  });
});

describe('GET /info → swarm state', () => {
  it('reads an inactive, a manager and a worker daemon', () => {
    expect(toLocalSwarmState({ LocalNodeState: '', NodeID: '', ControlAvailable: false })).toEqual({
      state: 'inactive',
      isManager: false,
    });
    expect(toLocalSwarmState(undefined)).toEqual({ state: 'inactive', isManager: false });
    expect(
      toLocalSwarmState({
        NodeID: 'n1',
        LocalNodeState: 'active',
        ControlAvailable: true,
        Error: '',
        RemoteManagers: [{ NodeID: 'n1', Addr: '172.29.0.2:2377' }],
        Cluster: { ID: 'c1' },
      }),
    ).toEqual({
      state: 'active',
      nodeId: 'n1',
      clusterId: 'c1',
      isManager: true,
      remoteManagers: ['172.29.0.2:2377'],
      raftPeers: [{ nodeId: 'n1', addr: '172.29.0.2:2377' }],
    });
    expect(toLocalSwarmState({ LocalNodeState: 'active' }, 'ubuntu').hostname).toBe('ubuntu');
    expect(
      toLocalSwarmState({ NodeID: 'n2', LocalNodeState: 'active', ControlAvailable: false, Cluster: null }),
    ).toEqual({ state: 'active', nodeId: 'n2', isManager: false });
    expect(toLocalSwarmState({ LocalNodeState: 'error', Error: 'boom' })).toMatchObject({
      state: 'error',
      error: 'boom',
    });
  });
});

describe('addresses and node references', () => {
  it('adds the swarm port when missing', () => {
    expect(withSwarmPort('10.0.0.1')).toBe('10.0.0.1:2377');
    expect(withSwarmPort('10.0.0.1:4000')).toBe('10.0.0.1:4000');
    expect(withSwarmPort('fd00::1')).toBe('[fd00::1]:2377');
    expect(withSwarmPort('[fd00::1]:2377')).toBe('[fd00::1]:2377');
  });

  it('lists manager addresses leader first, without duplicates', () => {
    const nodes = [
      node('w1', 'w1'),
      node('m2', 'm2', { ManagerStatus: { Reachability: 'unreachable', Addr: '10.0.0.2:2377' } }),
      node('m3', 'm3', { ManagerStatus: { Reachability: 'reachable', Addr: '10.0.0.3:2377' } }),
      manager,
      node('old', 'm1', { ManagerStatus: { Reachability: 'reachable', Addr: '172.29.0.4:2377' } }),
    ];
    expect(managerAddrsOf(nodes)).toEqual(['172.29.0.4:2377', '10.0.0.3:2377', '10.0.0.2:2377']);
  });

  it('merges labels, and says when nothing needs to change', () => {
    expect(mergeLabels({ a: '1', b: '2' }, { b: '2' })).toBeUndefined();
    expect(mergeLabels(null, {})).toBeUndefined();
    expect(mergeLabels({ a: '1', b: '2' }, { b: '3', c: '4' })).toEqual({ a: '1', b: '3', c: '4' });
  });
});

describe('choosing the bootstrap manager', () => {
  const members = [
    { name: 'w1', role: 'worker' as const },
    { name: 'm1', role: 'manager' as const },
    { name: 'm2', role: 'manager' as const },
  ];
  const inactive: LocalSwarmState = { state: 'inactive', isManager: false };
  const mgr = (clusterId = 'c1'): LocalSwarmState => ({
    state: 'active',
    isManager: true,
    nodeId: 'n',
    clusterId,
  });
  const worker: LocalSwarmState = { state: 'active', isManager: false, nodeId: 'w' };

  it('initializes on the first declared manager of fresh machines', () => {
    expect(chooseBootstrapManager(members, [inactive, inactive, inactive])).toEqual({
      index: 1,
      init: true,
      orphans: [],
    });
  });

  it('reuses a running manager, a declared one first', () => {
    expect(chooseBootstrapManager(members, [inactive, inactive, mgr()])).toEqual({
      index: 2,
      init: false,
      orphans: [],
    });
    expect(chooseBootstrapManager(members, [mgr(), inactive, mgr()])).toEqual({
      index: 2,
      init: false,
      orphans: [],
    });
    expect(chooseBootstrapManager(members, [mgr(), inactive, inactive])).toEqual({
      index: 0,
      init: false,
      orphans: [],
    });
    expect(chooseBootstrapManager(members, [worker, mgr(), worker])).toEqual({
      index: 1,
      init: false,
      orphans: [],
    });
  });

  it('reclaims orphan workers only when asked (a cluster whose managers were all made again)', () => {
    expect(chooseBootstrapManager(members, [worker, inactive, inactive], { reclaimOrphans: true })).toEqual({
      index: 1,
      init: true,
      orphans: [0],
    });
    // With a manager still there, nothing is an orphan: workers of another swarm are joinSwarm's refusal.
    expect(chooseBootstrapManager(members, [worker, mgr(), worker], { reclaimOrphans: true })).toEqual({
      index: 1,
      init: false,
      orphans: [],
    });
  });

  it('refuses machines of different swarms, orphan workers and broken daemons', () => {
    expect(() => chooseBootstrapManager(members, [inactive, mgr('c1'), mgr('c2')])).toThrow(
      'the machines are managers of different swarms: m1 (cluster c1), m2 (cluster c2)',
    );
    expect(() => chooseBootstrapManager(members, [worker, inactive, inactive])).toThrow(
      /^w1 is a worker of a swarm that none of these machines manages/,
    );
    expect(() =>
      chooseBootstrapManager(members, [inactive, { state: 'locked', isManager: true }, inactive]),
    ).toThrow(/m1: the swarm is locked/);
    expect(() =>
      chooseBootstrapManager(members, [inactive, inactive, { state: 'error', isManager: false, error: 'x' }]),
    ).toThrow('m2: the swarm state is "error": x');
    expect(() =>
      chooseBootstrapManager(members, [{ state: 'pending', isManager: false }, inactive, inactive]),
    ).toThrow(/w1: still joining/);
    expect(() => chooseBootstrapManager([{ name: 'w', role: 'worker' }], [inactive])).toThrow(
      'a swarm needs at least one manager',
    );
  });
});

describe('errors never carry join tokens', () => {
  it('redacts any token and the given secrets', () => {
    expect(redactTokens(`join with ${TOKEN} failed`)).toBe('join with SWMTKN-<redacted> failed');
    expect(redactTokens('secret s3cr3t here', ['s3cr3t', ''])).toBe('secret <redacted> here');
  });

  it('keeps only the daemon message of a dockerode error', () => {
    const err = Object.assign(
      new Error('(HTTP code 503) unexpected - rpc error: code = Unavailable desc = x '),
      {
        statusCode: 503,
        json: { message: 'rpc error: code = Unavailable desc = x' },
      },
    );
    expect(engineMessage(err)).toBe('rpc error: code = Unavailable desc = x');
    expect(engineMessage(new Error('(HTTP code 500) server error - boom '))).toBe('boom');
    expect(engineMessage(new Error('connect ECONNREFUSED 10.0.0.1:2376'))).toBe(
      'connect ECONNREFUSED 10.0.0.1:2376',
    );
    expect(
      engineMessage(Object.assign(new Error('(HTTP code 502) bad - gw'), { json: Buffer.from('x') })),
    ).toBe('gw');
  });

  it('wraps an error into one redacted line without the original', () => {
    const original = Object.assign(
      new Error(`(HTTP code 400) bad parameter - invalid token ${TOKEN}\nmore`),
      {
        statusCode: 400,
        json: { message: `invalid token ${TOKEN}\nmore` },
        request: { body: { JoinToken: TOKEN } },
      },
    );
    const e = wrapEngineError(original, { host: '10.0.0.1', port: 2376 }, 'joining w1 to the swarm', [TOKEN]);
    expect(e).toBeInstanceOf(EngineApiError);
    expect(e.message).toBe('joining w1 to the swarm on 10.0.0.1:2376 failed: invalid token <redacted> more');
    expect(e.statusCode).toBe(400);
    expect(e.cause).toBeUndefined();
    expect(JSON.stringify(e)).not.toContain('SWMTKN-1');
    expect(Object.values(e).join(' ')).not.toContain('SWMTKN-1');
    // An error already wrapped is re-redacted with the new secrets.
    const inner = new EngineApiError('x s3cr3t', 500, 'x');
    expect(wrapEngineError(inner, { host: 'h', port: 1 }, 'y', ['s3cr3t']).message).toBe('x <redacted>');
    expect(wrapEngineError(inner, { host: 'h', port: 1 }, 'y')).toBe(inner);
  });

  it('tells transient errors from final ones', () => {
    const api = (detail: string, status = 500) => new EngineApiError(`x: ${detail}`, status, detail);
    expect(isTransient(api('rpc error: code = Unavailable desc = connection error'))).toBe(true);
    expect(isTransient(api('rpc error: code = DeadlineExceeded desc = context deadline exceeded'))).toBe(
      true,
    );
    expect(
      isTransient(api("The swarm does not have a leader. It's possible that too few managers are online.")),
    ).toBe(true);
    expect(
      isTransient(api('Timeout was reached before node joined. The attempt to join the swarm will continue')),
    ).toBe(true);
    expect(isTransient(api('rpc error: code = Unknown desc = update out of sequence'))).toBe(true);
    expect(isTransient(new Error('connect ECONNREFUSED 10.0.0.1:2376'))).toBe(true);
    expect(isTransient(api('bad gateway', 502))).toBe(true);
    expect(isTransient(api('invalid join token', 400))).toBe(false);
    expect(isTransient(api('remote CA does not match fingerprint'))).toBe(false);
    expect(isTransient(api('This node is already part of a swarm.', 503))).toBe(false);
    expect(isOutOfSequence(api('rpc error: code = Unknown desc = update out of sequence'))).toBe(true);
    expect(isAlreadyInSwarm(api('This node is already part of a swarm. Use "docker swarm leave"', 503))).toBe(
      true,
    );
    expect(isNotInSwarm(api('This node is not part of a swarm', 503))).toBe(true);
    expect(isNoSuchNode(api('node abc not found', 404))).toBe(true);
    expect(isNoSuchNode(api('node abc not found', 500))).toBe(true);
    expect(isNoSuchNode(api('boom', 500))).toBe(false);
  });
});

describe('engine clients', () => {
  const ep = { host: '10.0.0.1', port: 2376, ca: 'CA', cert: 'CERT', key: 'KEY' };

  it('keeps one client per host:port, renewed when the certificates change', () => {
    clearEngineClients();
    const a = engineClient(ep);
    expect(engineClient({ ...ep })).toBe(a);
    expect(engineClient({ ...ep, port: 2377 })).not.toBe(a);
    const renewed = engineClient({ ...ep, cert: 'CERT2' });
    expect(renewed).not.toBe(a);
    expect(engineClient({ ...ep, cert: 'CERT2' })).toBe(renewed);
    const modem = (
      a as unknown as { modem: { host: string; port: number; protocol: string; timeout: number } }
    ).modem;
    expect(modem).toMatchObject({ host: '10.0.0.1', port: 2376, protocol: 'https' });
    expect(modem.timeout).toBeGreaterThan(20_000);
  });
});

describe('bootstrapSwarm input', () => {
  const ep = { host: '127.0.0.1', port: 1, ca: '', cert: '', key: '' };
  const m = (name: string, role: 'manager' | 'worker', advertiseAddr = '10.0.0.1'): SwarmMember => ({
    name,
    role,
    endpoint: ep,
    advertiseAddr,
  });
  const log = () => {};

  it('refuses bad member lists before touching any machine', async () => {
    await expect(bootstrapSwarm([], { log })).rejects.toThrow('no machines to build a swarm from');
    await expect(bootstrapSwarm([m('a', 'manager'), m('a', 'worker')], { log })).rejects.toThrow(
      'machine "a" is listed twice',
    );
    await expect(bootstrapSwarm([m('a', 'manager', '')], { log })).rejects.toThrow(
      'machine "a" has no address to advertise',
    );
    await expect(bootstrapSwarm([m('a', 'worker')], { log })).rejects.toThrow(
      'a swarm needs at least one manager',
    );
  });
});
