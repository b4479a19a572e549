// Legacy global HTTP health checks (`global/httpHealthChecks`): REST only, the Node library has no
// client for them. Bodies are checked field by field like the API (unknown names are refused by
// strict.ts, from the API's definition).
import { checkNew, deleteResource, insertResource, listResource } from './crud.js';
import { inUse, invalidField } from './errors.js';
import { newId, timestamp } from './ids.js';
import { sameRef, type Lb } from './lb.js';
import type { Router } from './router.js';
import type { Stored } from './state.js';
import { checkInt, checkName } from './validate.js';

function build(lb: Lb, r: Record<string, unknown>, prev?: Stored): Stored['json'] {
  const name = checkName(r.name);
  const requestPath = String(r.requestPath ?? '/');
  if (!requestPath.startsWith('/'))
    throw invalidField('resource.requestPath', requestPath, "Must start with '/'.");
  const port = checkInt(r.port, 'resource.port', 1, 65535, 80);
  const checkIntervalSec = checkInt(r.checkIntervalSec, 'resource.checkIntervalSec', 1, 300, 5);
  const timeoutSec = checkInt(r.timeoutSec, 'resource.timeoutSec', 1, 300, 5);
  if (timeoutSec > checkIntervalSec)
    throw invalidField('resource.timeoutSec', timeoutSec, 'timeoutSec should be less than checkIntervalSec.');
  return {
    kind: 'compute#httpHealthCheck',
    id: prev?.json.id ?? newId(),
    creationTimestamp: (prev?.json.creationTimestamp as string | undefined) ?? timestamp(),
    name,
    ...(r.description !== undefined ? { description: String(r.description) } : {}),
    ...(r.host ? { host: String(r.host) } : {}),
    requestPath,
    port,
    checkIntervalSec,
    timeoutSec,
    unhealthyThreshold: checkInt(r.unhealthyThreshold, 'resource.unhealthyThreshold', 1, 10, 2),
    healthyThreshold: checkInt(r.healthyThreshold, 'resource.healthyThreshold', 1, 10, 2),
    selfLink: lb.healthChecks.url('global', name),
  };
}

export function registerHealthChecks(router: Router, lb: Lb): void {
  const { state } = lb;
  const base = '/projects/:project/global/httpHealthChecks';

  const change = (name: string, body: Record<string, unknown> | undefined, patch: boolean) => {
    const rec = lb.healthChecks.mutable('global', name);
    const r = body ?? {};
    if (r.name !== undefined && r.name !== name)
      throw invalidField('resource.name', r.name, 'The name of a health check cannot be changed.');
    const base: Record<string, unknown> = patch ? { ...rec.json } : {};
    const next = build(lb, { ...base, ...r, name }, rec);
    return state.operation('global', patch ? 'patch' : 'update', rec, { commit: () => (rec.json = next) });
  };

  router.post(base, ({ body }) => {
    const json = build(lb, body ?? {});
    checkNew(lb.healthChecks, 'global', json.name);
    return insertResource(
      state,
      lb.healthChecks,
      { json, scope: 'global', ready: false, deleting: false },
      {
        commit: () => lb.health.watch(json.selfLink),
      },
    );
  });
  router.get(base, ({ query }) =>
    listResource(state, lb.healthChecks, 'global', query, 'compute#httpHealthCheckList'),
  );
  router.get(`${base}/:name`, ({ params }) => lb.healthChecks.get('global', params.name).json);
  router.patch(`${base}/:name`, ({ params, body }) => change(params.name, body, true));
  router.put(`${base}/:name`, ({ params, body }) => change(params.name, body, false));
  router.delete(`${base}/:name`, ({ params }) =>
    deleteResource(state, lb.healthChecks, 'global', params.name, {
      check: (rec) => {
        const pool = lb.targetPools
          .all()
          .find((p) =>
            ((p.json.healthChecks as string[] | undefined) ?? []).some((h) =>
              sameRef(state, h, rec.json.selfLink),
            ),
          );
        if (pool)
          throw inUse(
            'http_health_check',
            lb.healthChecks.path('global', rec.json.name),
            lb.targetPools.path(pool.scope, pool.json.name),
          );
      },
      commit: (rec) => lb.health.unwatch(rec.json.selfLink),
    }),
  );
}
