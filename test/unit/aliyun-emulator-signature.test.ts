/**
 * Aliyun emulator, the gateway part: signature v1 exactly as @alicloud/pop-core computes it, credential,
 * timestamp and nonce checks, and the error body. Runs without backing VMs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import RPCClient from '@alicloud/pop-core';
import { expectViolation } from '../conformance/recorder.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';
import { parseForm, sign, signatureMatches } from '../emulators/aliyun/signature.js';

let emu: AliyunEmulator;

const client = (over: { accessKeyId?: string; accessKeySecret?: string; apiVersion?: string } = {}) =>
  new RPCClient({
    accessKeyId: over.accessKeyId ?? emu.accessKeyId,
    accessKeySecret: over.accessKeySecret ?? emu.accessKeySecret,
    endpoint: emu.endpoint,
    apiVersion: over.apiVersion ?? '2014-05-26',
  });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`;
  }
  return 'no error';
}

/** Signature v1 written again from the published algorithm (not the emulator's code). */
function independentSign(method: string, params: Record<string, string>, secret: string): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = Object.keys(params)
    .sort()
    .map((k) => `${enc(k)}=${enc(params[k])}`)
    .join('&');
  const toSign = `${method}&${enc('/')}&${enc(query)}`;
  return createHmac('sha1', `${secret}&`).update(toSign).digest('base64');
}

function common(action: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    Action: action,
    Format: 'JSON',
    Version: '2014-05-26',
    AccessKeyId: emu.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: `n-${Math.random()}`,
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...extra,
  };
}

async function rawGet(
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emu.endpoint}/?${new URLSearchParams(params).toString()}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  emu = await startAliyunEmulator({ backing: false, latencyMs: 20, addressPrefix: '127.88.3.' });
});
afterAll(async () => {
  await emu?.stop();
});

describe('signature v1', () => {
  it('accepts a request signed by an independent implementation, GET and POST, with awkward characters', async () => {
    // An awkward value in a parameter the action has (a name filter that matches nothing).
    const params = common('DescribeKeyPairs', { RegionId: 'cn-hangzhou', KeyPairName: "a b!'()*~/+=&é" });
    params.Signature = independentSign('GET', params, emu.accessKeySecret);
    const ok = await rawGet(params);
    expect(ok.status).toBe(200);
    expect(ok.body.Code).toBeUndefined();
    expect(typeof ok.body.RequestId).toBe('string');

    const post = common('DescribeKeyPairs', { RegionId: 'cn-hangzhou', KeyPairName: 'x y' });
    post.Signature = independentSign('POST', post, emu.accessKeySecret);
    const res = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(post).toString(),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { KeyPairs: unknown }).KeyPairs).toBeDefined();
  });

  it('refuses a signature computed for another method or over other parameters', async () => {
    const params = common('DescribeRegions');
    params.Signature = independentSign('POST', params, emu.accessKeySecret); // sent as GET
    const r = await rawGet(params);
    expect(r.status).toBe(400);
    expect(r.body.Code).toBe('SignatureDoesNotMatch');

    const tampered = common('DescribeRegions');
    tampered.Signature = independentSign('GET', tampered, emu.accessKeySecret);
    tampered.AcceptLanguage = 'en-US';
    expect((await rawGet(tampered)).body.Code).toBe('SignatureDoesNotMatch');
  });

  it("matches the signature pop-core's own code puts on the wire (GET query and POST form)", async () => {
    const seen: { method: string; params: Record<string, string> }[] = [];
    const capture: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const query = parseForm((req.url ?? '').split('?')[1] ?? '');
        seen.push({ method: req.method ?? '', params: { ...query, ...parseForm(body) } });
        res.end('{"RequestId":"R"}');
      });
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', () => r()));
    try {
      const secret = 'pop-core-vector-secret';
      const c = new RPCClient({
        accessKeyId: 'LTAIvector',
        accessKeySecret: secret,
        endpoint: `http://127.0.0.1:${(capture.address() as AddressInfo).port}`,
        apiVersion: '2014-05-15',
      });
      await c.request('DescribeLoadBalancers', {
        RegionId: 'cn-hangzhou',
        Tags: '[{"TagKey":"k","TagValue":"v w"}]',
        Tag: [{ Key: 'a', Value: 'b' }],
      });
      await c.request(
        'CreateLoadBalancer',
        { RegionId: 'cn-hangzhou', LoadBalancerName: "n (x)*'!" },
        { method: 'POST' },
      );
      expect(seen.map((s) => s.method)).toEqual(['GET', 'POST']);
      for (const { method, params } of seen) {
        expect(params.Signature).toBe(sign(method, params, secret));
        expect(params.Signature).toBe(independentSign(method, withoutSignature(params), secret));
        expect(signatureMatches(method, params, secret)).toBe(true);
        expect(signatureMatches(method, params, 'other')).toBe(false);
      }
      // pop-core flattens arrays of objects into Name.N.Field and sends JSON parameters as strings.
      expect(seen[0].params['Tag.1.Key']).toBe('a');
      expect(seen[0].params.Tags).toBe('[{"TagKey":"k","TagValue":"v w"}]');
    } finally {
      await new Promise<void>((r) => capture.close(() => r()));
    }
  });
});

