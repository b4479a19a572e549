/**
 * The conformance gate proven: requests that break the published definitions are caught, with the
 * call, the field and what the definition says; what swarmup sends passes; calls not made yet
 * (instances.bulkInsert, RunInstances with Amount) are checked the same way with no extra work.
 */
import { describe, expect, it } from 'vitest';
import { checkAliyunRequest } from '../conformance/aliyun-check.js';
import { checkRecords, describeViolations, withoutExpected } from '../conformance/check.js';
import { checkGceRequest } from '../conformance/gce-check.js';
import type { Violation } from '../conformance/violation.js';

const P = '/compute/v1/projects/p';
const gce = (method: string, path: string, body?: unknown, query?: string) =>
  checkGceRequest({
    method,
    path: `${P}/${path}`,
    body: body === undefined ? undefined : JSON.stringify(body),
    query,
  }).violations;
const fields = (vs: Violation[]) => vs.map((v) => v.field);

/** A signed request as pop-core sends it, with the action's own parameters. */
function aliyun(version: string, action: string, params: Record<string, string>) {
  return checkAliyunRequest({
    method: 'POST',
    params: {
      Action: action,
      Version: version,
      Format: 'JSON',
      AccessKeyId: 'LTAIkey',
      Signature: 'c2lnbmF0dXJl',
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: 'n-1',
      Timestamp: '2026-12-06T10:00:00Z',
      ...params,
    },
  }).violations;
}
const ECS = '2014-05-26';
const SLB = '2014-05-15';

const instance = {
  name: 'web-1',
  machineType: 'zones/us-central1-a/machineTypes/e2-small',
  disks: [
    {
      boot: true,
      autoDelete: true,
      initializeParams: {
        sourceImage: 'projects/debian-cloud/global/images/family/debian-12',
        diskSizeGb: '20',
      },
    },
  ],
  networkInterfaces: [
    { network: 'global/networks/default', accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] },
  ],
  metadata: { items: [{ key: 'ssh-keys', value: 'alice:ssh-ed25519 AAAA alice' }] },
  tags: { items: ['swarmup'] },
  labels: { 'swarmup-cluster': 'c1' },
};

