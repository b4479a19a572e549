// zoneOperations / regionOperations / globalOperations: get, wait, list, delete; aggregated list.
import { aggregatedResponse, listResponse } from './list.js';
import type { Router } from './router.js';
import type { State } from './state.js';
import type { Scope } from './urls.js';

export function registerOperations(router: Router, state: State): void {
  const scopes: Array<[string, (p: Record<string, string>) => Scope]> = [
    ['/projects/:project/zones/:zone/operations', (p) => state.zoneScope(p.zone)],
    ['/projects/:project/regions/:region/operations', (p) => state.regionScope(p.region)],
    ['/projects/:project/global/operations', () => 'global'],
  ];
  for (const [base, scopeOf] of scopes) {
    router.get(base, ({ params, query }) => {
      const scope = scopeOf(params);
      return listResponse(
        state.ops.list(scope),
        query,
        'compute#operationList',
        state.links.path(`${scope}/operations`),
        state.links.url(`${scope}/operations`),
      );
    });
    router.get(`${base}/:operation`, ({ params }) => state.ops.get(scopeOf(params), params.operation));
    router.post(`${base}/:operation/wait`, ({ params }) => state.ops.wait(scopeOf(params), params.operation));
    router.delete(`${base}/:operation`, ({ params }) => {
      state.ops.delete(scopeOf(params), params.operation);
      return {};
    });
  }
  router.get('/projects/:project/aggregated/operations', ({ query }) => {
    const all = state.ops.all();
    const scopeOf = (o: { zone?: string; region?: string }) =>
      o.zone
        ? `zones/${o.zone.split('/').pop()}`
        : o.region
          ? `regions/${o.region.split('/').pop()}`
          : 'global';
    return aggregatedResponse(
      [
        'global',
        ...state.settings.regions.map((r) => `regions/${r}`),
        ...state.settings.zones.map((z) => `zones/${z}`),
      ],
      (scope) => all.filter((o) => scopeOf(o) === scope),
      'operations',
      query,
      'compute#operationAggregatedList',
      state.links.path('aggregated/operations'),
      state.links.url('aggregated/operations'),
    );
  });
}