function withoutSignature(p: Record<string, string>): Record<string, string> {
  const rest = { ...p };
  delete rest.Signature;
  return rest;
}

describe('credentials, timestamps and nonces through pop-core', () => {
  it('answers pop-core GET and POST calls', async () => {
    const ecs = client();
    const r = await ecs.request<{ Regions: { Region: { RegionId: string }[] }; RequestId: string }>(
      'DescribeRegions',
      {},
    );
    expect(r.Regions.Region.map((x) => x.RegionId)).toContain('cn-hangzhou');
    const p = await ecs.request<{ RequestId: string }>('DescribeRegions', {}, { method: 'POST' });
    expect(p.RequestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('refuses a wrong secret and an unknown key id', async () => {
    expect(await codeOf(client({ accessKeySecret: 'wrong' }).request('DescribeRegions', {}))).toBe(
      'SignatureDoesNotMatch',
    );
    expect(await codeOf(client({ accessKeyId: 'LTAIunknown' }).request('DescribeRegions', {}))).toBe(
      'InvalidAccessKeyId.NotFound',
    );
  });

  it('refuses a reused nonce (pop-core lets call parameters override SignatureNonce)', async () => {
    const ecs = client();
    const nonce = `fixed-${Date.now()}`;
    await ecs.request('DescribeRegions', { SignatureNonce: nonce });
    expect(await codeOf(ecs.request('DescribeRegions', { SignatureNonce: nonce }))).toBe(
      'SignatureNonceUsed',
    );
    // A fresh nonce goes through.
    expect(await codeOf(ecs.request('DescribeRegions', { SignatureNonce: `${nonce}-2` }))).toBe('no error');
  });

  it('refuses timestamps more than 15 minutes off, and malformed ones', async () => {
    const ecs = client();
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(await codeOf(ecs.request('DescribeRegions', { Timestamp: at(-16 * 60_000) }))).toBe(
      'InvalidTimeStamp.Expired',
    );
    expect(await codeOf(ecs.request('DescribeRegions', { Timestamp: at(16 * 60_000) }))).toBe(
      'InvalidTimeStamp.Expired',
    );
    expect(await codeOf(ecs.request('DescribeRegions', { Timestamp: at(-10 * 60_000) }))).toBe('no error');
    expectViolation({ field: 'Timestamp', problem: 'yesterday', why: 'a malformed timestamp' });
    expect(await codeOf(ecs.request('DescribeRegions', { Timestamp: 'yesterday' }))).toBe(
      'InvalidTimeStamp.Format',
    );
  });

  it('answers errors with the real body and status, successes without Code', async () => {
    const bad = common('DescribeRegions', { AccessKeyId: 'LTAInobody' });
    bad.Signature = independentSign('GET', bad, 'x');
    const r = await rawGet(bad);
    expect(r.status).toBe(404);
    expect(Object.keys(r.body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    expect(r.body).toMatchObject({ Code: 'InvalidAccessKeyId.NotFound', HostId: 'ecs.aliyuncs.com' });

    expectViolation({ field: 'Action', problem: 'NoSuchAction', why: 'an action ECS does not have' });
    const unknown = common('NoSuchAction');
    unknown.Signature = independentSign('GET', unknown, emu.accessKeySecret);
    const u = await rawGet(unknown);
    expect([u.status, u.body.Code]).toEqual([404, 'InvalidAction.NotFound']);

    expectViolation({
      operation: 'DescribeInstances',
      field: 'RegionId',
      why: 'a required parameter left out',
    });
    const missing = common('DescribeInstances');
    missing.Signature = independentSign('GET', missing, emu.accessKeySecret);
    const m = await rawGet(missing);
    expect([m.status, m.body.Code]).toEqual([400, 'MissingParameter']);
    expect(m.body.Message).toContain('RegionId');

    const slbErr = await codeOf(
      client({ apiVersion: '2014-05-15' }).request('DeleteLoadBalancer', {
        RegionId: 'cn-hangzhou',
        LoadBalancerId: 'lb-x',
      }),
    );
    expect(slbErr).toBe('InvalidLoadBalancerId.NotFound');
    const slbRaw = common('DeleteLoadBalancer', {
      Version: '2014-05-15',
      RegionId: 'cn-hangzhou',
      LoadBalancerId: 'lb-x',
    });
    slbRaw.Signature = independentSign('GET', slbRaw, emu.accessKeySecret);
    expect((await rawGet(slbRaw)).body.HostId).toBe('slb.aliyuncs.com');
  });
});
