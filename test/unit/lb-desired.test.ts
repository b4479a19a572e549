import { describe, it, expect } from 'vitest';
import { desiredListeners, sameListener } from '../../src/lb/desired.js';
import type { RunningTask, SwarmNodeInfo, SwarmService } from '../../src/lb/model.js';
import { UserError } from '../../src/errors.js';

const node = (id: string, over: Partial<SwarmNodeInfo> = {}): SwarmNodeInfo => ({
  id,
  hostname: `host-${id}`,
  role: 'worker',
  ready: true,
  active: true,
  address: `10.0.0.${id}`,
  ...over,
});

const nodes = [node('1', { role: 'manager' }), node('2'), node('3')];

const svc = (id: string, name: string, ports: SwarmService['ports']): SwarmService => ({ id, name, ports });

describe('desiredListeners', () => {
  it('sends an ingress port to every ready and active node', () => {
    const ls = desiredListeners(
      [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80, mode: 'ingress' }])],
      nodes,
      [],
    );
    expect(ls).toEqual([
      {
        protocol: 'tcp',
        port: 8080,
        backendPort: 8080,
        mode: 'ingress',
        services: ['web'],
        backends: [
          { node: 'host-1', address: '10.0.0.1' },
          { node: 'host-2', address: '10.0.0.2' },
          { node: 'host-3', address: '10.0.0.3' },
        ],
      },
    ]);
  });

  it('leaves drained, paused and down nodes out of ingress backends', () => {
    const ls = desiredListeners(
      [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80, mode: 'ingress' }])],
      [node('1'), node('2', { active: false }), node('3', { ready: false }), node('4')],
      [],
    );
    expect(ls[0].backends.map((b) => b.node)).toEqual(['host-1', 'host-4']);
  });

  it('sends a host-mode port only to ready nodes running a task of that service', () => {
    const tasks: RunningTask[] = [
      { serviceId: 's1', nodeId: '2' },
      { serviceId: 's1', nodeId: '3' },
      { serviceId: 's2', nodeId: '1' },
    ];
    const ls = desiredListeners(
      [
        svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 8081, targetPort: 80, mode: 'host' }]),
        svc('s2', 'other', []),
      ],
      [node('1'), node('2'), node('3', { ready: false })],
      tasks,
    );
    expect(ls).toHaveLength(1);
    expect(ls[0].mode).toBe('host');
    expect(ls[0].backends).toEqual([{ node: 'host-2', address: '10.0.0.2' }]);
  });

  it('keeps a host-mode node that is drained but still runs the task', () => {
    const ls = desiredListeners(
      [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 8081, targetPort: 80, mode: 'host' }])],
      [node('1', { active: false })],
      [{ serviceId: 's1', nodeId: '1' }],
    );
    expect(ls[0].backends.map((b) => b.node)).toEqual(['host-1']);
  });

  it('keeps a listener with no backends (nothing runs yet)', () => {
    const ls = desiredListeners(
      [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 8081, targetPort: 80, mode: 'host' }])],
      nodes,
      [],
    );
    expect(ls[0].backends).toEqual([]);
  });

  it('sorts by port, then protocol, and keeps UDP (backends decide what they support)', () => {
    const ls = desiredListeners(
      [
        svc('s1', 'web', [
          { protocol: 'tcp', publishedPort: 9000, targetPort: 80, mode: 'ingress' },
          { protocol: 'udp', publishedPort: 53, targetPort: 53, mode: 'ingress' },
        ]),
        svc('s2', 'dns', [{ protocol: 'tcp', publishedPort: 53, targetPort: 53, mode: 'ingress' }]),
      ],
      nodes,
      [],
    );
    expect(ls.map((l) => `${l.protocol}/${l.port}`)).toEqual(['tcp/53', 'udp/53', 'tcp/9000']);
  });

  it('refuses a port claimed by two services, naming both', () => {
    const run = () =>
      desiredListeners(
        [
          svc('s2', 'web', [{ protocol: 'tcp', publishedPort: 8081, targetPort: 80, mode: 'host' }]),
          svc('s1', 'api', [{ protocol: 'tcp', publishedPort: 8081, targetPort: 8080, mode: 'host' }]),
        ],
        nodes,
        [],
      );
    expect(run).toThrow(UserError);
    expect(run).toThrow('published port tcp/8081 is claimed by two services: "api" and "web"');
  });

  it('allows the same port number for tcp and udp of different services', () => {
    const ls = desiredListeners(
      [
        svc('s1', 'a', [{ protocol: 'tcp', publishedPort: 53, targetPort: 53, mode: 'ingress' }]),
        svc('s2', 'b', [{ protocol: 'udp', publishedPort: 53, targetPort: 53, mode: 'ingress' }]),
      ],
      nodes,
      [],
    );
    expect(ls.map((l) => l.services[0])).toEqual(['a', 'b']);
  });

  it('ignores host-mode ports without a published port', () => {
    expect(
      desiredListeners(
        [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 0, targetPort: 80, mode: 'host' }])],
        nodes,
        [],
      ),
    ).toEqual([]);
  });

  it('names backends uniquely when two nodes share a hostname', () => {
    const ls = desiredListeners(
      [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 80, targetPort: 80, mode: 'ingress' }])],
      [node('aaaaaaaaaaaaaaaa1', { hostname: 'n' }), node('bbbbbbbbbbbbbbbb2', { hostname: 'n' })],
      [],
    );
    expect(ls[0].backends.map((b) => b.node)).toEqual(['n-aaaaaaaaaaaa', 'n-bbbbbbbbbbbb']);
  });
});

describe('sameListener', () => {
  const base = desiredListeners(
    [svc('s1', 'web', [{ protocol: 'tcp', publishedPort: 80, targetPort: 80, mode: 'ingress' }])],
    nodes,
    [],
  )[0];
  it('ignores backend order and notices a changed address', () => {
    expect(sameListener(base, { ...base, backends: [...base.backends].reverse() })).toBe(true);
    const moved = {
      ...base,
      backends: [{ ...base.backends[0], address: '10.9.9.9' }, ...base.backends.slice(1)],
    };
    expect(sameListener(base, moved)).toBe(false);
    expect(sameListener(base, { ...base, mode: 'host' })).toBe(false);
  });
});
