/**
 * Diff the cluster's load balancer against what the swarm asks for, as a plan of steps that each
 * know how to apply themselves through an `LbBackend`, in the safe order: health service → address →
 * firewall → health check → target pool → forwarding rules; deletes in reverse. Pure but for `applyLb`.
 */
import { mapBounded } from '../../util/async.js';
import { diffByKey, diffSteps, orderSteps, type Plan, type PlanSkip, type PlanStep } from '../plan.js';
import type {
  CurrentLb,
  DesiredLb,
  FirewallRuleCur,
  FirewallRuleSpec,
  HealthCheckSpec,
  LbBackend,
  LbProtocol,
  RuleCur,
  RuleSpec,
} from './model.js';
import { layoutRanges, rangeText } from './ranges.js';

export const KINDS = [
  'swarm-service',
  'address',
  'firewall',
  'health-check',
  'target-pool',
  'forwarding-rule',
] as const;

/** What applying needs besides the backend: the address's IP once it exists. */
interface ApplyState {
  ip?: string;
}

export interface Action {
  step: PlanStep;
  run: (b: LbBackend, st: ApplyState) => Promise<void>;
}

export interface LbPlan extends Plan {
  actions: Action[];
}

const sorted = (a: readonly string[] | undefined) => [...(a ?? [])].sort();
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function allowedText(allowed: FirewallRuleSpec['allowed']): string {
  return allowed.map((a) => `${a.IPProtocol}:${a.ports.join(',')}`).join(' ');
}

export function firewallEqual(want: FirewallRuleSpec, have: FirewallRuleCur): boolean {
  const norm = (f: FirewallRuleSpec) => ({
    allowed: f.allowed
      .map((a) => ({ p: a.IPProtocol.toLowerCase(), ports: sorted(a.ports) }))
      .sort((x, y) => x.p.localeCompare(y.p)),
    src: sorted(f.sourceRanges),
    tags: sorted(f.targetTags),
    network: f.network.replace(/^.*?(global\/networks\/)/, '$1'),
    description: f.description,
  });
  return !have.disabled && same(norm(want), norm(have));
}

export const healthCheckEqual = (a: HealthCheckSpec, b: HealthCheckSpec) =>
  a.port === b.port &&
  a.requestPath === b.requestPath &&
  a.checkIntervalSec === b.checkIntervalSec &&
  a.timeoutSec === b.timeoutSec &&
  a.healthyThreshold === b.healthyThreshold &&
  a.unhealthyThreshold === b.unhealthyThreshold &&
  a.description === b.description;

const ruleKey = (protocol: string, r: readonly [number, number]) => `${protocol}/${rangeText(r)}`;

