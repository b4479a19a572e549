/**
 * The Aliyun emulator's RAM roles, without VMs: an instance made with RamRoleName gets STS
 * credentials from the metadata service (asked from the instance's own address), the gateway takes
 * an STS key only with its SecurityToken and only until it expires, and a role that does not exist
 * cannot be given. swarmup's RAM-role credentials (src/cloud/aliyun/ram-role.ts) from a process that
 * is no instance get the metadata service's refusal, said in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import RPCClient from '@alicloud/pop-core';
import { RamRoleCredentials } from '../../src/cloud/aliyun/ram-role.js';
import { startAliyunEmulator, type AliyunEmulator } from '../emulators/aliyun/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let emu: AliyunEmulator;
let expiring: AliyunEmulator;
const base = { ImageId: 'debian_12_6_x64_20G_alibase_20240823.vhd', InstanceType: 'ecs.g6.large' };

const ecsOf = (
  e: AliyunEmulator,
  c: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
) => new RPCClient({ ...c, endpoint: e.endpoint, apiVersion: '2014-05-26' } as RPCClient.Config);
const admin = (e: AliyunEmulator) =>
  ecsOf(e, { accessKeyId: e.accessKeyId, accessKeySecret: e.accessKeySecret });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'no error';
}

/** A metadata GET from `from` (the instance's own address). */
function metadata(e: AliyunEmulator, path: string, from: string): Promise<{ status: number; body: string }> {
  const u = new URL(e.metadataEndpoint!);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), path, localAddress: from }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A running instance (with `role` when given); its private address. */
async function running(e: AliyunEmulator, role?: string): Promise<{ id: string; ip: string }> {
  const c = admin(e);
  const r = await c.request<Json>(
    'RunInstances',
    { RegionId: e.regionId, ...base, Amount: 1, ...(role ? { RamRoleName: role } : {}) },
    { method: 'POST' },
  );
  const id = r.InstanceIdSets.InstanceIdSet[0] as string;
  for (let i = 0; i < 200; i++) {
    const d = await c.request<Json>(
      'DescribeInstances',
      { RegionId: e.regionId, InstanceIds: JSON.stringify([id]) },
      { method: 'POST' },
    );
    const inst = d.Instances.Instance[0];
    if (inst.Status === 'Running')
      return { id, ip: inst.VpcAttributes.PrivateIpAddress.IpAddress[0] ?? inst.InnerIpAddress.IpAddress[0] };
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`${id} never ran`);
}

beforeAll(async () => {
  emu = await startAliyunEmulator({
    backing: false,
    latencyMs: 20,
    ramRoles: ['swarmup-lb'],
    metadata: { host: '127.0.0.1' },
  });
  expiring = await startAliyunEmulator({
    backing: false,
    latencyMs: 20,
    ramRoles: ['swarmup-lb'],
    metadata: { host: '127.0.0.1' },
    stsTtlS: 0,
  });
});

afterAll(async () => {
  await emu?.stop();
  await expiring?.stop();
});

describe('Aliyun emulator: RAM roles and STS credentials', () => {
  it('a RAM role that does not exist cannot be given to an instance', async () => {
    expect(
      await codeOf(
        admin(emu).request(
          'RunInstances',
          { RegionId: emu.regionId, ...base, Amount: 1, RamRoleName: 'nope' },
          { method: 'POST' },
        ),
      ),
    ).toBe('InvalidRamRole.NotFound');
  });

  it('the metadata service answers an instance with its role and STS credentials that work with their token', async () => {
    const withRole = await running(emu, 'swarmup-lb');
    const without = await running(emu);
    expect(await metadata(emu, '/latest/meta-data/ram/security-credentials/', withRole.ip)).toEqual({
      status: 200,
      body: 'swarmup-lb',
    });
    expect((await metadata(emu, '/latest/meta-data/ram/security-credentials/', without.ip)).status).toBe(404);
    expect(
      (await metadata(emu, '/latest/meta-data/ram/security-credentials/other', withRole.ip)).status,
    ).toBe(404);
    expect(
      (await metadata(emu, '/latest/meta-data/ram/security-credentials/swarmup-lb', '127.0.0.1')).status,
    ).toBe(404);

    const m = await metadata(emu, '/latest/meta-data/ram/security-credentials/swarmup-lb', withRole.ip);
    const c = JSON.parse(m.body) as Json;
    expect(c).toMatchObject({ Code: 'Success', AccessKeyId: expect.stringMatching(/^STS\./) });
    expect(Date.parse(c.Expiration)).toBeGreaterThan(Date.now());
    const sts = ecsOf(emu, {
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.AccessKeySecret,
      securityToken: c.SecurityToken,
    });
    const regions = await sts.request<Json>('DescribeRegions', {}, { method: 'POST' });
    expect(regions.Regions.Region.length).toBeGreaterThan(0);
    expect(emu.requests().at(-1)!.principal).toBe(`ram-role:swarmup-lb@${withRole.id}`);
    expect(emu.stsEvents()).toEqual([expect.objectContaining({ role: 'swarmup-lb', instance: withRole.id })]);

    const noToken = ecsOf(emu, { accessKeyId: c.AccessKeyId, accessKeySecret: c.AccessKeySecret });
    expect(await codeOf(noToken.request('DescribeRegions', {}, { method: 'POST' }))).toBe(
      'InvalidSecurityToken.MismatchWithAccessKey',
    );
    const wrongToken = ecsOf(emu, {
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.AccessKeySecret,
      securityToken: 'CAISforged',
    });
    expect(await codeOf(wrongToken.request('DescribeRegions', {}, { method: 'POST' }))).toBe(
      'InvalidSecurityToken.MismatchWithAccessKey',
    );
  });

  it('swarmup asking from a machine that is no instance with the role is told so in one line', async () => {
    await expect(new RamRoleCredentials('swarmup-lb', emu.metadataEndpoint).get()).rejects.toThrow(
      /^the ECS metadata service has no credentials for RAM role "swarmup-lb": is the role attached to this instance\?$/,
    );
  });

  it('an expired STS credential is refused with InvalidSecurityToken.Expired', async () => {
    const inst = await running(expiring, 'swarmup-lb');
    const c = JSON.parse(
      (await metadata(expiring, '/latest/meta-data/ram/security-credentials/swarmup-lb', inst.ip)).body,
    ) as Json;
    const sts = ecsOf(expiring, {
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.AccessKeySecret,
      securityToken: c.SecurityToken,
    });
    expect(await codeOf(sts.request('DescribeRegions', {}, { method: 'POST' }))).toBe(
      'InvalidSecurityToken.Expired',
    );
  });
});
