/**
 * How the fault tests reach a cloud emulator through swarmup: the flags and environment that point
 * the driver at it, and what it holds and was asked (instances by name, the batch creation calls with
 * their idempotency tokens, request and resource counts). The emulators start in each file's
 * beforeAll, so each takes a getter.
 */
import type { AliyunEmulator } from '../emulators/aliyun/index.js';
import type { GceEmulator } from '../emulators/gce/index.js';

export interface CloudAccess {
  name: 'google' | 'aliyunecs';
  flags: () => string[];
  env: () => NodeJS.ProcessEnv;
  /** Names of the instances the emulator holds, each once per instance. */
  instances: () => string[];
  /**
   * The batch creation calls (bulkInsert / RunInstances, not DryRun) since `n` requests: the token
   * each carried (requestId / ClientToken) and whether it was answered (a `silence` holds it).
   */
  batchCalls: (n: number) => Array<{ token: string | null; answered: boolean }>;
  requests: () => number;
  resources: () => number;
}

export const googleAccess = (gce: () => GceEmulator): CloudAccess => ({
  name: 'google',
  flags: () => ['--driver', 'google', '--google-endpoint', gce().endpoint, '--google-project', gce().project],
  env: () => ({}),
  instances: () => (gce().dump() as { instances: Array<{ name: string }> }).instances.map((i) => i.name),
  batchCalls: (n) =>
    gce()
      .requests()
      .slice(n)
      .filter((r) => r.path.endsWith('/instances/bulkInsert'))
      .map((r) => ({ token: new URLSearchParams(r.query ?? '').get('requestId'), answered: !r.unanswered })),
  requests: () => gce().requests().length,
  resources: () => gce().resourceCount(),
});

export const aliyunAccess = (ali: () => AliyunEmulator): CloudAccess => ({
  name: 'aliyunecs',
  flags: () => ['--driver', 'aliyunecs', '--aliyunecs-api-endpoint', ali().endpoint],
  env: () => ({
    ALIBABA_CLOUD_ACCESS_KEY_ID: ali().accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: ali().accessKeySecret,
  }),
  instances: () =>
    (ali().dump() as { instances: Array<{ HostName: string }> }).instances.map((i) => i.HostName),
  batchCalls: (n) =>
    ali()
      .requests()
      .slice(n)
      .filter((r) => r.path === 'RunInstances' && r.params.DryRun !== 'true')
      .map((r) => ({ token: r.params.ClientToken ?? null, answered: !r.unanswered })),
  requests: () => ali().requests().length,
  resources: () => ali().resourceCount(),
});
