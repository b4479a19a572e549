import { describe, expect, it } from 'vitest';
import type { Permission } from '../../src/cloud/aliyun/ecs.js';
import { missingRules, pickGroup, ruleKey, wantedRules } from '../../src/cloud/aliyun/firewall.js';

const SG = 'sg-self';

describe('security group rules', () => {
  it('opens swarm ports to the group itself only, and SSH/2376 to the admin ranges only', () => {
    const rules = wantedRules(SG, ['203.0.113.7/32', '198.51.100.0/24']);
    const swarm = rules.filter((r) => r.sourceGroupId);
    expect(swarm.map((r) => `${r.protocol}/${r.portRange}`).sort()).toEqual([
      'tcp/2377/2377',
      'tcp/7946/7946',
      'udp/4789/4789',
      'udp/7946/7946',
    ]);
    expect(swarm.every((r) => r.sourceGroupId === SG && !r.sourceCidr)).toBe(true);
    const admin = rules.filter((r) => r.sourceCidr);
    expect(admin.map((r) => `${r.portRange} ${r.sourceCidr}`).sort()).toEqual([
      '22/22 198.51.100.0/24',
      '22/22 203.0.113.7/32',
      '2376/2376 198.51.100.0/24',
      '2376/2376 203.0.113.7/32',
    ]);
    expect(rules.some((r) => r.sourceCidr === '0.0.0.0/0')).toBe(false);
  });

  it('authorizes only what is missing (case, descriptions and drop rules considered)', () => {
    const wanted = wantedRules(SG, ['203.0.113.7/32']);
    const have: Permission[] = [
      {
        IpProtocol: 'TCP',
        PortRange: '2377/2377',
        SourceGroupId: SG,
        Policy: 'Accept',
        Description: 'other words',
      },
      { IpProtocol: 'tcp', PortRange: '22/22', SourceCidrIp: '203.0.113.7/32', Policy: 'accept' },
      // A drop rule is not an allow rule.
      { IpProtocol: 'udp', PortRange: '4789/4789', SourceGroupId: SG, Policy: 'Drop' },
      // Same port from a different source does not count.
      { IpProtocol: 'tcp', PortRange: '2376/2376', SourceCidrIp: '0.0.0.0/0', Policy: 'Accept' },
    ];
    const missing = missingRules(wanted, have);
    expect(missing.map(ruleKey).sort()).toEqual([
      'tcp|2376/2376|203.0.113.7/32|',
      'tcp|7946/7946||sg-self',
      'udp|4789/4789||sg-self',
      'udp|7946/7946||sg-self',
    ]);
  });

  it('has nothing to add when every rule is there', () => {
    const wanted = wantedRules(SG, ['203.0.113.7/32']);
    const have: Permission[] = wanted.map((r) => ({
      IpProtocol: r.protocol,
      PortRange: r.portRange,
      SourceCidrIp: r.sourceCidr,
      SourceGroupId: r.sourceGroupId,
    }));
    expect(missingRules(wanted, have)).toEqual([]);
    expect(missingRules([...wanted, ...wanted], [])).toHaveLength(wanted.length);
  });

  it('picks the cluster-tagged group among namesakes, else the oldest', () => {
    const groups = [
      { SecurityGroupId: 'sg-b', CreationTime: '2024-01-02T00:00Z' },
      {
        SecurityGroupId: 'sg-a',
        CreationTime: '2024-01-03T00:00Z',
        Tags: { Tag: [{ TagKey: 'swarmup-cluster', TagValue: 'c1' }] },
      },
      { SecurityGroupId: 'sg-c', CreationTime: '2024-01-01T00:00Z' },
    ];
    expect(pickGroup(groups, 'c1')?.SecurityGroupId).toBe('sg-a');
    expect(pickGroup(groups, 'c2')?.SecurityGroupId).toBe('sg-c');
    expect(pickGroup([], 'c1')).toBeUndefined();
  });
});
