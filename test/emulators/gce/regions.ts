// Regions (with their quotas and current usage) and machine types: what a client reads to check,
// before it creates anything, that the instances it is about to make fit.
import { invalidField, notFound } from './errors.js';
import { MACHINE_TYPE_RE, machineTypeCpus, type InstancesApi } from './instances.js';
import type { Router } from './router.js';
import type { State } from './state.js';

export function registerRegions(router: Router, state: State, instances: InstancesApi): void {
  router.get('/projects/:project/regions/:region', ({ params }) => {
    const scope = state.regionScope(params.region);
    const usage = instances.usage(params.region);
    const q = state.settings.quotas;
    return {
      kind: 'compute#region',
      id: String(1000 + state.settings.regions.indexOf(params.region)),
      name: params.region,
      description: params.region,
      status: 'UP',
      zones: state.settings.zones
        .filter((z) => state.regionOf(`zones/${z}`) === params.region)
        .map((z) => state.links.url(`zones/${z}`)),
      quotas: [
        { metric: 'INSTANCES', limit: q.instances, usage: usage.instances },
        { metric: 'CPUS', limit: q.cpus, usage: usage.cpus },
        { metric: 'STATIC_ADDRESSES', limit: q.addresses, usage: 0 },
      ],
      selfLink: state.links.url(scope),
    };
  });
  router.get('/projects/:project/zones/:zone/machineTypes/:type', ({ params }) => {
    const scope = state.zoneScope(params.zone);
    if (!MACHINE_TYPE_RE.test(params.type))
      throw notFound(state.links.path(`${scope}/machineTypes/${params.type}`));
    const cpus = machineTypeCpus(params.type);
    if (cpus < 1) throw invalidField('machineType', params.type, 'Unknown machine type.');
    return {
      kind: 'compute#machineType',
      id: String(9000 + cpus),
      name: params.type,
      description: `${cpus} vCPU`,
      guestCpus: cpus,
      memoryMb: cpus * 4096,
      isSharedCpu: /^(e2-(micro|small|medium)|f1-micro|g1-small)$/.test(params.type),
      zone: params.zone,
      selfLink: state.links.url(`${scope}/machineTypes/${params.type}`),
    };
  });
}
