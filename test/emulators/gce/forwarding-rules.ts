// Regional forwarding rules to target pools (network load balancing). TCP rules carry traffic: the
// emulator listens on the rule's loopback IP for every port of its range (at most `maxPortRange`
// ports; wider ranges are refused with a 400 that says so). UDP rules are stored but not served.
import { checkNew, labelFingerprint, listResource, setLabels } from './crud.js';
import { invalidField, notReady, OperationError, unsupported } from './errors.js';
import { newId, timestamp } from './ids.js';
import { ruleBackends, type AddressRec, type Lb, type RuleRec } from './lb.js';
import { aggregatedResponse } from './list.js';
import type { Router } from './router.js';
import { parseRef, type Scope } from './urls.js';
import { checkName, parsePortRange } from './validate.js';

const PROTOCOLS = ['TCP', 'UDP'];

export function renderRule(rec: RuleRec): Record<string, unknown> {
  return { ...rec.json, IPAddress: rec.ip };
}

/** IPAddress may be an IP, an address URL, or absent (ephemeral). */
function resolveAddress(lb: Lb, scope: Scope, value: unknown): AddressRec | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const s = String(value);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const a = lb.addresses.inScope(scope).find((x) => x.ip === s);
    if (!a)
      throw invalidField(
        'resource.IPAddress',
        s,
        'Specified IP address is not reserved in this project and region.',
      );
    if (!a.ready || a.deleting) throw notReady(lb.addresses.path(a.scope, a.json.name));
    return a;
  }
  const ref = parseRef(s, 'addresses', lb.state.project);
  if (!ref || ref.scope !== scope)
    throw invalidField('resource.IPAddress', s, 'Must be an IP address or an address of the same region.');
  return lb.addresses.resolve(s, 'resource.IPAddress', lb.state.project);
}

