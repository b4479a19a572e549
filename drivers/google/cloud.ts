/** The driver's cloud for the load balancer (src/cloud/access.ts): a client and where things are. */
import type { CloudScope, GceAccess } from '../../src/cloud/access.js';
import { regionOf } from '../../src/cloud/gce/api.js';
import { connectGce } from '../../src/cloud/gce/connect.js';
import { ownerTag } from '../../src/cloud/gce/labels.js';
import type { DriverState, FlagValues } from '../../src/driver/contract.js';
import { settingsFromFlags } from './settings.js';

/** The fields of a machine's saved state (GoogleState in driver.ts) that say where it is. */
type Where = Partial<
  Record<
    'Project' | 'Zone' | 'Endpoint' | 'Network' | 'InstanceName' | 'Cluster' | 'InternalIPAddress',
    string
  >
> &
  DriverState;

export async function cloud(scope: CloudScope): Promise<GceAccess> {
  const m = scope.machine as Where | undefined;
  const flags: FlagValues = { ...scope.flags };
  if (m?.Project) flags['google-project'] = m.Project;
  if (m?.Zone) flags['google-zone'] = m.Zone;
  if (m?.Endpoint) flags['google-endpoint'] = m.Endpoint;
  if (m?.Network) flags['google-network'] = m.Network;
  const s = settingsFromFlags(flags);
  const gce = await connectGce({ project: s.project, endpoint: s.endpoint });
  return {
    provider: 'gce',
    gce,
    region: s.region,
    zone: s.zone,
    network: s.network,
    labels: s.labels,
    instanceOf: (state: DriverState) => {
      const g = state as Where;
      const name = g.InstanceName ?? g.MachineName;
      return {
        path: `zones/${g.Zone ?? s.zone}/instances/${name}`,
        tag: ownerTag(g.Cluster ? { kind: 'cluster', name: g.Cluster } : { kind: 'machine', name }),
        internalIp: g.InternalIPAddress,
      };
    },
    placeOf: (state: DriverState) => {
      const g = state as Where;
      return `project ${g.Project ?? s.project}, region ${regionOf(g.Zone ?? s.zone)}`;
    },
  };
}
