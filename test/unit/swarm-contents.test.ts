/**
 * What a swarm rebuild carries over (src/swarm/contents.ts): the networks, configs and services a
 * manager's store holds, made again in a new swarm by name, with the references between them (network
 * and config IDs) translated; a swarm holding secrets is refused before anything changes. The Engine
 * API is a scripted one that keeps what it is given.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEndpoint } from '../../src/engine/api.js';
import { UserError } from '../../src/errors.js';

/** The scripted engine: GET answers from `state`, creates append to it with fresh IDs. */
const state = {
  secrets: [] as object[],
  networks: [] as Array<Record<string, unknown>>,
  configs: [] as Array<{ ID: string; Spec: Record<string, unknown> }>,
  services: [] as Array<{ ID: string; Spec: Record<string, unknown> }>,
  nodes: [] as object[],
  created: [] as string[],
};
let nextId = 0;
const id = (p: string) => `${p}${++nextId}`;

vi.mock('../../src/swarm/calls.js', async (orig) => ({
  ...(await orig<typeof import('../../src/swarm/calls.js')>()),
  engineGetJson: async (_ep: EngineEndpoint, path: string) => {
    const key = path.replace(/^\//, '').replace(/\?.*$/, '') as keyof typeof state;
    return JSON.parse(JSON.stringify(state[key])) as unknown;
  },
  call: async (_ep: EngineEndpoint, action: string, fn: (d: unknown) => Promise<unknown>) => {
    state.created.push(action);
    return fn({
      createNetwork: async (b: { Name: string }) => {
        const n = { ...b, Id: id('net'), Scope: 'swarm' };
        state.networks.push(n);
        return { id: n.Id };
      },
      createConfig: async (spec: { Name: string }) => {
        const c = { ID: id('cfg'), Spec: spec };
        state.configs.push(c);
        return { id: c.ID };
      },
      createService: async (spec: { Name: string }) => {
        state.services.push({ ID: id('svc'), Spec: spec });
        return {};
      },
    });
  },
}));

const { networkCreateBody, readContents, restoreContents, serviceSpecFor } =
  await import('../../src/swarm/contents.js');
const ep: EngineEndpoint = { host: 'm1', port: 2376, ca: '', cert: '', key: '' };

const oldSwarm = () => {
  state.networks = [
    { Id: 'ingress0', Name: 'ingress', Scope: 'swarm', Ingress: true, Driver: 'overlay' },
    {
      Id: 'oldnet',
      Name: 'appnet',
      Scope: 'swarm',
      Driver: 'overlay',
      Attachable: true,
      Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097', encrypted: '' },
      Labels: { team: 'a' },
    },
  ];
  state.configs = [{ ID: 'oldcfg', Spec: { Name: 'appcfg', Data: 'aGVsbG8K' } }];
  state.services = [
    {
      ID: 'oldsvc',
      Spec: {
        Name: 'web',
        TaskTemplate: {
          ContainerSpec: { Image: 'httpd', Configs: [{ ConfigID: 'oldcfg', ConfigName: 'appcfg' }] },
          Networks: [{ Target: 'oldnet', Aliases: ['www'] }],
        },
      },
    },
  ];
  state.nodes = [
    { Description: { Hostname: 'w1' }, Spec: { Labels: { tier: 'front', 'swarmup.machine': 'w1' } } },
    { Description: { Hostname: 'm1' }, Spec: { Labels: { 'swarmup.role': 'manager' } } },
  ];
};

beforeEach(() => {
  Object.assign(state, { secrets: [], networks: [], configs: [], services: [], nodes: [], created: [] });
  nextId = 0;
});

describe('reading what a swarm holds', () => {
  it('networks (not ingress), configs, services and node labels (not swarmup’s own)', async () => {
    oldSwarm();
    const c = await readContents(ep, 'm1');
    expect(c.from).toBe('m1');
    expect(c.networks.map((n) => n.Name)).toEqual(['appnet']);
    expect(c.configs.map((x) => x.Spec.Name)).toEqual(['appcfg']);
    expect(c.services.map((s) => s.Spec.Name)).toEqual(['web']);
    expect(c.nodeLabels).toEqual({ w1: { tier: 'front' } });
  });

  it('a swarm with secrets is refused in one line that names them', async () => {
    oldSwarm();
    state.secrets = [{ Spec: { Name: 'db-password' } }];
    const err = await readContents(ep, 'm1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/1 secret\(s\) \(db-password\) whose data cannot be read back/);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('making it again in a new swarm', () => {
  it('a network keeps its options but not the VXLAN IDs the old swarm allocated', () => {
    const body = networkCreateBody({
      Id: 'x',
      Name: 'appnet',
      Scope: 'swarm',
      Attachable: true,
      Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097', encrypted: '' },
    });
    expect(body).toMatchObject({
      Name: 'appnet',
      Driver: 'overlay',
      Attachable: true,
      Options: { encrypted: '' },
    });
  });

  it('a service’s network and config references become the new swarm’s IDs', () => {
    const spec = serviceSpecFor(
      {
        Name: 'web',
        TaskTemplate: {
          ContainerSpec: { Configs: [{ ConfigID: 'oldcfg', ConfigName: 'appcfg' }] },
          Networks: [{ Target: 'oldnet', Aliases: ['www'] }],
        },
      },
      new Map([['oldnet', 'appnet']]),
      new Map([['appnet', 'newnet']]),
      new Map([['appcfg', 'newcfg']]),
    );
    expect(spec.TaskTemplate?.Networks).toEqual([{ Target: 'newnet', Aliases: ['www'] }]);
    expect(spec.TaskTemplate?.ContainerSpec?.Configs).toEqual([{ ConfigID: 'newcfg', ConfigName: 'appcfg' }]);
  });

  it('a swarm network or config the new swarm lacks is one clear error; `host` is kept as it is', () => {
    const old = new Map([['oldnet', 'appnet']]);
    expect(() =>
      serviceSpecFor(
        { Name: 'web', TaskTemplate: { Networks: [{ Target: 'oldnet' }] } },
        old,
        new Map(),
        new Map(),
      ),
    ).toThrow(/service web uses network appnet, which the swarm did not hold/);
    expect(() =>
      serviceSpecFor(
        {
          Name: 'web',
          TaskTemplate: { ContainerSpec: { Configs: [{ ConfigID: 'c', ConfigName: 'gone' }] } },
        },
        old,
        new Map(),
        new Map(),
      ),
    ).toThrow(/service web uses config gone, which the swarm did not hold/);
    const hostNet = serviceSpecFor(
      { Name: 'edge', TaskTemplate: { Networks: [{ Target: 'hostnetid' }] } },
      old,
      new Map([['appnet', 'newnet']]),
      new Map(),
    );
    expect(hostNet.TaskTemplate?.Networks).toEqual([{ Target: 'hostnetid' }]);
  });

  it('everything is made once, in order, and a second restore makes nothing', async () => {
    oldSwarm();
    const c = await readContents(ep, 'm1');
    // The new swarm: only its own ingress network.
    Object.assign(state, { networks: [state.networks[0]], configs: [], services: [], created: [] });
    expect(await restoreContents(ep, c)).toEqual({ networks: 1, configs: 1, services: 1 });
    expect(state.created).toEqual([
      'creating network appnet',
      'creating config appcfg',
      'creating service web',
    ]);
    const web = state.services[0].Spec as { TaskTemplate: { Networks: { Target: string }[] } };
    expect(web.TaskTemplate.Networks[0].Target).toBe(state.networks[1].Id);
    expect(web.TaskTemplate.Networks[0].Target).not.toBe('oldnet');
    expect(await restoreContents(ep, c)).toEqual({ networks: 0, configs: 0, services: 0 });
    expect(state.created).toHaveLength(3);
  });
});
