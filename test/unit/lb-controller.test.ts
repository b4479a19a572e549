/**
 * The in-cluster controller's parts that need no cluster: the service spec (one replica on a
 * manager, the socket, secrets by reference, no credential in it), the config (credential flags
 * left out, read back into a target), the backoff, the local load balancer's refusal, and the lease
 * (a compare-and-swap on a config's version): one holder at a time, taken over on expiry or release.
 */
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { UserError } from '../../src/errors.js';
import { configOf, controllerTarget, parseConfig, CONFIG_ENV } from '../../src/lb/controller/config.js';
import { refuseLocal } from '../../src/lb/controller/install.js';
import { LEASE, Lease, leaseFree, leaseOf } from '../../src/lb/controller/lease.js';
import { backoffMs } from '../../src/lb/controller/runtime.js';
import { CONTROLLER, controllerSpec, specDigest } from '../../src/lb/controller/spec.js';
import type { LbTarget } from '../../src/lb/target.js';

const target = (over: Partial<LbTarget> = {}): LbTarget => ({
  kind: 'cluster',
  name: 'prod',
  driver: 'aliyunecs',
  flags: {
    'aliyunecs-access-key-id': 'LTAIKEYID0000000',
    'aliyunecs-access-key-secret': 'very-secret-value-000',
    'aliyunecs-region': 'cn-shanghai',
    'aliyunecs-api-endpoint': 'http://172.29.0.1:8789',
  },
  labels: { env: 'ci' },
  storeId: async () => 'store-1',
  manager: () => Promise.reject(new Error('no manager here')),
  machines: async () => [],
  hostEngine: () => Promise.reject(new Error('no local engine here')),
  ...over,
});

describe('controller config and spec', () => {
  it('the config keeps the target without its credentials, and reads back into a target', async () => {
    const c = await configOf(
      target(),
      { kind: 'access-key', idFile: '/run/secrets/a', secretFile: '/run/secrets/b' },
      30,
    );
    const text = JSON.stringify(c);
    expect(text).not.toContain('very-secret-value-000');
    expect(text).not.toContain('LTAIKEYID0000000');
    expect(c.flags['aliyunecs-region']).toBe('cn-shanghai');
    expect(c.storeId).toBe('store-1');
    const t = controllerTarget(parseConfig(text), { socketPath: '/var/run/docker.sock' }, 'prod-manager-1', {
      'aliyunecs-access-key-id': 'from-secret',
    });
    expect(t.flags['aliyunecs-access-key-id']).toBe('from-secret');
    expect(t.flags['aliyunecs-api-endpoint']).toBe('http://172.29.0.1:8789');
    expect(await t.manager()).toEqual({
      name: 'prod-manager-1',
      endpoint: { socketPath: '/var/run/docker.sock' },
    });
    expect(await t.storeId()).toBe('store-1');
  });

  it('a missing or foreign config is one clear line', () => {
    expect(() => parseConfig(undefined)).toThrow(new RegExp(`${CONFIG_ENV} is not set`));
    expect(() => parseConfig('{')).toThrow(/is not JSON/);
    expect(() => parseConfig('{"version":2}')).toThrow(/not a controller config of this swarmup version/);
  });

  it('the spec: one replica on a manager, the socket, host network, stop-first, secrets by reference only', async () => {
    const config = await configOf(
      target(),
      { kind: 'access-key', idFile: '/run/secrets/a', secretFile: '/run/secrets/b' },
      30,
    );
    const spec = controllerSpec(
      {
        image: 'swarmup/lb-controller:1',
        imageId: 'sha256:abc',
        config,
        secrets: [
          { id: 'sec1', name: 'swarmup-lb-controller-aliyun-access-key-id-1', file: 'aliyun-access-key-id' },
        ],
        env: { SWARMUP_LB_HEALTH_IMAGE: 'busybox:1.36' },
        owner: { 'swarmup.cluster': 'prod' },
      },
      'hostnet-id',
    );
    expect(spec.Name).toBe(CONTROLLER.service);
    expect(spec.Mode.Replicated.Replicas).toBe(1);
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(['node.role==manager']);
    expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' },
    ]);
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'hostnet-id' }]);
    expect(spec.UpdateConfig.Order).toBe('stop-first');
    expect(spec.TaskTemplate.ContainerSpec.Secrets[0]).toMatchObject({
      SecretID: 'sec1',
      File: { Name: 'aliyun-access-key-id', UID: '10001', Mode: 0o400 },
    });
    expect(spec.TaskTemplate.ContainerSpec.Env).toContain('SWARMUP_LB_HEALTH_IMAGE=busybox:1.36');
    expect(spec.Labels['swarmup.cluster']).toBe('prod');
    expect(JSON.stringify(spec)).not.toContain('very-secret-value-000');
    // The digest names the spec: same input, same digest; another image, another.
    expect(spec.Labels[CONTROLLER.digestLabel]).toBe(specDigest(spec));
    const other = controllerSpec(
      {
        image: 'swarmup/lb-controller:2',
        config,
        secrets: [],
        env: {},
        owner: { 'swarmup.cluster': 'prod' },
      },
      'hostnet-id',
    );
    expect(other.Labels[CONTROLLER.digestLabel]).not.toBe(spec.Labels[CONTROLLER.digestLabel]);
  });

  it('the local load balancer cannot be kept from inside the cluster: one line says why and what to run', () => {
    for (const driver of ['docker', 'generic', 'virtualbox']) {
      expect(() => refuseLocal(target({ driver }))).toThrow(UserError);
      expect(() => refuseLocal(target({ driver }))).toThrow(
        /haproxy container on this host .* which the cluster cannot reach: keep it with "swarmup lb sync --cluster prod --watch" here/,
      );
    }
    expect(() => refuseLocal(target({ driver: 'google' }))).not.toThrow();
  });

  it('backoff after failures: 1, 2, 4 ... seconds, capped, within ±20 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, 60_000, mid))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(backoffMs(12, 30_000, mid)).toBe(30_000);
    expect(backoffMs(3, 60_000, () => 0)).toBe(3200);
    expect(backoffMs(3, 60_000, () => 1)).toBe(4800);
  });
});