describe('GCE requests against compute.proto and @googleapis/compute', () => {
  it('passes what swarmup sends', () => {
    expect(gce('POST', 'zones/us-central1-a/instances', instance, 'requestId=3f1c')).toEqual([]);
    expect(
      gce('POST', 'global/httpHealthChecks', {
        name: 'hc',
        port: 8080,
        requestPath: '/',
        checkIntervalSec: 2,
      }),
    ).toEqual([]);
    expect(gce('POST', 'zones/z/operations/operation-1/wait', '')).toEqual([]);
    expect(gce('GET', 'global/firewalls', undefined, 'filter=name%3Dx&maxResults=10')).toEqual([]);
  });

  it('catches an unknown field, a proto name, int64 as a number, a wrong enum, a wrong type', () => {
    const bad = {
      ...instance,
      zoneName: 'x',
      machine_type: 'zones/z/machineTypes/e2-small',
      disks: [{ boot: 'yes', initializeParams: { diskSizeGb: 20 } }],
      networkInterfaces: [{ accessConfigs: [{ type: 'ONE_TO_ONE' }] }],
    };
    const vs = gce('POST', 'zones/us-central1-a/instances', bad);
    expect(fields(vs).sort()).toEqual([
      'instanceResource.disks[0].boot',
      'instanceResource.disks[0].initializeParams.diskSizeGb',
      'instanceResource.machine_type',
      'instanceResource.networkInterfaces[0].accessConfigs[0].type',
      'instanceResource.zoneName',
    ]);
    const say = (f: string) => vs.find((v) => v.field === f)!.problem;
    expect(say('instanceResource.zoneName')).toBe('google.cloud.compute.v1.Instance has no field "zoneName"');
    expect(say('instanceResource.machine_type')).toContain('send "machineType"');
    expect(say('instanceResource.disks[0].initializeParams.diskSizeGb')).toContain('int64 is a JSON string');
    expect(say('instanceResource.networkInterfaces[0].accessConfigs[0].type')).toMatch(
      /not a value of enum google\.cloud\.compute\.v1\.AccessConfig\.Type: one of .*ONE_TO_ONE_NAT/,
    );
    expect(vs[0]).toMatchObject({ cloud: 'gce', operation: 'compute.instances.insert' });
    expect(vs[0].call).toBe(`POST ${P}/zones/us-central1-a/instances`);
  });

  it('catches labels on insert where only setLabels sets them, and output-only fields', () => {
    const vs = gce('POST', 'regions/r/forwardingRules', {
      name: 'fr',
      labels: { a: 'b' },
      selfLink: 'x',
      IPProtocol: 'TCP',
    });
    expect(vs.map((v) => [v.field, v.problem])).toEqual([
      [
        'forwardingRuleResource.labels',
        'google.cloud.compute.v1.ForwardingRule.labels can only be added or modified by the setLabels method (the definition says so; insert ignores it)',
      ],
      [
        'forwardingRuleResource.selfLink',
        'google.cloud.compute.v1.ForwardingRule.selfLink is output only: the server sets it',
      ],
    ]);
    expect(
      gce('POST', 'regions/r/forwardingRules/fr/setLabels', {
        labels: { a: 'b' },
        labelFingerprint: '42WmSpB8rSM=',
      }),
    ).toEqual([]);
  });

  it('catches a path no rule has, a missing body, an unknown query parameter, a body where none is taken', () => {
    expect(gce('POST', 'zones/z/instances/i/explode')[0]).toMatchObject({ field: 'path', operation: '?' });
    expect(gce('POST', 'regions/r/addresses')).toEqual([
      expect.objectContaining({ field: 'addressResource', problem: expect.stringContaining('body') }),
    ]);
    expect(fields(gce('GET', 'global/firewalls', undefined, 'pageSize=5'))).toEqual(['pageSize']);
    expect(fields(gce('POST', 'zones/z/instances/i/start', { force: true }))).toEqual(['body']);
  });

  it('checks a reference against the shape its field documents', () => {
    const vs = gce('POST', 'zones/us-central1-a/instances', {
      ...instance,
      machineType: 'global/networks/default',
      networkInterfaces: [{ network: 'global/notACollection/x' }],
    });
    expect(vs.map((v) => v.field)).toEqual([
      'instanceResource.machineType',
      'instanceResource.networkInterfaces[0].network',
    ]);
    expect(vs[0].problem).toContain('refers to networks; the field documents a reference to machineTypes');
    expect(vs[1].problem).toContain('no GET http rule matches');
  });

  it('checks a call swarmup does not make yet, instances.bulkInsert, with no extra work', () => {
    const body = {
      count: '3',
      namePattern: 'web-####',
      instanceProperties: { machineType: 'e2-small' },
      // The map's keys name the instances; the value's `name` is output only in the definition.
      perInstanceProperties: { 'web-0001': { hostname: 'web-0001.internal' } },
    };
    expect(gce('POST', 'zones/z/instances/bulkInsert', body)).toEqual([]);
    const vs = gce('POST', 'zones/z/instances/bulkInsert', {
      ...body,
      count: 3,
      perInstanceProperties: { 'web-0001': { name: 'web-0001' } },
    });
    expect(vs.map((v) => v.field)).toEqual([
      'bulkInsertInstanceResourceResource.count',
      'bulkInsertInstanceResourceResource.perInstanceProperties.web-0001.name',
    ]);
  });
});

