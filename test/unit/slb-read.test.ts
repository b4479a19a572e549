/**
 * Reading a cluster's SLB state does not trust the server's tag filter: against an API that ignores
 * `Tags`/`Tag.N` and answers every load balancer and instance of the region, only those carrying the
 * cluster's tag are taken as the cluster's.
 */
import { describe, expect, it } from 'vitest';
import { AliyunClient, type RpcTransport } from '../../src/cloud/aliyun/client.js';
import { clusterInstances, findLoadBalancers, readCurrent, type SlbScope } from '../../src/lb/slb/read.js';

/** A cluster's own SLB and group, as the SLB backend scopes them (no adopted SLB). */
const scopeOf = (cluster: string): SlbScope => ({ cluster, securityGroup: { name: `swarmup-${cluster}` } });

const tags = (cluster?: string) => ({
  Tags: { Tag: cluster ? [{ TagKey: 'swarmup-cluster', TagValue: cluster }] : [] },
});

/** Every load balancer and instance of the region, whatever the filter asked for. */
const LBS = [
  { LoadBalancerId: 'lb-other', CreateTimeStamp: 1, ...tags('other') },
  { LoadBalancerId: 'lb-untagged', CreateTimeStamp: 2, ...tags() },
  { LoadBalancerId: 'lb-mine', CreateTimeStamp: 3, ...tags('mine') },
];
const INSTANCES = [
  { InstanceId: 'i-other', InstanceName: 'other-1', Status: 'Running', ...tags('other') },
  { InstanceId: 'i-mine', InstanceName: 'mine-1', Status: 'Running', ...tags('mine') },
  { InstanceId: 'i-none', InstanceName: 'none', Status: 'Running', ...tags() },
];

function filterBlindApi(): { client: AliyunClient; asked: string[] } {
  const asked: string[] = [];
  const t: RpcTransport = {
    async request<T>(action: string, params: object): Promise<T> {
      asked.push(action);
      const p = params as Record<string, unknown>;
      const answers: Record<string, unknown> = {
        DescribeLoadBalancers: { LoadBalancers: { LoadBalancer: LBS }, TotalCount: LBS.length },
        DescribeLoadBalancerAttribute: { ...LBS.find((l) => l.LoadBalancerId === p.LoadBalancerId) },
        DescribeLoadBalancerListeners: { Listeners: [] },
        DescribeSecurityGroups: { SecurityGroups: { SecurityGroup: [] } },
        DescribeInstances: { Instances: { Instance: INSTANCES } },
      };
      if (!(action in answers)) throw new Error(`unexpected ${action}`);
      return answers[action] as T;
    },
  };
  const client = new AliyunClient(
    { regionId: 'cn-hangzhou' },
    { accessKeyId: 'id', accessKeySecret: 'secret' },
    { ecs: t, slb: t },
  );
  return { client, asked };
}

describe('SLB state of a cluster, from an API that ignores the tag filter', () => {
  it("takes only the load balancer tagged with the cluster as the cluster's", async () => {
    const { client } = filterBlindApi();
    const found = await findLoadBalancers(client, scopeOf('mine'));
    expect(found.used?.info.id).toBe('lb-mine');
    expect(found.stale).toEqual([]);
    const current = await readCurrent(client, scopeOf('mine'));
    expect(current.lb?.id).toBe('lb-mine');
    expect(current.stale).toEqual([]);
  });

  it('finds nothing for a cluster no load balancer is tagged with', async () => {
    const { client } = filterBlindApi();
    expect(await findLoadBalancers(client, scopeOf('absent'))).toEqual({ stale: [] });
  });

  it("takes only the instances tagged with the cluster as the cluster's backends", async () => {
    const { client } = filterBlindApi();
    expect((await clusterInstances(client, 'mine')).map((i) => i.id)).toEqual(['i-mine']);
  });
});