export function planLb(
  desired: DesiredLb,
  current: CurrentLb,
  o: { region: string; portServices?: Map<string, string[]>; skipped?: PlanSkip[] } = { region: '' },
): LbPlan {
  const actions: Action[] = [];
  const add = (steps: PlanStep[], run: (s: PlanStep) => Action['run']) => {
    for (const s of steps) actions.push({ step: s, run: run(s) });
  };

  // Health service (swarm side).
  const hs = desired.healthService;
  const hsCur = current.healthService;
  if (hs && (!hsCur || hsCur.image !== hs.image || hsCur.port !== hs.port)) {
    add(
      [
        {
          op: hsCur ? 'update' : 'create',
          kind: 'swarm-service',
          name: hs.name,
          detail: `global, ${hs.image}, answers HTTP on every node at :${hs.port}`,
        },
      ],
      () => (b) => b.ensureHealthService(hs, hsCur),
    );
  } else if (!hs && hsCur) {
    add(
      [{ op: 'delete', kind: 'swarm-service', name: hsCur.name, detail: '' }],
      () => (b) => b.removeHealthService(hsCur),
    );
  }

  // Address.
  const addr = desired.address;
  if (addr && !current.address) {
    add(
      [{ op: 'create', kind: 'address', name: addr.name, detail: `(reserved external IP in ${o.region})` }],
      () => async (b, st) => {
        st.ip = await b.createAddress(addr);
      },
    );
  } else if (!addr && current.address) {
    const n = current.address.name;
    add(
      [{ op: 'delete', kind: 'address', name: n, detail: current.address.ip }],
      () => (b) => b.deleteAddress(n),
    );
  }

  // Firewall rules.
  const fw = diffByKey(desired.firewalls, current.firewalls, (f) => f.name, firewallEqual);
  const fwDescribe = {
    kind: 'firewall',
    name: (f: FirewallRuleSpec) => f.name,
    create: (f: FirewallRuleSpec) => `allow ${allowedText(f.allowed)} from ${f.sourceRanges.join(',')}`,
    update: (_: FirewallRuleSpec, t: FirewallRuleSpec) =>
      `allow ${allowedText(t.allowed)} from ${t.sourceRanges.join(',')}`,
    delete: () => '',
  };
  for (const s of diffSteps(fw, fwDescribe)) {
    const f = s.op === 'delete' ? undefined : desired.firewalls.find((x) => x.name === s.name);
    add(
      [s],
      () => (b) =>
        s.op === 'delete'
          ? b.deleteFirewall(s.name)
          : s.op === 'create'
            ? b.createFirewall(f!)
            : b.patchFirewall(f!),
    );
  }

  // Health check.
  const hc = desired.healthCheck;
  const hcCur = current.healthCheck;
  const hcText = (h: HealthCheckSpec) => `HTTP :${h.port}${h.requestPath} every ${h.checkIntervalSec} s`;
  if (hc && !hcCur)
    add(
      [{ op: 'create', kind: 'health-check', name: hc.name, detail: hcText(hc) }],
      () => (b) => b.createHealthCheck(hc),
    );
  else if (hc && hcCur && !healthCheckEqual(hc, hcCur)) {
    add(
      [{ op: 'update', kind: 'health-check', name: hc.name, detail: hcText(hc) }],
      () => (b) => b.patchHealthCheck(hc),
    );
  } else if (!hc && hcCur) {
    add(
      [{ op: 'delete', kind: 'health-check', name: hcCur.name, detail: '' }],
      () => (b) => b.deleteHealthCheck(hcCur.name),
    );
  }

  // Target pool.
  const pool = desired.pool;
  const poolCur = current.pool;
  if (pool && !poolCur) {
    add(
      [
        {
          op: 'create',
          kind: 'target-pool',
          name: pool.name,
          detail: `→ ${pool.instances.length} instance(s), health check ${pool.healthCheck.replace(/^.*\//, '')}`,
        },
      ],
      () => (b) => b.createPool(pool),
    );
  } else if (pool && poolCur) {
    const have = new Set(poolCur.instances);
    const want = new Set(pool.instances);
    const plus = pool.instances.filter((i) => !have.has(i));
    const minus = poolCur.instances.filter((i) => !want.has(i));
    const hcs = poolCur.healthChecks;
    const hcWrong = hcs.length !== 1 || hcs[0] !== pool.healthCheck;
    if (plus.length || minus.length || hcWrong) {
      const short = (i: string) => i.replace(/^.*\//, '');
      const detail = [
        ...plus.map((i) => `+${short(i)}`),
        ...minus.map((i) => `-${short(i)}`),
        ...(hcWrong ? [`health check ${pool.healthCheck.replace(/^.*\//, '')}`] : []),
      ].join(' ');
      add([{ op: 'update', kind: 'target-pool', name: pool.name, detail }], () => async (b) => {
        if (minus.length) await b.removeInstances(pool.name, minus);
        if (plus.length) await b.addInstances(pool.name, plus);
        if (hcWrong) {
          for (const h of hcs) if (h !== pool.healthCheck) await b.removePoolHealthCheck(pool.name, h);
          if (!hcs.includes(pool.healthCheck)) await b.addPoolHealthCheck(pool.name, pool.healthCheck);
        }
      });
    }
  } else if (!pool && poolCur) {
    add(
      [{ op: 'delete', kind: 'target-pool', name: poolCur.name, detail: '' }],
      () => (b) => b.deletePool(poolCur.name),
    );
  }

  // Forwarding rules: stable ranges per protocol on the address, to the pool.
  const poolTarget = pool ? `regions/${o.region}/targetPools/${pool.name}` : undefined;
  const ip = current.address?.ip;
  for (const protocol of ['tcp', 'udp'] as LbProtocol[]) {
    const cur = current.rules.filter((r) => r.protocol === protocol);
    const wanted = addr && pool ? desired.ports[protocol] : [];
    const layout = layoutRanges(
      wanted,
      cur,
      (r: RuleCur) => r.range,
      (r: RuleCur) => r.target === poolTarget && ip !== undefined && r.ip === ip,
    );
    for (const r of layout.remove) {
      add(
        [
          {
            op: 'delete',
            kind: 'forwarding-rule',
            name: r.name,
            detail: `${protocol} ${rangeText(r.range)}`,
          },
        ],
        () => (b) => b.deleteRule(r.name),
      );
    }
    for (const range of layout.add) {
      const spec: RuleSpec = {
        name: desired.ruleName(protocol, range),
        description: desired.ruleDescription,
        protocol,
        range,
        labels: desired.ruleLabels,
        pool: pool!.name,
      };
      const services = new Set<string>();
      for (let p = range[0]; p <= range[1]; p++)
        for (const s of o.portServices?.get(`${protocol}/${p}`) ?? []) services.add(s);
      const svc = services.size
        ? ` (${[...services].sort().slice(0, 5).join(', ')}${services.size > 5 ? ', …' : ''})`
        : '';
      add(
        [
          {
            op: 'create',
            kind: 'forwarding-rule',
            name: spec.name,
            detail: `${ruleKey(protocol, range)} → ${pool!.name}${svc}`,
          },
        ],
        () => (b, st) => {
          if (!st.ip) throw new Error(`forwarding rule ${spec.name}: the load balancer has no address`);
          return b.createRule(spec, st.ip);
        },
      );
    }
  }

  const byStep = new Map(actions.map((a) => [a.step, a]));
  const ordered = orderSteps(
    actions.map((a) => a.step),
    KINDS,
  ).map((s) => byStep.get(s)!);
  return { steps: ordered.map((a) => a.step), skipped: o.skipped ?? [], actions: ordered };
}

/**
 * Run the actions in plan order; neighbours of one op and kind (e.g. 40 rule creates) run in
 * parallel, at most `parallel` at once.
 */
export async function applyLb(
  plan: LbPlan,
  backend: LbBackend,
  current: CurrentLb,
  o: { parallel?: number; log?: (m: string) => void } = {},
): Promise<void> {
  const st: ApplyState = { ip: current.address?.ip };
  const groups: Action[][] = [];
  for (const a of plan.actions) {
    const g = groups[groups.length - 1];
    if (g && g[0].step.op === a.step.op && g[0].step.kind === a.step.kind && a.step.kind !== 'address')
      g.push(a);
    else groups.push([a]);
  }
  for (const g of groups) {
    await mapBounded(g, o.parallel ?? 8, async (a) => {
      o.log?.(
        `${a.step.op === 'create' ? 'Creating' : a.step.op === 'update' ? 'Updating' : 'Deleting'} ${a.step.kind} ${a.step.name}...`,
      );
      await a.run(backend, st);
    });
  }
}