export function registerForwardingRules(router: Router, lb: Lb): void {
  const { state } = lb;
  const base = '/projects/:project/regions/:region/forwardingRules';

  const listen = async (rec: RuleRec) => {
    if (rec.protocol !== 'TCP') return;
    try {
      await lb.dataplane.open(rec.json.selfLink, rec.ip, rec.ports, () => ruleBackends(lb, rec));
    } catch (err) {
      throw new OperationError(
        'INTERNAL_ERROR',
        `GCE emulator: cannot listen on ${rec.ip}:${rec.ports.join('-')}: ${(err as Error).message}`,
        500,
      );
    }
  };

  const setUsers = (a: AddressRec | undefined, link: string, add: boolean) => {
    if (!a) return;
    const users = ((a.json.users as string[] | undefined) ?? []).filter((u) => u !== link);
    if (add) users.push(link);
    if (users.length) a.json.users = users;
    else delete a.json.users;
  };

  router.post(base, ({ params, body }) => {
    const scope = state.regionScope(params.region);
    const r = (body ?? {}) as Record<string, unknown>;
    const name = checkName(r.name);
    checkNew(lb.rules, scope, name);
    if (r.backendService !== undefined) throw unsupported('backend-service forwarding rules');
    if ((r.loadBalancingScheme ?? 'EXTERNAL') !== 'EXTERNAL')
      throw unsupported(`loadBalancingScheme ${String(r.loadBalancingScheme)}`);
    if (r.allPorts) throw unsupported('allPorts forwarding rules');
    if (Array.isArray(r.ports) && r.ports.length)
      throw invalidField(
        'resource.ports',
        '',
        'ports can only be specified for backend-service forwarding rules; use portRange.',
      );
    const protocol = String(r.IPProtocol ?? 'TCP').toUpperCase();
    if (!PROTOCOLS.includes(protocol)) throw unsupported(`IPProtocol ${protocol}`);
    if (!r.target) throw invalidField('resource.target', '', 'A target pool must be specified.');
    const targetRef = parseRef(r.target, 'targetPools', state.project);
    if (!targetRef) throw unsupported(`targets other than target pools (${String(r.target)})`);
    if (targetRef.scope !== scope)
      throw invalidField('resource.target', r.target, 'The target pool must be in the same region.');
    const pool = lb.targetPools.resolve(r.target, 'resource.target', state.project);
    const spec = r.portRange === undefined || r.portRange === '' ? '1-65535' : String(r.portRange);
    const ports = parsePortRange(spec);
    if (!ports) throw invalidField('resource.portRange', r.portRange, 'Invalid port range.');
    const width = ports[1] - ports[0] + 1;
    if (width > state.settings.maxPortRange)
      throw invalidField(
        'resource.portRange',
        spec,
        `GCE emulator: a forwarding rule may span at most ${state.settings.maxPortRange} ports (got ${width}).`,
      );
    // Labels "can only be added or modified by the setLabels method" (the definition): insert
    // ignores them, as the API does.
    const labels: Record<string, string> = {};
    const address = resolveAddress(lb, scope, r.IPAddress);
    const ip = address?.ip;
    if (ip) {
      const clash = lb.rules
        .all()
        .find(
          (o) =>
            !o.deleting &&
            o.ip === ip &&
            o.protocol === protocol &&
            o.ports[0] <= ports[1] &&
            ports[0] <= o.ports[1],
        );
      if (clash)
        throw invalidField(
          'resource.portRange',
          spec,
          `Port range ${ports.join('-')} overlaps with forwarding rule '${lb.rules.path(clash.scope, clash.json.name)}' on ${ip}.`,
        );
    }
    state.quota('forwardingRules', lb.rules.size, 'global');
    const selfLink = lb.rules.url(scope, name);
    const ruleIp = ip ?? lb.ips.take(selfLink);
    if (!ruleIp) throw invalidField('resource.IPAddress', '', 'No ephemeral address left.');
    const rec: RuleRec = {
      json: {
        kind: 'compute#forwardingRule',
        id: newId(),
        creationTimestamp: timestamp(),
        name,
        ...(r.description !== undefined ? { description: String(r.description) } : {}),
        region: state.links.url(scope),
        IPProtocol: protocol,
        portRange: `${ports[0]}-${ports[1]}`,
        target: pool.json.selfLink,
        selfLink,
        loadBalancingScheme: 'EXTERNAL',
        networkTier: String(r.networkTier ?? address?.json.networkTier ?? 'PREMIUM'),
        ...(Object.keys(labels).length ? { labels } : {}),
        labelFingerprint: labelFingerprint(labels),
        fingerprint: labelFingerprint({ name, at: Date.now().toString() }),
      },
      scope,
      ready: false,
      deleting: false,
      ip: ruleIp,
      ephemeral: !address,
      ports,
      protocol,
      ...(address ? { address } : {}),
    };
    lb.rules.add(rec);
    setUsers(address, selfLink, true);
    return state.operation(scope, 'insert', rec, {
      run: () => listen(rec),
      commit: () => {
        rec.ready = true;
      },
      rollback: async () => {
        lb.rules.remove(rec);
        setUsers(address, selfLink, false);
        await lb.dataplane.close(selfLink);
        if (rec.ephemeral) lb.ips.release(rec.ip);
      },
    });
  });

  router.get(base, ({ params, query }) =>
    listResource(
      state,
      lb.rules,
      state.regionScope(params.region),
      query,
      'compute#forwardingRuleList',
      renderRule,
    ),
  );
  router.get(`${base}/:name`, ({ params }) =>
    renderRule(lb.rules.get(state.regionScope(params.region), params.name)),
  );

  router.delete(`${base}/:name`, ({ params }) => {
    const scope = state.regionScope(params.region);
    const rec = lb.rules.get(scope, params.name);
    if (!rec.ready || rec.deleting) throw notReady(lb.rules.path(scope, params.name));
    rec.deleting = true;
    return state.operation(scope, 'delete', rec, {
      run: () => lb.dataplane.close(rec.json.selfLink),
      commit: () => {
        lb.rules.remove(rec);
        setUsers(rec.address, rec.json.selfLink, false);
        if (rec.ephemeral) lb.ips.release(rec.ip);
      },
      rollback: async () => {
        rec.deleting = false;
        await listen(rec).catch(() => undefined);
      },
    });
  });

  router.post(`${base}/:name/setTarget`, ({ params, body }) => {
    const scope = state.regionScope(params.region);
    const rec = lb.rules.mutable(scope, params.name);
    const ref = parseRef((body ?? {}).target, 'targetPools', state.project);
    if (!ref) throw unsupported(`targets other than target pools (${String((body ?? {}).target)})`);
    if (ref.scope !== scope)
      throw invalidField('target', (body ?? {}).target, 'The target pool must be in the same region.');
    const pool = lb.targetPools.resolve((body ?? {}).target, 'target', state.project);
    return state.operation(scope, 'setTarget', rec, {
      commit: () => {
        rec.json.target = pool.json.selfLink;
      },
    });
  });

  router.post(`${base}/:resource/setLabels`, (call) =>
    setLabels(state, lb.rules, state.regionScope(call.params.region), call),
  );

  router.get('/projects/:project/aggregated/forwardingRules', ({ query }) =>
    aggregatedResponse(
      state.settings.regions.map((r) => `regions/${r}`),
      (scope) => lb.rules.inScope(scope).map(renderRule),
      'forwardingRules',
      query,
      'compute#forwardingRuleAggregatedList',
      state.links.path('aggregated/forwardingRules'),
      state.links.url('aggregated/forwardingRules'),
    ),
  );
}
