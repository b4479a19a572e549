// Target pools: a set of instances (same region) and at most one legacy HTTP health check.
import { checkNew, deleteResource, insertResource, listResource } from './crud.js';
import { inUse, invalidField, notFound, unsupported } from './errors.js';
import { newId, timestamp } from './ids.js';
import { instanceHealthy, projectLink, sameRef, type Lb } from './lb.js';
import { aggregatedResponse } from './list.js';
import type { Router } from './router.js';
import type { Stored } from './state.js';
import { projectPath, type Scope } from './urls.js';
import { checkName } from './validate.js';

const AFFINITIES = ['NONE', 'CLIENT_IP', 'CLIENT_IP_PROTO'];

/** Instance references → full URLs; each must exist in this region. */
function resolveInstances(lb: Lb, scope: Scope, list: unknown, field: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidField(field, '', 'Must be a list.');
  if (list.length > 1000) throw invalidField(field, '', 'At most 1000 instances per call.');
  return list.map((ref: unknown, i) => {
    const p = typeof ref === 'string' ? projectPath(ref, lb.state.project) : undefined;
    if (!p || !/^projects\/[^/]+\/zones\/[^/]+\/instances\/[^/]+$/.test(p))
      throw invalidField(`${field}[${i}]`, ref, 'The URL is malformed.');
    const inst = lb.instances.find(p);
    if (!inst || inst.deleting) throw notFound(p);
    if (lb.state.regionOf(inst.scope) !== lb.state.regionOf(scope))
      throw invalidField(`${field}[${i}]`, ref, `Instance must be in region '${lb.state.regionOf(scope)}'.`);
    return inst.json.selfLink;
  });
}

function resolveHealthChecks(lb: Lb, list: unknown, field: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidField(field, '', 'Must be a list.');
  if (list.length > 1) throw invalidField(field, '', 'A target pool can have at most one health check.');
  return list.map(
    (ref: unknown, i) => lb.healthChecks.resolve(ref, `${field}[${i}]`, lb.state.project).json.selfLink,
  );
}

const listed = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

