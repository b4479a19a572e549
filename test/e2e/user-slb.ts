/**
 * The user's side of an emulated SLB, through the SDK a user scripts with (@alicloud/pop-core): the
 * load balancer made beforehand with a TCP listener of its own (as a team's existing SLB has), and
 * what the console shows of it afterwards: its listeners and its backend servers.
 */
import RPCClient from '@alicloud/pop-core';
import type { AliyunEmulator } from '../emulators/aliyun/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface UserSlb {
  /** One SLB API call in the emulator's region. */
  call(action: string, params?: Json): Promise<Json>;
  /** An internet SLB named `name` with a TCP listener of its own on `port`: its id and address. */
  make(name: string, own: { port: number; description: string }): Promise<{ id: string; address: string }>;
  /** `protocol/port description` of each listener of `id`, sorted. */
  listeners(id: string): Promise<string[]>;
  /** The instance ids of the backend servers of `id`, sorted. */
  backends(id: string): Promise<string[]>;
}

export function userSlb(emu: AliyunEmulator): UserSlb {
  const client = new RPCClient({
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    endpoint: emu.endpoint,
    apiVersion: '2014-05-15',
  });
  const call = (action: string, params: Json = {}) =>
    client.request<Json>(action, { RegionId: emu.regionId, ...params }, { method: 'POST' });
  return {
    call,
    async make(name, own) {
      const made = await call('CreateLoadBalancer', { LoadBalancerName: name, AddressType: 'internet' });
      const id = made.LoadBalancerId as string;
      await call('CreateLoadBalancerTCPListener', {
        LoadBalancerId: id,
        ListenerPort: own.port,
        BackendServerPort: own.port,
        Bandwidth: -1,
        Description: own.description,
      });
      return { id, address: made.Address as string };
    },
    async listeners(id) {
      const r = await call('DescribeLoadBalancerListeners', { LoadBalancerId: [id], MaxResults: 100 });
      return (r.Listeners as Json[])
        .map((l) => `${l.ListenerProtocol}/${l.ListenerPort} ${l.Description}`)
        .sort();
    },
    async backends(id) {
      const r = await call('DescribeLoadBalancerAttribute', { LoadBalancerId: id });
      return ((r.BackendServers?.BackendServer ?? []) as Json[]).map((b) => String(b.ServerId)).sort();
    },
  };
}
