/**
 * Which Docker Engine hosts a cluster's machines (src/engine/host.ts): the one they recorded, else the
 * environment's, never a machine of the store the environment was pointed at by `swarmup env`; and
 * dockerode clients that do not read the environment behind our back.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { DriverState } from '../../src/driver/contract.js';
import { dockerClient } from '../../src/engine/dockerode.js';
import {
  defaultSocket,
  envNamesStoreMachine,
  hostEngine,
  hostEngineClient,
  recordedEngine,
} from '../../src/engine/host.js';
import { UserError } from '../../src/errors.js';
import { teardownTarget } from '../../src/lb/target.js';
import { Store } from '../../src/store/store.js';

const STORE = '/home/u/.swarmup';
const LAB = 'unix:///run/swarmup-lab/docker.sock';
/** The environment after `eval "$(swarmup cluster env c)"`. */
const machineEnv = {
  DOCKER_HOST: 'tcp://127.0.0.1:32842',
  DOCKER_TLS_VERIFY: '1',
  DOCKER_CERT_PATH: `${STORE}/machines/c-manager-1`,
  DOCKER_MACHINE_NAME: 'c-manager-1',
};
const dockerState = (over: Partial<DriverState> = {}): DriverState => ({
  MachineName: 'c-manager-1',
  DockerHost: LAB,
  ContainerName: 'swarmup-c-manager-1',
  ...over,
});
/** What docker-modem kept of the options (its fields are not in the types). */
const modem = (c: Docker) => c.modem as unknown as { socketPath?: string; host?: string };
const defaultEngine = () => ({ DockerHost: `unix://${defaultSocket()}` });

describe('hostEngine: the engine of a cluster', () => {
  it('is the engine its machines recorded, whatever the environment names', () => {
    expect(hostEngine({ storeRoot: STORE, recorded: [dockerState()] }, machineEnv)).toEqual({
      DockerHost: LAB,
    });
    const remote = dockerState({
      DockerHost: 'tcp://10.0.0.9:2376',
      DockerTlsVerify: '1',
      DockerCertPath: '/home/u/.docker/ci',
    });
    expect(hostEngine({ storeRoot: STORE, recorded: [remote] }, {})).toEqual({
      DockerHost: 'tcp://10.0.0.9:2376',
      DockerTlsVerify: '1',
      DockerCertPath: '/home/u/.docker/ci',
    });
  });

  it('skips states without an engine (other drivers) and fields that are not strings', () => {
    const generic: DriverState = { MachineName: 'g-1', IPAddress: '203.0.113.10' };
    const odd = dockerState({ DockerHost: 'tcp://10.0.0.9:2376', DockerTlsVerify: 1, DockerCertPath: ['x'] });
    expect(recordedEngine([generic, odd])).toEqual({ DockerHost: 'tcp://10.0.0.9:2376' });
    expect(recordedEngine([generic, dockerState({ DockerHost: '' })])).toBeUndefined();
    expect(hostEngine({ storeRoot: STORE, recorded: [generic] }, { DOCKER_HOST: LAB })).toEqual({
      DockerHost: LAB,
    });
  });

  it('with nothing recorded, is the environment, unless that names a machine of the store', () => {
    const scope = { storeRoot: STORE, recorded: [] };
    expect(hostEngine(scope, machineEnv)).toEqual(defaultEngine());
    expect(hostEngine(scope, {})).toEqual(defaultEngine());
    expect(hostEngine(scope, { DOCKER_HOST: LAB })).toEqual({ DockerHost: LAB });
    const ci = { DOCKER_HOST: 'tcp://10.0.0.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/ci/certs' };
    expect(hostEngine(scope, ci)).toEqual({
      DockerHost: 'tcp://10.0.0.9:2376',
      DockerTlsVerify: '1',
      DockerCertPath: '/ci/certs',
    });
    // Another store's machine is an engine like any other; this store's is never taken.
    expect(hostEngine(scope, { ...machineEnv, DOCKER_CERT_PATH: '/other/store/machines/m' })).toEqual({
      DockerHost: 'tcp://127.0.0.1:32842',
      DockerTlsVerify: '1',
      DockerCertPath: '/other/store/machines/m',
    });
  });

  it('names a store machine only for a directory inside machines/', () => {
    const at = (p: string) => envNamesStoreMachine(STORE, { DOCKER_CERT_PATH: p });
    expect(at(`${STORE}/machines/c-manager-1`)).toBe(true);
    expect(at(`${STORE}/machines/c-manager-1/`)).toBe(true);
    expect(at(`${STORE}/machines`)).toBe(false);
    expect(at(`${STORE}/machines/../certs`)).toBe(false);
    expect(at(`${STORE}/machinesX/m`)).toBe(false);
    expect(at(`${STORE}/certs`)).toBe(false);
    expect(envNamesStoreMachine(STORE, {})).toBe(false);
  });

  it("cluster down's load-balancer target uses what the machines recorded before they went", async () => {
    const store = new Store(await mkdtemp(join(tmpdir(), 'swarmup-host-engine-')));
    const saved = { ...process.env };
    Object.assign(process.env, {
      ...machineEnv,
      DOCKER_CERT_PATH: join(store.root, 'machines', 'c-manager-1'),
    });
    try {
      expect(await (await teardownTarget(store, 'c', 'docker', [dockerState()])).hostEngine()).toEqual({
        DockerHost: LAB,
      });
      expect(await (await teardownTarget(store, 'c', 'docker')).hostEngine()).toEqual(defaultEngine());
    } finally {
      for (const k of Object.keys(machineEnv)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('dockerode clients', () => {
  it('are made from their options alone, with the environment naming a machine that is gone', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { ...machineEnv, DOCKER_CERT_PATH: '/nonexistent/machines/gone' });
    try {
      // docker-modem itself reads the certificates of DOCKER_CERT_PATH in every constructor.
      expect(() => new Docker({ socketPath: '/run/x.sock' })).toThrow(/ENOENT/);
      const c = dockerClient({ socketPath: '/run/x.sock' });
      expect(modem(c).socketPath).toBe('/run/x.sock');
      expect(modem(c).host).toBeUndefined();
      expect(process.env.DOCKER_CERT_PATH).toBe('/nonexistent/machines/gone');
      expect(process.env.DOCKER_HOST).toBe('tcp://127.0.0.1:32842');
      expect(modem(hostEngineClient({ DockerHost: LAB })).socketPath).toBe('/run/swarmup-lab/docker.sock');
    } finally {
      for (const k of Object.keys(machineEnv)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('an engine whose certificates are gone is one clear line', () => {
    const a = { DockerHost: 'tcp://127.0.0.1:1', DockerTlsVerify: '1', DockerCertPath: '/nonexistent/m' };
    expect(() => hostEngineClient(a)).toThrow(UserError);
    expect(() => hostEngineClient(a)).toThrow(
      'cannot use the Docker Engine at tcp://127.0.0.1:1: its certificates in /nonexistent/m cannot be read (ENOENT)',
    );
  });
});