export function registerTargetPools(router: Router, lb: Lb): void {
  const { state } = lb;
  const base = '/projects/:project/regions/:region/targetPools';

  /** A membership change applied when its operation is DONE. */
  const change = (
    region: string,
    name: string,
    type: string,
    field: 'instances' | 'healthChecks',
    compute: (pool: Stored) => string[],
  ) => {
    const scope = state.regionScope(region);
    const pool = lb.targetPools.mutable(scope, name);
    const next = compute(pool);
    return state.operation(scope, type, pool, {
      commit: () => {
        if (next.length) pool.json[field] = next;
        else delete pool.json[field];
      },
    });
  };

  router.post(base, ({ params, body }) => {
    const scope = state.regionScope(params.region);
    const r = (body ?? {}) as Record<string, unknown>;
    const name = checkName(r.name);
    checkNew(lb.targetPools, scope, name);
    if (r.backupPool !== undefined || r.failoverRatio !== undefined)
      throw unsupported('backup pools / failover');
    if (r.securityPolicy !== undefined) throw unsupported('security policies');
    const sessionAffinity = String(r.sessionAffinity ?? 'NONE');
    if (!AFFINITIES.includes(sessionAffinity))
      throw invalidField(
        'resource.sessionAffinity',
        sessionAffinity,
        `Must be one of ${AFFINITIES.join(', ')}.`,
      );
    const healthChecks = resolveHealthChecks(lb, r.healthChecks, 'resource.healthChecks');
    const instances = [...new Set(resolveInstances(lb, scope, r.instances, 'resource.instances'))];
    return insertResource(state, lb.targetPools, {
      json: {
        kind: 'compute#targetPool',
        id: newId(),
        creationTimestamp: timestamp(),
        name,
        ...(r.description !== undefined ? { description: String(r.description) } : {}),
        region: state.links.url(scope),
        ...(healthChecks.length ? { healthChecks } : {}),
        ...(instances.length ? { instances } : {}),
        sessionAffinity,
        selfLink: lb.targetPools.url(scope, name),
      },
      scope,
      ready: false,
      deleting: false,
    });
  });

  router.get(base, ({ params, query }) =>
    listResource(state, lb.targetPools, state.regionScope(params.region), query, 'compute#targetPoolList'),
  );
  router.get(
    `${base}/:name`,
    ({ params }) => lb.targetPools.get(state.regionScope(params.region), params.name).json,
  );

  router.delete(`${base}/:name`, ({ params }) =>
    deleteResource(state, lb.targetPools, state.regionScope(params.region), params.name, {
      check: (pool) => {
        const rule = lb.rules.all().find((r) => sameRef(state, r.json.target, pool.json.selfLink));
        if (rule)
          throw inUse(
            'target_pool',
            lb.targetPools.path(pool.scope, pool.json.name),
            lb.rules.path(rule.scope, rule.json.name),
          );
      },
    }),
  );

  router.post(`${base}/:name/addInstance`, ({ params, body }) =>
    change(params.region, params.name, 'addInstance', 'instances', (pool) => {
      const refs = ((body ?? {}).instances ?? []) as Array<{ instance?: unknown }>;
      const add = resolveInstances(
        lb,
        pool.scope,
        refs.map((x) => x?.instance),
        'instances',
      );
      return [...new Set([...listed(pool.json.instances), ...add])];
    }),
  );
  router.post(`${base}/:name/removeInstance`, ({ params, body }) =>
    change(params.region, params.name, 'removeInstance', 'instances', (pool) => {
      const refs = ((body ?? {}).instances ?? []) as Array<{ instance?: unknown }>;
      return listed(pool.json.instances).filter((cur) => !refs.some((x) => sameRef(state, x?.instance, cur)));
    }),
  );
  router.post(`${base}/:name/addHealthCheck`, ({ params, body }) =>
    change(params.region, params.name, 'addHealthCheck', 'healthChecks', (pool) => {
      const refs = ((body ?? {}).healthChecks ?? []) as Array<{ healthCheck?: unknown }>;
      const add = resolveHealthChecks(
        lb,
        refs.map((x) => x?.healthCheck),
        'healthChecks',
      );
      const next = [...new Set([...listed(pool.json.healthChecks), ...add])];
      if (next.length > 1)
        throw invalidField('healthChecks', '', 'A target pool can have at most one health check.');
      return next;
    }),
  );
  router.post(`${base}/:name/removeHealthCheck`, ({ params, body }) =>
    change(params.region, params.name, 'removeHealthCheck', 'healthChecks', (pool) => {
      const refs = ((body ?? {}).healthChecks ?? []) as Array<{ healthCheck?: unknown }>;
      return listed(pool.json.healthChecks).filter(
        (cur) => !refs.some((x) => sameRef(state, x?.healthCheck, cur)),
      );
    }),
  );

  // getHealth: a read (POST only because it takes a body).
  router.post(`${base}/:name/getHealth`, ({ params, body }) => {
    const scope = state.regionScope(params.region);
    const pool = lb.targetPools.get(scope, params.name);
    const ref = (body ?? {}).instance;
    if (!listed(pool.json.instances).some((i) => sameRef(state, i, ref)))
      throw invalidField('resource.instance', ref, 'The instance is not a member of the target pool.');
    const inst = lb.instances.find(String(ref));
    const rule = lb.rules.all().find((r) => sameRef(state, r.json.target, pool.json.selfLink));
    const hc = listed(pool.json.healthChecks)[0];
    return {
      kind: 'compute#targetPoolInstanceHealth',
      healthStatus: [
        {
          instance: projectLink(lb, String(ref)),
          ...(rule ? { ipAddress: rule.ip } : {}),
          ...(hc
            ? {
                port: Number(
                  lb.healthChecks.all().find((h) => sameRef(state, h.json.selfLink, hc))?.json.port ?? 80,
                ),
              }
            : {}),
          healthState: inst && instanceHealthy(lb, pool, inst) ? 'HEALTHY' : 'UNHEALTHY',
        },
      ],
    };
  });

  router.get('/projects/:project/aggregated/targetPools', ({ query }) =>
    aggregatedResponse(
      state.settings.regions.map((r) => `regions/${r}`),
      (scope) => lb.targetPools.inScope(scope).map((p) => p.json),
      'targetPools',
      query,
      'compute#targetPoolAggregatedList',
      state.links.path('aggregated/targetPools'),
      state.links.url('aggregated/targetPools'),
    ),
  );
}
