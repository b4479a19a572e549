import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AliyunClient,
  AliyunError,
  aliyunClient,
  isRetryableCode,
  popTransports,
  redact,
  type RetryPolicy,
  type RpcTransport,
} from '../../src/cloud/aliyun/client.js';
import { hasStatus, isGone, started, waitInstance } from '../../drivers/aliyunecs/poller.js';

const creds = { accessKeyId: 'LTAI5tTestKeyId0123456789', accessKeySecret: 'TopSecretValue0123456789abcd' };

/** The error a call fails with (and a test failure if it does not fail). */
const failure = (p: Promise<unknown>): Promise<AliyunError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as AliyunError,
  );

/** A pop-core-like error: the message ends with the signed URL, as pop-core 1.8 builds it. */
function popError(code: string, message = 'Request was denied.'): Error {
  const url = `http://127.0.0.1:9/?AccessKeyId=${creds.accessKeyId}&Action=X&Signature=abc%3D`;
  return Object.assign(new Error(`${message}, URL: ${url}`), {
    name: `${code}Error`,
    code,
    url,
    data: { Code: code, Message: message, RequestId: 'REQ-1' },
  });
}

/** A transport that answers from a script: errors to throw first, then a value. */
function scripted(errors: unknown[], value: unknown = { ok: true }) {
  const calls: Array<{ action: string; params: object }> = [];
  const t: RpcTransport = {
    async request<T>(action: string, params: object): Promise<T> {
      calls.push({ action, params });
      const e = errors.shift();
      if (e) throw e;
      return value as T;
    },
  };
  return { t, calls };
}

function client(t: RpcTransport, policy: Partial<RetryPolicy> = {}) {
  const sleeps: number[] = [];
  const retry: RetryPolicy = {
    attempts: 11,
    baseMs: 1000,
    maxMs: 3000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...policy,
  };
  return { c: new AliyunClient({ regionId: 'cn-hangzhou' }, creds, { ecs: t, slb: t }, retry), sleeps };
}

describe('redaction', () => {
  it('drops the signed URL and any access key id or secret', () => {
    const text = `Denied, URL: http://h/?AccessKeyId=${creds.accessKeyId}&Signature=x`;
    expect(redact(text, creds)).toBe('Denied');
    expect(redact(`key ${creds.accessKeyId} and ${creds.accessKeySecret}`, creds)).toBe('key *** and ***');
    expect(redact('GET http://h:1/?AccessKeyId=abc&x=1 failed.')).toBe('GET http://h:1/ failed.');
  });
});

