/**
 * Generic plan/diff for load balancers: pure, shared by the local haproxy backend and the cloud load
 * balancers. A backend reads its current resources, computes the desired ones, diffs them per kind
 * with `diffByKey`, turns each diff into steps with `diffSteps`, orders the steps across kinds with
 * `orderSteps`, prints them with `formatPlan` and applies them in order.
 */

export interface Diff<T> {
  create: T[];
  update: { from: T; to: T }[];
  delete: T[];
  unchanged: T[];
}

/**
 * Match desired against current by key. create/update/unchanged keep the order of `desired`, delete
 * keeps the order of `current`. A desired key must be unique (throws otherwise); a current key seen
 * twice keeps its first item and deletes the others (state left over by a half-done apply).
 */
export function diffByKey<T>(
  desired: readonly T[],
  current: readonly T[],
  key: (t: T) => string,
  equal: (a: T, b: T) => boolean,
): Diff<T> {
  const diff: Diff<T> = { create: [], update: [], delete: [], unchanged: [] };
  const have = new Map<string, T>();
  for (const c of current) {
    const k = key(c);
    if (have.has(k)) diff.delete.push(c);
    else have.set(k, c);
  }
  const wanted = new Set<string>();
  for (const d of desired) {
    const k = key(d);
    if (wanted.has(k)) throw new Error(`diffByKey: desired key "${k}" appears twice`);
    wanted.add(k);
    const c = have.get(k);
    if (c === undefined) diff.create.push(d);
    else if (equal(d, c)) diff.unchanged.push(d);
    else diff.update.push({ from: c, to: d });
  }
  const extra = current.filter((c) => !wanted.has(key(c)) && have.get(key(c)) === c);
  diff.delete = [...extra, ...diff.delete];
  return diff;
}

export type PlanOp = 'create' | 'update' | 'delete';

export interface PlanStep {
  op: PlanOp;
  /** Resource kind: `listener`, `container`, `target-pool`, `forwarding-rule`, … */
  kind: string;
  /** Resource name within its kind: `tcp/8080`, `swarmup-lb-prod`, … */
  name: string;
  /** Human detail shown after the name: `→ 3 backends (web, ingress)`. */
  detail: string;
}

/** Something the plan does not do and why (e.g. UDP on a TCP-only balancer). */
export interface PlanSkip {
  kind: string;
  name: string;
  reason: string;
}

export interface Plan {
  steps: PlanStep[];
  skipped: PlanSkip[];
}

/** How to name and describe one kind of resource in a plan. */
export interface Describe<T> {
  kind: string;
  name: (t: T) => string;
  create: (t: T) => string;
  update: (from: T, to: T) => string;
  delete: (t: T) => string;
}

/** A diff's steps: deletes, then creates, then updates (frees names/ports before reusing them). */
export function diffSteps<T>(diff: Diff<T>, d: Describe<T>): PlanStep[] {
  return [
    ...diff.delete.map((t) => ({
      op: 'delete' as const,
      kind: d.kind,
      name: d.name(t),
      detail: d.delete(t),
    })),
    ...diff.create.map((t) => ({
      op: 'create' as const,
      kind: d.kind,
      name: d.name(t),
      detail: d.create(t),
    })),
    ...diff.update.map(({ from, to }) => ({
      op: 'update' as const,
      kind: d.kind,
      name: d.name(to),
      detail: d.update(from, to),
    })),
  ];
}

/**
 * Order steps of several kinds by dependency, `kinds` listing dependencies first (e.g. address,
 * firewall, target-pool, forwarding-rule): all deletes first, dependents before what they use; then
 * creates and updates, dependencies first, creates before updates within a kind. Kinds not listed
 * come last (first for deletes); the order within an op and kind is kept.
 */
export function orderSteps(steps: readonly PlanStep[], kinds: readonly string[]): PlanStep[] {
  const rank = (k: string) => {
    const i = kinds.indexOf(k);
    return i < 0 ? kinds.length : i;
  };
  const opRank = { delete: 0, create: 1, update: 2 } as const;
  return steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => {
      const da = a.s.op === 'delete';
      const db = b.s.op === 'delete';
      if (da !== db) return da ? -1 : 1;
      if (da) return rank(b.s.kind) - rank(a.s.kind) || a.i - b.i;
      return rank(a.s.kind) - rank(b.s.kind) || opRank[a.s.op] - opRank[b.s.op] || a.i - b.i;
    })
    .map(({ s }) => s);
}

export const hasChanges = (plan: Plan): boolean => plan.steps.length > 0;

export function planSummary(plan: Plan): Record<PlanOp, number> {
  const n = { create: 0, update: 0, delete: 0 };
  for (const s of plan.steps) n[s.op]++;
  return n;
}

const SYMBOL: Record<PlanOp, string> = { create: '+', update: '~', delete: '-' };

/**
 * Terraform-like text, one line per step and skipped item, then a summary:
 *   + create listener tcp/8080 → 3 backends (web, ingress)
 *   ! skip listener udp/53: UDP is not supported by ...
 *   Plan: 1 to create, 0 to update, 0 to delete.
 * or "No changes." when there are no steps.
 */
export function formatPlan(plan: Plan): string {
  const lines = plan.steps.map(
    (s) => `${SYMBOL[s.op]} ${s.op} ${s.kind} ${s.name}${s.detail ? ` ${s.detail}` : ''}`,
  );
  for (const k of plan.skipped) lines.push(`! skip ${k.kind} ${k.name}: ${k.reason}`);
  if (!hasChanges(plan)) lines.push('No changes.');
  else {
    const n = planSummary(plan);
    lines.push(`Plan: ${n.create} to create, ${n.update} to update, ${n.delete} to delete.`);
  }
  return lines.join('\n') + '\n';
}

export interface PlanJSON {
  changes: boolean;
  summary: Record<PlanOp, number>;
  steps: PlanStep[];
  skipped: PlanSkip[];
}

export function planToJSON(plan: Plan): PlanJSON {
  return { changes: hasChanges(plan), summary: planSummary(plan), steps: plan.steps, skipped: plan.skipped };
}
