// ECS security groups and their ingress rules (stored and validated, not enforced on traffic).
import type { Context, Handler } from './context.js';
import { ApiError, invalid, missing } from './errors.js';
import { resourceId, slbTime } from './ids.js';
import type { EcsState, Rule, SecurityGroup } from './ecs-state.js';
import { matchesTags, mergeTags, pageOrToken, type Params, tagList, wildcard } from './params.js';

export class SecurityGroups {
  constructor(
    private ctx: Context,
    private s: EcsState,
  ) {}

  handlers(): Record<string, Handler> {
    return {
      CreateSecurityGroup: (p) => this.createGroup(p),
      DescribeSecurityGroups: (p) => this.describeGroups(p),
      DescribeSecurityGroupAttribute: (p) => this.groupAttribute(p),
      DeleteSecurityGroup: (p) => this.deleteGroup(p),
      AuthorizeSecurityGroup: (p) => this.authorize(p, true),
      RevokeSecurityGroup: (p) => this.authorize(p, false),
    };
  }

  private createGroup(p: Params): Record<string, unknown> {
    const regionId = this.ctx.region(p);
    const name = p.str('SecurityGroupName') ?? '';
    if (name && !/^[A-Za-z\u4e00-\u9fa5][\w.:\-\u4e00-\u9fa5]{1,127}$/.test(name)) {
      throw new ApiError('InvalidSecurityGroupName.Malformed', 'Specified security group name is not valid.');
    }
    const tags = p.tags();
    const g: SecurityGroup = {
      id: resourceId('sg-', 20),
      name,
      description: p.str('Description') ?? '',
      vpcId: p.str('VpcId') ?? '',
      regionId,
      created: Date.now(),
      tags: new Map(),
      rules: [],
    };
    mergeTags(g.tags, tags);
    this.s.groups.set(g.id, g);
    return { SecurityGroupId: g.id };
  }

  private describeGroups(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const ids =
      p.jsonStrings('SecurityGroupIds', 'InvalidSecurityGroupIds.Malformed') ??
      (p.str('SecurityGroupId') ? [p.req('SecurityGroupId')] : undefined);
    const tags = p.tags();
    const name = p.str('SecurityGroupName');
    const all = [...this.s.groups.values()].filter(
      (g) =>
        g.regionId === region &&
        (!ids || ids.includes(g.id)) &&
        (!name || wildcard(name, g.name)) &&
        (!p.str('VpcId') || g.vpcId === p.str('VpcId')) &&
        matchesTags(g.tags, tags),
    );
    const { page, ...rest } = pageOrToken(p, all, 100);
    return {
      RegionId: region,
      SecurityGroups: {
        SecurityGroup: page.map((g) => ({
          SecurityGroupId: g.id,
          SecurityGroupName: g.name,
          Description: g.description,
          VpcId: g.vpcId,
          SecurityGroupType: 'normal',
          CreationTime: slbTime(g.created),
          AvailableInstanceAmount: 2000,
          EcsCount: this.s.usersOf(g.id).length,
          Tags: { Tag: tagList(g.tags) },
        })),
      },
      ...rest,
    };
  }

  private groupAttribute(p: Params): Record<string, unknown> {
    const g = this.s.group(p.req('SecurityGroupId'));
    const dir = p.oneOf('Direction', ['ingress', 'egress', 'all'] as const, 'all');
    return {
      RegionId: g.regionId,
      SecurityGroupId: g.id,
      SecurityGroupName: g.name,
      Description: g.description,
      VpcId: g.vpcId,
      InnerAccessPolicy: 'Accept',
      Permissions: {
        Permission:
          dir === 'egress'
            ? []
            : g.rules.map((r) => ({
                SecurityGroupRuleId: r.id,
                Direction: 'ingress',
                IpProtocol: r.IpProtocol.toUpperCase(),
                PortRange: r.PortRange,
                SourceCidrIp: r.SourceCidrIp,
                SourceGroupId: r.SourceGroupId,
                SourceGroupName: r.SourceGroupId ? (this.s.groups.get(r.SourceGroupId)?.name ?? '') : '',
                SourcePortRange: '',
                DestCidrIp: '',
                Policy: r.Policy,
                Priority: String(r.Priority),
                NicType: r.NicType,
                Description: r.Description,
                CreateTime: slbTime(r.created),
              })),
      },
    };
  }