describe('AliyunClient', () => {
  it('retries throttling and busy codes with backoff, then succeeds', async () => {
    const { t, calls } = scripted([
      popError('Throttling'),
      popError('Throttling.User'),
      popError('ServiceIsConfiguring'),
      popError('BackendServer.configuring'),
      popError('SystemBusy'),
    ]);
    const { c, sleeps } = client(t);
    await expect(c.slb('AddBackendServers', { LoadBalancerId: 'lb-1' })).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(6);
    expect(sleeps).toHaveLength(5);
    expect(sleeps[0]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[0]).toBeLessThan(1100);
    expect(sleeps[4]).toBeGreaterThan(sleeps[0]);
    expect(Math.max(...sleeps)).toBeLessThan(3100);
    expect(c.counts.get('AddBackendServers')).toBe(6);
  });

  it('gives up after the last try with the code in one line', async () => {
    const { t, calls } = scripted(Array.from({ length: 20 }, () => popError('Throttling')));
    const { c } = client(t, { attempts: 4 });
    const err = await failure(c.ecs('DescribeInstances'));
    expect(err).toBeInstanceOf(AliyunError);
    expect(err.code).toBe('Throttling');
    expect(calls).toHaveLength(4);
    expect(err.message).toBe(
      'Aliyun DescribeInstances failed: Throttling: Request was denied. (RequestId REQ-1)',
    );
  });

  it('does not retry other codes, and never shows the access key id', async () => {
    const { t, calls } = scripted([
      popError('InvalidAccessKeyId.NotFound', `Key ${creds.accessKeyId} not found.`),
    ]);
    const { c, sleeps } = client(t);
    const err = await failure(c.ecs('DescribeInstances'));
    expect(calls).toHaveLength(1);
    expect(sleeps).toHaveLength(0);
    expect(err.code).toBe('InvalidAccessKeyId.NotFound');
    expect(err.message).not.toContain(creds.accessKeyId);
    expect(err.message).not.toContain('URL');
    expect(err.message).toMatch(/Check ALIBABA_CLOUD_ACCESS_KEY_ID/);
    expect(String(err.stack)).not.toContain(creds.accessKeyId);
  });

  it('retries extra codes asked for by the call (DependencyViolation while instances go)', async () => {
    const { t, calls } = scripted([
      popError('DependencyViolation'),
      popError('DependencyViolation.Instance'),
    ]);
    const { c } = client(t);
    await c.ecs('DeleteSecurityGroup', {}, { retryCodes: ['DependencyViolation'] });
    expect(calls).toHaveLength(3);
  });

  it('retries lost connections only where that is safe', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const read = scripted([reset]);
    await client(read.t).c.ecs('DescribeInstances');
    expect(read.calls).toHaveLength(2);
    const write = scripted([reset]);
    const err = await failure(client(write.t).c.slb('CreateLoadBalancerTCPListener'));
    expect(write.calls).toHaveLength(1);
    expect(err.message).toBe(
      'cannot reach the Aliyun API at https://slb.cn-hangzhou.aliyuncs.com for CreateLoadBalancerTCPListener (ECONNRESET)',
    );
    const token = scripted([reset]);
    await client(token.t).c.ecs('CreateInstance', { ClientToken: 't' }, { idempotent: true });
    expect(token.calls).toHaveLength(2);
  });

  it('drops undefined and empty parameters', async () => {
    const { t, calls } = scripted([]);
    await client(t).c.ecs('DescribeInstances', { RegionId: 'cn-hangzhou', InstanceIds: undefined, Name: '' });
    expect(calls[0].params).toEqual({ RegionId: 'cn-hangzhou' });
  });

  it('knows the codes worth retrying', () => {
    for (const c of [
      'Throttling',
      'Throttling.Api',
      'ServiceIsConfiguring',
      'SystemBusy',
      'BackendServer.configuring',
    ]) {
      expect(isRetryableCode(c), c).toBe(true);
    }
    for (const c of ['InvalidParameter', 'Forbidden.RAM', 'InvalidInstanceId.NotFound', undefined]) {
      expect(isRetryableCode(c), String(c)).toBe(false);
    }
  });
});

describe('through the real pop-core', () => {
  let server: Server;
  let endpoint: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            RequestId: 'R-42',
            HostId: 'ecs.aliyuncs.com',
            Code: 'InvalidInstanceId.NotFound',
            Message: 'The specified InstanceId does not exist.',
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('turns an error answer into one line without the URL or the key id (pop-core puts both in its message)', async () => {
    const c = await aliyunClient({ regionId: 'cn-hangzhou', endpoint }, creds);
    const err = await failure(c.ecs('StartInstance', { InstanceId: 'i-nope' }));
    expect(err).toBeInstanceOf(AliyunError);
    expect(err.code).toBe('InvalidInstanceId.NotFound');
    expect(err.message).toBe(
      'Aliyun StartInstance failed: InvalidInstanceId.NotFound: The specified InstanceId does not exist. (RequestId R-42)',
    );
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(
      creds.accessKeyId,
    );
    // The request was signed and sent as a form (POST), with the key id in it.
    expect(seen.at(-1)).toMatch(/^POST \/ .*AccessKeyId=LTAI5tTestKeyId/);
    expect(seen.at(-1)).toContain('Action=StartInstance');
  });

  it('a dead endpoint is one line naming the endpoint, not the signed URL', async () => {
    const dead = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const target = { regionId: 'cn-hangzhou', endpoint: `http://127.0.0.1:${dead}` };
    const fast = new AliyunClient(target, creds, await popTransports(target, creds), {
      attempts: 2,
      baseMs: 1,
      maxMs: 1,
      sleep: async () => {},
    });
    const err = await failure(fast.ecs('DescribeInstances'));
    expect(err.message).toBe(
      `cannot reach the Aliyun API at http://127.0.0.1:${dead} for DescribeInstances (ECONNREFUSED)`,
    );
    expect(err.message).not.toContain(creds.accessKeyId);
  });
});

