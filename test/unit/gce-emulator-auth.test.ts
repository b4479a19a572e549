/**
 * The GCE emulator checking credentials (`auth: 'required'`), without VMs: swarmup's key path (a JWT
 * exchanged at the key's token_uri, src/cloud/gce/auth.ts) against the keys the emulator made, and
 * the metadata server as an instance sees it (requests from the instance's own address). Missing,
 * unknown, forged and under-scoped credentials get Google's answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gce } from '../../src/cloud/gce/api.js';
import { exchangeKey, useGceCredentials, type ServiceAccountKey } from '../../src/cloud/gce/auth.js';
import { startGceEmulator, type GceEmulator, type ServiceAccountKeyJson } from '../emulators/gce/index.js';

let emu: GceEmulator;
let key: ServiceAccountKeyJson;
let keyFile: string;
const zone = 'us-central1-a';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function api(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${emu.endpoint}/compute/v1/projects/${emu.project}/${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as Json };
}

/** A metadata request from `from` (an instance's own address), as that instance makes it. */
function metadata(
  path: string,
  from: string,
  flavor = true,
): Promise<{ status: number; body: string; flavor?: string }> {
  const [host, port] = emu.metadataHost!.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        path: `/computeMetadata/v1/${path}`,
        localAddress: from,
        headers: flavor ? { 'Metadata-Flavor': 'Google' } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            flavor: res.headers['metadata-flavor'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An instance with these scopes, RUNNING; its address. */
async function instance(name: string, token: string, scopes: string[] | undefined): Promise<string> {
  const r = await api('POST', `zones/${zone}/instances`, token, {
    name,
    machineType: `zones/${zone}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
      },
    ],
    networkInterfaces: [{ network: 'global/networks/default' }],
    ...(scopes ? { serviceAccounts: [{ email: 'default', scopes }] } : {}),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  for (let i = 0; i < 100; i++) {
    const g = await api('GET', `zones/${zone}/instances/${name}`, token);
    if (g.body.status === 'RUNNING') return g.body.networkInterfaces[0].networkIP as string;
    await api('POST', `zones/${zone}/operations/${r.body.name}/wait`, token);
  }
  throw new Error(`${name} never ran`);
}

beforeAll(async () => {
  emu = await startGceEmulator({
    backing: false,
    operationLatencyMs: 20,
    auth: 'required',
    metadata: { host: '127.0.0.1' },
  });
  key = emu.createServiceAccountKey();
  keyFile = join(await mkdtemp(join(tmpdir(), 'gce-auth-')), 'key.json');
  await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
});

afterAll(async () => {
  useGceCredentials(undefined);
  await emu?.stop();
});

describe('GCE emulator with credentials checked', () => {
  it('a request without a token gets 401 Login Required (UNAUTHENTICATED), one with an unknown token 401 Invalid Credentials', async () => {
    const none = await api('GET', 'global/firewalls');
    expect(none.status).toBe(401);
    expect(none.body.error.status).toBe('UNAUTHENTICATED');
    expect(none.body.error.errors[0]).toMatchObject({ reason: 'required', location: 'Authorization' });
    expect(none.body.error.message).toMatch(/^Request is missing required authentication credential/);
    const bad = await api('GET', 'global/firewalls', 'ya29.not-one-of-ours');
    expect(bad.status).toBe(401);
    expect(bad.body.error.errors[0].reason).toBe('authError');
  });

  it('swarmup with a key it made: the JWT is exchanged at the key’s token_uri and the API answers', async () => {
    useGceCredentials({ kind: 'key', file: keyFile });
    const gce = await Gce.connect({ project: emu.project, endpoint: emu.endpoint });
    const list = await gce.call('firewalls', (o) => gce.firewalls.list({ project: emu.project }, o));
    expect(Array.isArray(list)).toBe(true);
    const last = emu.requests().at(-1)!;
    expect(last.principal).toBe(`key:${key.client_email}`);
    expect(emu.authEvents().at(-1)).toMatchObject({
      via: 'token',
      status: 200,
      principal: `key:${key.client_email}`,
    });
  });

  it('no credentials at all against it: the API’s 401 reaches the caller as one line', async () => {
    useGceCredentials({ kind: 'default' });
    const gce = await Gce.connect({ project: emu.project, endpoint: emu.endpoint });
    await expect(
      gce.call('firewalls', (o) => gce.firewalls.list({ project: emu.project }, o)),
    ).rejects.toThrow(/missing required authentication credential/);
  });

  it('a key it did not make, or one signed with another private key, is refused at the token endpoint', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged: ServiceAccountKey = { ...key, private_key: pem, private_key_id: 'f'.repeat(40) };
    await expect(exchangeKey(forged)).rejects.toThrow(
      /refused at .*\/token \(invalid_grant: Invalid grant: account not found\)/,
    );
    const resigned: ServiceAccountKey = { ...key, private_key: pem };
    await expect(exchangeKey(resigned)).rejects.toThrow(/invalid_grant: Invalid JWT Signature\./);
    const other = emu.createServiceAccountKey('other@swarmup-emu.iam.gserviceaccount.com');
    emu.revokeServiceAccountKey(other.private_key_id);
    await expect(exchangeKey(other)).rejects.toThrow(/account not found/);
    expect(emu.authEvents().filter((e) => e.via === 'token' && e.status === 400)).toHaveLength(3);
  });

  it('the metadata server gives an instance tokens for its own service account and scopes', async () => {
    const { access_token: admin } = await exchangeKey(key);
    const withScope = await instance('md-1', admin, ['https://www.googleapis.com/auth/compute']);
    const noScope = await instance('md-2', admin, ['https://www.googleapis.com/auth/logging.write']);
    const noAccount = await instance('md-3', admin, undefined);

    const missingHeader = await metadata('instance/service-accounts/default/token', withScope, false);
    expect(missingHeader.status).toBe(403);
    expect(missingHeader.body).toMatch(/Missing Metadata-Flavor:Google header/);
    const ping = await metadata('instance', withScope);
    expect(ping).toMatchObject({ status: 200, flavor: 'Google' });
    expect((await metadata('instance/name', withScope)).body).toBe('md-1');
    expect((await metadata('instance/service-accounts/default/token', '127.0.0.1')).status).toBe(404);
    expect((await metadata('instance/service-accounts/default/token', noAccount)).status).toBe(404);

    const t1 = JSON.parse(
      (await metadata('instance/service-accounts/default/token', withScope)).body,
    ) as Json;
    expect(t1.token_type).toBe('Bearer');
    expect(t1.expires_in).toBeGreaterThan(0);
    const ok = await api('GET', 'global/firewalls', t1.access_token);
    expect(ok.status).toBe(200);
    expect(emu.requests().at(-1)!.principal).toMatch(
      /^instance:md-1 \(swarmup-emu-compute@developer\.gserviceaccount\.com\)$/,
    );

    const t2 = JSON.parse((await metadata('instance/service-accounts/default/token', noScope)).body) as Json;
    const denied = await api('GET', 'global/firewalls', t2.access_token);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      status: 'PERMISSION_DENIED',
      message: 'Request had insufficient authentication scopes.',
    });
  });
});