/** Docker's config objects as far as the lease uses them: inspect, and update by version (CAS). */
function configStore() {
  const cfg = {
    ID: 'cfg1',
    Version: { Index: 1 },
    Spec: { Name: LEASE.config, Labels: { [LEASE.owner]: '1' } as Record<string, string>, Data: 'ZGF0YQ==' },
  };
  const docker = {
    getConfig: () => ({
      inspect: async () => structuredClone(cfg),
      update: async (o: { _query: { version: number }; _body: { Labels: Record<string, string> } }) => {
        if (o._query.version !== cfg.Version.Index)
          throw new Error('(HTTP code 500) server error - update out of sequence');
        cfg.Spec.Labels = { ...o._body.Labels };
        cfg.Version.Index++;
      },
    }),
  };
  return { docker: docker as unknown as Docker, cfg };
}

describe('the lease', () => {
  it('one holder at a time; the other waits until it is released, then takes it at once', async () => {
    const { docker, cfg } = configStore();
    const a = new Lease(docker, 'task-a');
    const b = new Lease(docker, 'task-b');
    expect((await a.acquire({ node: 'n1' })).held).toBe(true);
    expect(a.validFor()).toBeGreaterThan(LEASE.ttlMs - LEASE.marginMs - 1000);
    const seen = await b.acquire({ node: 'n2' });
    expect(seen.held).toBe(false);
    expect(seen.seen?.holder).toBe('task-a');
    expect(b.holding).toBe(false);
    // Renewal keeps it; the status travels with it.
    expect((await a.acquire({ node: 'n1', lastSync: '2026-01-01T00:00:00.000Z', ok: true })).held).toBe(true);
    expect(leaseOf(cfg).status).toMatchObject({ holder: 'task-a', node: 'n1', ok: true });
    await a.release({ node: 'n1', ok: true });
    expect(a.holding).toBe(false);
    expect(leaseOf(cfg).holder).toBe('');
    expect((await b.acquire({ node: 'n2' })).held).toBe(true);
  });

  it('an expired lease is free for another; a lost race takes nothing', async () => {
    const now = Date.now();
    expect(leaseFree({ id: 'x', version: 1, holder: 'a', expiresAt: now - 1 }, 'b', now)).toBe(true);
    expect(leaseFree({ id: 'x', version: 1, holder: 'a', expiresAt: now + 10_000 }, 'b', now)).toBe(false);
    expect(leaseFree({ id: 'x', version: 1, holder: 'a', expiresAt: now + 10_000 }, 'a', now)).toBe(true);
    const { docker } = configStore();
    const contenders = ['t1', 't2', 't3', 't4'].map((n) => new Lease(docker, n));
    const results = await Promise.all(contenders.map((l) => l.acquire()));
    expect(results.filter((r) => r.held)).toHaveLength(1);
    expect(contenders.filter((l) => l.holding)).toHaveLength(1);
  });

  it('a holder whose lease ran out (it could not renew) stops counting as holder by its own clock', async () => {
    const { docker } = configStore();
    // Its margin as long as its life: held in the store, but never by its own clock.
    const short = new Lease(docker, 'task-a', { ttlMs: 50, marginMs: 50 });
    expect((await short.acquire()).held).toBe(true);
    expect(short.holding).toBe(false);
  });
});