  private deleteGroup(p: Params): Record<string, unknown> {
    this.ctx.region(p);
    const g = this.s.group(p.req('SecurityGroupId'));
    if (this.s.usersOf(g.id).length > 0) {
      throw new ApiError(
        'DependencyViolation',
        'There is still instance(s) in the specified security group.',
      );
    }
    const referrer = [...this.s.groups.values()].find(
      (o) => o.id !== g.id && o.rules.some((r) => r.SourceGroupId === g.id),
    );
    if (referrer) {
      throw new ApiError(
        'DependencyViolation',
        'The specified security group has been authorized in another one.',
      );
    }
    this.s.groups.delete(g.id);
    return {};
  }

  /** AuthorizeSecurityGroup / RevokeSecurityGroup, top-level fields or `Permissions.N.*`. */
  private authorize(p: Params, add: boolean): Record<string, unknown> {
    this.ctx.region(p);
    const g = this.s.group(p.req('SecurityGroupId'));
    const indexes = p.indexed('Permissions');
    const prefixes = indexes.length > 0 ? indexes.map((n) => `Permissions.${n}.`) : [''];
    const rules = prefixes.map((prefix) => this.parseRule(p, prefix));
    for (const rule of rules) {
      const same = (r: Rule) =>
        r.IpProtocol === rule.IpProtocol &&
        r.PortRange === rule.PortRange &&
        r.SourceCidrIp === rule.SourceCidrIp &&
        r.SourceGroupId === rule.SourceGroupId &&
        r.NicType === rule.NicType &&
        r.Policy === rule.Policy;
      if (add) {
        if (!g.rules.some(same)) {
          if (g.rules.length >= 200) {
            throw new ApiError(
              'QuotaExceed.AuthorizedGroupRule',
              'A security group holds at most 200 rules.',
            );
          }
          g.rules.push(rule);
        }
      } else {
        g.rules = g.rules.filter((r) => !same(r));
      }
    }
    return {};
  }

  private parseRule(p: Params, prefix: string): Rule {
    const get = (n: string) => p.str(`${prefix}${n}`);
    const proto = get('IpProtocol')?.toLowerCase();
    if (proto === undefined) throw missing(`${prefix}IpProtocol`);
    if (!['tcp', 'udp', 'icmp', 'gre', 'all'].includes(proto)) {
      throw new ApiError('InvalidIpProtocol.Malformed', `The specified IpProtocol "${proto}" is not valid.`);
    }
    const range = get('PortRange');
    if (range === undefined) throw missing(`${prefix}PortRange`);
    const m = /^(-?\d+)\/(-?\d+)$/.exec(range);
    const [a, b] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    const portsOk =
      proto === 'tcp' || proto === 'udp' ? a >= 1 && b <= 65535 && a <= b : a === -1 && b === -1;
    if (!portsOk) {
      throw new ApiError(
        'InvalidPortRange.Malformed',
        `The specified PortRange "${range}" is not valid for ${proto}.`,
      );
    }
    const cidr = get('SourceCidrIp') ?? '';
    const sourceGroup = get('SourceGroupId') ?? '';
    if (!cidr && !sourceGroup) throw missing(`${prefix}SourceCidrIp`);
    if (cidr && !isCidr(cidr)) {
      throw new ApiError(
        'InvalidSourceCidrIp.Malformed',
        `The specified SourceCidrIp "${cidr}" is not valid.`,
      );
    }
    if (sourceGroup && !this.s.groups.has(sourceGroup)) {
      throw new ApiError('InvalidSecurityGroupId.NotFound', 'The specified SourceGroupId does not exist.');
    }
    const policy = (get('Policy') ?? 'accept').toLowerCase();
    if (policy !== 'accept' && policy !== 'drop') throw invalid(`${prefix}Policy`);
    const priority = get('Priority') ?? '1';
    if (!/^\d+$/.test(priority) || Number(priority) < 1 || Number(priority) > 100)
      throw invalid(`${prefix}Priority`);
    const nic = (get('NicType') ?? 'internet').toLowerCase();
    if (nic !== 'internet' && nic !== 'intranet') throw invalid(`${prefix}NicType`);
    return {
      id: resourceId('sgr-', 20),
      IpProtocol: proto,
      PortRange: range,
      SourceCidrIp: cidr,
      SourceGroupId: sourceGroup,
      Policy: policy === 'accept' ? 'Accept' : 'Drop',
      Priority: Number(priority),
      NicType: sourceGroup ? 'intranet' : nic,
      Description: get('Description') ?? '',
      created: Date.now(),
    };
  }
}

export function isCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/.exec(s);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && (m[6] === undefined || Number(m[6]) <= 32);
}
