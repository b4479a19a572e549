/** The driver's cloud for the load balancer (src/cloud/access.ts): a client and where things are. */
import type { AliyunAccess, CloudScope } from '../../src/cloud/access.js';
import { aliyunClient, requireCredentials } from '../../src/cloud/aliyun/client.js';
import type { DriverState, FlagValues } from '../../src/driver/contract.js';
import { lbSettingsFrom, securityGroupName, targetFrom } from './settings.js';

/** The fields of a machine's saved state (AliyunState in driver.ts) that say where it is. */
type Where = Partial<
  Record<
    'RegionId' | 'Endpoint' | 'InstanceId' | 'InstanceName' | 'InternalIPAddress' | 'SecurityGroupName',
    string
  >
> &
  DriverState;

export async function cloud(scope: CloudScope): Promise<AliyunAccess> {
  const m = scope.machine as Where | undefined;
  const flags: FlagValues = { ...scope.flags };
  if (m?.RegionId) flags['aliyunecs-region'] = m.RegionId;
  if (m?.Endpoint) flags['aliyunecs-api-endpoint'] = m.Endpoint;
  const client = await aliyunClient(targetFrom(flags), requireCredentials(flags));
  const s = lbSettingsFrom(flags);
  const owner = scope.cluster ?? m?.MachineName ?? '';
  return {
    provider: 'aliyun',
    client,
    slbId: s.slbId,
    securityGroup: {
      name: m?.SecurityGroupName ?? securityGroupName(s, scope.cluster, owner),
      vpcId: s.vpcId,
    },
    tags: s.tags,
    instanceOf: (state: DriverState) => {
      const a = state as Where;
      return {
        id: a.InstanceId,
        name: a.InstanceName ?? a.MachineName,
        privateIp: a.InternalIPAddress,
        securityGroup: a.SecurityGroupName,
      };
    },
    placeOf: (state: DriverState) => `region ${(state as Where).RegionId ?? client.regionId}`,
  };
}