describe('waiting for instances', () => {
  it('polls every waiting instance with one DescribeInstances per tick, and honours each deadline', async () => {
    const asked: string[][] = [];
    let tick = 0;
    const t: RpcTransport = {
      async request<T>(action: string, params: object): Promise<T> {
        expect(action).toBe('DescribeInstances');
        const ids = JSON.parse((params as { InstanceIds: string }).InstanceIds) as string[];
        asked.push(ids);
        tick++;
        // i-1 runs from the 2nd tick, i-2 from the 4th, i-3 never; i-4 is gone.
        const status = (id: string) =>
          id === 'i-1' && tick >= 2 ? 'Running' : id === 'i-2' && tick >= 4 ? 'Running' : 'Starting';
        const Instance = ids
          .filter((id) => id !== 'i-4')
          .map((InstanceId) => ({ InstanceId, Status: status(InstanceId) }));
        return { Instances: { Instance }, TotalCount: Instance.length } as T;
      },
    };
    const { c } = client(t);
    const timing = { firstMs: 5, maxMs: 10 };
    const running = hasStatus('Running');
    const [a, b, never, gone] = await Promise.allSettled([
      waitInstance(c, 'i-1', 'to start', running, 5_000, timing),
      waitInstance(c, 'i-2', 'to start', running, 5_000, timing),
      waitInstance(c, 'i-3', 'to start', running, 150, timing),
      waitInstance(c, 'i-4', 'to be deleted', isGone, 5_000, timing),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { InstanceId: 'i-1', Status: 'Running' } });
    expect(b).toMatchObject({ status: 'fulfilled', value: { InstanceId: 'i-2' } });
    expect(gone).toMatchObject({ status: 'fulfilled', value: undefined });
    expect(never.status).toBe('rejected');
    expect(String((never as PromiseRejectedResult).reason.message)).toBe(
      'instance i-3 to start: still Starting after the deadline',
    );
    // One call per tick for all of them: the first asks for all four at once.
    expect(asked[0].sort()).toEqual(['i-1', 'i-2', 'i-3', 'i-4']);
    expect(asked[1].sort()).toEqual(['i-1', 'i-2', 'i-3']);
    expect(asked[2].sort()).toEqual(['i-2', 'i-3']);
    expect(asked.length).toBeGreaterThan(5);
    expect(asked.slice(4).every((ids) => ids.length === 1 && ids[0] === 'i-3')).toBe(true);
  });

  it('a start that fails between two polls (never seen Starting) is reported once the grace is over', () => {
    let t = 1_000;
    const ok = started('i-1', { graceMs: 10_000, now: () => t });
    const stopped = { InstanceId: 'i-1', Status: 'Stopped' };
    // Just after the StartInstance: the status may lag, so Stopped is not a failure yet.
    expect(ok(stopped)).toBe(false);
    t += 10_000;
    expect(() => ok(stopped)).toThrow('instance i-1 failed to start (it is Stopped again)');
    // Seen Starting, then Stopped: failed at once.
    const seen = started('i-2', { graceMs: 10_000, now: () => t });
    expect(seen({ InstanceId: 'i-2', Status: 'Starting' })).toBe(false);
    expect(() => seen({ InstanceId: 'i-2', Status: 'Stopped' })).toThrow(/failed to start/);
    expect(started('i-3')({ InstanceId: 'i-3', Status: 'Running' })).toBe(true);
  });
});
