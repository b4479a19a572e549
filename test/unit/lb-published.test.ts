import { describe, it, expect } from 'vitest';
import { parseNodes, parseServices, parseTasks, settling } from '../../src/lb/published.js';

describe('reading the swarm', () => {
  it('takes the live endpoint ports, falling back to the spec, defaulting to tcp/ingress', () => {
    const s = parseServices([
      {
        ID: 's1',
        Spec: { Name: 'web', EndpointSpec: { Ports: [{ TargetPort: 80 }] } },
        Endpoint: {
          Ports: [
            { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'ingress' },
            { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'host' },
            { Protocol: 'tcp', TargetPort: 81 },
          ],
        },
      },
      {
        ID: 's2',
        Spec: { Name: 'api', EndpointSpec: { Ports: [{ TargetPort: 8080, PublishedPort: 8080 }] } },
      },
      { ID: 's3', Spec: { Name: 'worker' } },
    ]);
    expect(s).toEqual([
      {
        id: 's1',
        name: 'web',
        ports: [
          { protocol: 'tcp', publishedPort: 30001, targetPort: 80, mode: 'ingress' },
          { protocol: 'udp', publishedPort: 53, targetPort: 53, mode: 'host' },
        ],
      },
      {
        id: 's2',
        name: 'api',
        ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 8080, mode: 'ingress' }],
      },
      { id: 's3', name: 'worker', ports: [] },
    ]);
  });

  it('addresses nodes by Status.Addr, else the manager address, else the fallback', () => {
    const { nodes, warnings } = parseNodes(
      [
        {
          ID: 'a',
          Description: { Hostname: 'm1' },
          Spec: { Role: 'manager', Availability: 'active' },
          Status: { State: 'ready', Addr: '0.0.0.0' },
          ManagerStatus: { Addr: '172.29.0.2:2377' },
        },
        {
          ID: 'b',
          Description: { Hostname: 'w1' },
          Spec: { Role: 'worker', Availability: 'drain' },
          Status: { State: 'ready', Addr: '172.29.0.3' },
        },
        { ID: 'c', Description: { Hostname: 'w2' }, Spec: { Role: 'worker' }, Status: { State: 'ready' } },
        { ID: 'd', Description: { Hostname: 'w3' }, Spec: { Role: 'worker' }, Status: { State: 'down' } },
      ],
      (h) => (h === 'w2' ? '172.29.0.4' : undefined),
    );
    expect(nodes).toEqual([
      { id: 'a', hostname: 'm1', role: 'manager', ready: true, active: true, address: '172.29.0.2' },
      { id: 'b', hostname: 'w1', role: 'worker', ready: true, active: false, address: '172.29.0.3' },
      { id: 'c', hostname: 'w2', role: 'worker', ready: true, active: true, address: '172.29.0.4' },
      { id: 'd', hostname: 'w3', role: 'worker', ready: false, active: true, address: '' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('keeps a ready node without any address out of traffic, with a warning', () => {
    const { nodes, warnings } = parseNodes([
      { ID: 'a', Description: { Hostname: 'm1' }, Status: { State: 'ready', Addr: '0.0.0.0' } },
    ]);
    expect(nodes[0].ready).toBe(false);
    expect(warnings).toEqual(['node m1 has no usable address; it gets no traffic']);
  });

  it('keeps only tasks that are running now', () => {
    expect(
      parseTasks([
        { ServiceID: 's', NodeID: 'n1', DesiredState: 'running', Status: { State: 'running' } },
        { ServiceID: 's', NodeID: 'n2', DesiredState: 'running', Status: { State: 'starting' } },
        { ServiceID: 's', NodeID: 'n3', DesiredState: 'shutdown', Status: { State: 'running' } },
        { ServiceID: 's', DesiredState: 'running', Status: { State: 'running' } },
      ]),
    ).toEqual([{ serviceId: 's', nodeId: 'n1' }]);
  });

  it('calls the swarm settling while a task it wants running is on its way there', () => {
    const t = (DesiredState: string, State: string) => ({
      ServiceID: 's',
      NodeID: 'n',
      DesiredState,
      Status: { State },
    });
    expect(settling([t('running', 'running'), t('running', 'preparing')])).toBe(true);
    expect(settling([t('running', 'pending')])).toBe(true);
    expect(settling([t('running', 'running'), t('shutdown', 'starting'), t('running', 'failed')])).toBe(
      false,
    );
    expect(settling([])).toBe(false);
  });
});
