// Regional static addresses (EXTERNAL): each gets a loopback IP `<addressPrefix>N` this host can reach.
import {
  checkNew,
  deleteResource,
  insertResource,
  labelFingerprint,
  listResource,
  setLabels,
} from './crud.js';
import { GceError, inUse, invalidField, unsupported } from './errors.js';
import { newId, timestamp } from './ids.js';
import type { AddressRec, Lb } from './lb.js';
import { aggregatedResponse } from './list.js';
import type { Router } from './router.js';
import { projectPath } from './urls.js';
import { checkName } from './validate.js';

export function renderAddress(rec: AddressRec): Record<string, unknown> {
  const users = (rec.json.users as string[] | undefined) ?? [];
  return { ...rec.json, status: !rec.ready ? 'RESERVING' : users.length ? 'IN_USE' : 'RESERVED' };
}

export function registerAddresses(router: Router, lb: Lb): void {
  const { state } = lb;
  const base = '/projects/:project/regions/:region/addresses';

  router.post(base, ({ params, body }) => {
    const scope = state.regionScope(params.region);
    const r = (body ?? {}) as Record<string, unknown>;
    const name = checkName(r.name);
    checkNew(lb.addresses, scope, name);
    if ((r.addressType ?? 'EXTERNAL') !== 'EXTERNAL')
      throw unsupported(`addressType ${String(r.addressType)}`);
    if (r.purpose !== undefined || r.subnetwork !== undefined)
      throw unsupported('internal or special-purpose addresses');
    const tier = String(r.networkTier ?? 'PREMIUM');
    if (tier !== 'PREMIUM' && tier !== 'STANDARD')
      throw invalidField('resource.networkTier', tier, 'Must be PREMIUM or STANDARD.');
    // Labels "can only be added or modified by the setLabels method" (the definition): insert
    // ignores them, as the API does.
    const labels: Record<string, string> = {};
    state.quota('addresses', lb.addresses.inScope(scope).length, params.region);
    const selfLink = lb.addresses.url(scope, name);
    let ip: string | undefined;
    if (r.address !== undefined) {
      ip = lb.ips.take(selfLink, String(r.address));
      if (!ip) throw invalidField('resource.address', r.address, 'Specified IP address is not available.');
    } else {
      ip = lb.ips.take(selfLink);
      if (!ip)
        throw new GceError(
          403,
          `IP space of '${lb.ips.prefix}0/24' is exhausted.`,
          'ipSpaceExhausted',
          'usageLimits',
        );
    }
    const rec: AddressRec = {
      json: {
        kind: 'compute#address',
        id: newId(),
        creationTimestamp: timestamp(),
        name,
        ...(r.description !== undefined ? { description: String(r.description) } : {}),
        address: ip,
        addressType: 'EXTERNAL',
        networkTier: tier,
        ipVersion: 'IPV4',
        region: state.links.url(scope),
        selfLink,
        ...(Object.keys(labels).length ? { labels } : {}),
        labelFingerprint: labelFingerprint(labels),
      },
      scope,
      ready: false,
      deleting: false,
      ip,
    };
    return insertResource(state, lb.addresses, rec, { rollback: () => lb.ips.release(ip) });
  });

  router.get(base, ({ params, query }) =>
    listResource(
      state,
      lb.addresses,
      state.regionScope(params.region),
      query,
      'compute#addressList',
      renderAddress,
    ),
  );
  router.get(`${base}/:name`, ({ params }) =>
    renderAddress(lb.addresses.get(state.regionScope(params.region), params.name)),
  );
  router.delete(`${base}/:name`, ({ params }) =>
    deleteResource(state, lb.addresses, state.regionScope(params.region), params.name, {
      check: (rec) => {
        const users = (rec.json.users as string[] | undefined) ?? [];
        if (users.length)
          throw inUse(
            'address',
            lb.addresses.path(rec.scope, rec.json.name),
            projectPath(users[0], state.project) ?? users[0],
          );
      },
      commit: (rec) => lb.ips.release(rec.ip),
    }),
  );
  router.post(`${base}/:resource/setLabels`, (call) =>
    setLabels(state, lb.addresses, state.regionScope(call.params.region), call),
  );
  router.get('/projects/:project/aggregated/addresses', ({ query }) =>
    aggregatedResponse(
      state.settings.regions.map((r) => `regions/${r}`),
      (scope) => lb.addresses.inScope(scope).map(renderAddress),
      'addresses',
      query,
      'compute#addressAggregatedList',
      state.links.path('aggregated/addresses'),
      state.links.url('aggregated/addresses'),
    ),
  );
}