describe('Aliyun requests against @alicloud/ecs20140526 and slb-2014-05-15.json', () => {
  it('passes what swarmup sends', () => {
    expect(
      aliyun(SLB, 'CreateLoadBalancerTCPListener', {
        RegionId: 'cn-hangzhou',
        LoadBalancerId: 'lb-1',
        ListenerPort: '80',
        BackendServerPort: '80',
        Bandwidth: '-1',
        Scheduler: 'wrr',
        healthCheckInterval: '2',
        HealthyThreshold: '2',
        'Tag.1.Key': 'swarmup-cluster',
        'Tag.1.Value': 'c1',
      }),
    ).toEqual([]);
    expect(
      aliyun(ECS, 'AuthorizeSecurityGroup', {
        RegionId: 'cn-hangzhou',
        SecurityGroupId: 'sg-1',
        'Permissions.1.IpProtocol': 'tcp',
        'Permissions.1.PortRange': '22/22',
        'Permissions.1.SourceCidrIp': '10.0.0.0/8',
        'Permissions.1.Policy': 'accept',
      }),
    ).toEqual([]);
  });

  it('catches the casing of healthCheckInterval, per action', () => {
    const create = aliyun(SLB, 'CreateLoadBalancerUDPListener', {
      RegionId: 'r',
      LoadBalancerId: 'lb-1',
      ListenerPort: '53',
      HealthCheckInterval: '2',
    });
    expect(create).toEqual([
      {
        cloud: 'aliyun',
        call: 'slb CreateLoadBalancerUDPListener',
        operation: 'Slb 2014-05-15 CreateLoadBalancerUDPListener',
        field: 'HealthCheckInterval',
        problem:
          'unknown parameter: the definition spells it "healthCheckInterval" (names are case-sensitive; the gateway ignores unknown names)',
      },
    ]);
    const set = aliyun(SLB, 'SetLoadBalancerUDPListenerAttribute', {
      RegionId: 'r',
      LoadBalancerId: 'lb-1',
      ListenerPort: '53',
      healthCheckInterval: '2',
    });
    expect(fields(set)).toEqual(['healthCheckInterval']);
  });

  it('catches missing required and signature parameters, values, ranges, indexes, JSON and deprecated forms', () => {
    const vs = aliyun(ECS, 'AuthorizeSecurityGroup', {
      SecurityGroupId: 'sg-1',
      IpProtocol: 'tcp',
      'Permissions.1.IpProtocol': 'sctp',
      'Permissions.1.Priority': '101',
      SignatureMethod: 'HMAC-SHA256',
    });
    expect(vs.map((v) => `${v.field}: ${v.problem}`)).toEqual([
      'SignatureMethod: "HMAC-SHA256" is not one of HMAC-SHA1',
      'IpProtocol: deprecated by the definition',
      'Permissions.1.IpProtocol: "sctp" is not one of ICMP, GRE, TCP, UDP, ALL',
      'Permissions.1.Priority: 101 is outside 1..100',
      'RegionId: required parameter missing',
    ]);
    const tags = aliyun(ECS, 'DescribeInstances', { RegionId: 'r', 'Tag.21.Key': 'k', 'tag.1.Key': 'k' });
    expect(tags.map((v) => v.field)).toEqual(['Tag.21.Key', 'tag.1.Key']);
    expect(tags[0].problem).toBe('index 21 is beyond 20');
    expect(tags[1].problem).toContain('the definition spells it "Tag.N.Key"');
    const servers = aliyun(SLB, 'AddBackendServers', {
      RegionId: 'r',
      LoadBalancerId: 'lb-1',
      BackendServers: '[{"ServerId":"i-1","weight":"100"}]',
    });
    expect(servers.map((v) => v.problem)).toEqual([
      'item 1 has the key "weight"; the definition knows ServerId, Weight, Type, ServerIp, Description',
    ]);
    expect(aliyun(SLB, 'DescribeLoadBalancers', { RegionId: 'r', Tags: 'k=v' })[0].problem).toContain(
      'not JSON',
    );
    const unsigned = aliyun(ECS, 'DescribeRegions', { Signature: '', Timestamp: '2026-12-06 10:00' });
    expect(unsigned.map((v) => v.field)).toEqual(['Signature', 'Timestamp']);
    expect(aliyun(SLB, 'CreateVServerGroup', { RegionId: 'r' })[0].problem).toContain(
      'not written down in test/conformance/slb-2014-05-15.json',
    );
    expect(aliyun('2099-01-01', 'DescribeRegions', {})[0].field).toBe('Version');
  });

  it('knows what swarmup does not send yet: Password on CreateInstance, RunInstances with Amount', () => {
    const base = { RegionId: 'r', ImageId: 'img', InstanceType: 'ecs.g6.large' };
    expect(aliyun(ECS, 'CreateInstance', { ...base, Password: 'Secret-123' })).toEqual([]);
    expect(
      aliyun(ECS, 'RunInstances', { ...base, Amount: '50', UniqueSuffix: 'true', ClientToken: 't' }),
    ).toEqual([]);
    expect(aliyun(ECS, 'RunInstances', { ...base, Amount: '101' }).map((v) => v.problem)).toEqual([
      '101 is outside 1..100',
    ]);
  });
});

describe('the gate', () => {
  it('fails on what breaks the definitions, unless a test declared it; a declaration never met fails too', () => {
    const records = [
      {
        cloud: 'gce' as const,
        method: 'GET',
        path: `${P}/global/firewalls`,
        query: 'pageSize=1',
        status: 400,
      },
      {
        cloud: 'gce' as const,
        method: 'POST',
        path: `${P}/regions/r/addresses`,
        body: '{"name":"a","labels":{"k":"v"}}',
        status: 200,
      },
    ];
    const result = checkRecords(records);
    expect(result.requests).toBe(2);
    expect([...result.operations.keys()].sort()).toEqual([
      'compute.addresses.insert',
      'compute.firewalls.list',
    ]);
    expect(describeViolations(result.violations)).toEqual([
      `GET ${P}/global/firewalls?pageSize=1 (compute.firewalls.list): pageSize: compute.firewalls.list has no query parameter "pageSize"`,
      `POST ${P}/regions/r/addresses (compute.addresses.insert): addressResource.labels: google.cloud.compute.v1.Address.labels can only be added or modified by the setLabels method (the definition says so; insert ignores it)`,
    ]);
    const declared = withoutExpected(result.violations, [
      { field: 'pageSize', why: 'deliberate' },
      { field: 'never', why: 'declared but not sent' },
    ]);
    expect(declared.unexpected.map((v) => v.field)).toEqual(['addressResource.labels']);
    expect(declared.unseen.map((e) => e.why)).toEqual(['declared but not sent']);
  });
});
