import { describe, it, expect } from 'vitest';
import {
  diffByKey,
  diffSteps,
  formatPlan,
  orderSteps,
  planToJSON,
  type PlanStep,
} from '../../src/lb/plan.js';

interface Item {
  k: string;
  v: number;
}
const key = (i: Item) => i.k;
const equal = (a: Item, b: Item) => a.v === b.v;

describe('diffByKey', () => {
  it('sorts items into create, update, delete and unchanged', () => {
    const d = diffByKey(
      [
        { k: 'a', v: 1 },
        { k: 'b', v: 2 },
        { k: 'c', v: 3 },
      ],
      [
        { k: 'b', v: 2 },
        { k: 'c', v: 9 },
        { k: 'd', v: 4 },
      ],
      key,
      equal,
    );
    expect(d.create).toEqual([{ k: 'a', v: 1 }]);
    expect(d.unchanged).toEqual([{ k: 'b', v: 2 }]);
    expect(d.update).toEqual([{ from: { k: 'c', v: 9 }, to: { k: 'c', v: 3 } }]);
    expect(d.delete).toEqual([{ k: 'd', v: 4 }]);
  });

  it('is empty but for unchanged when both sides agree', () => {
    const items = [{ k: 'a', v: 1 }];
    expect(diffByKey(items, [{ k: 'a', v: 1 }], key, equal)).toEqual({
      create: [],
      update: [],
      delete: [],
      unchanged: items,
    });
  });

  it('deletes duplicate current items and refuses duplicate desired keys', () => {
    const d = diffByKey(
      [{ k: 'a', v: 1 }],
      [
        { k: 'a', v: 1 },
        { k: 'a', v: 2 },
      ],
      key,
      equal,
    );
    expect(d.unchanged).toHaveLength(1);
    expect(d.delete).toEqual([{ k: 'a', v: 2 }]);
    expect(() =>
      diffByKey(
        [
          { k: 'a', v: 1 },
          { k: 'a', v: 1 },
        ],
        [],
        key,
        equal,
      ),
    ).toThrow(/appears twice/);
  });
});

describe('plan steps', () => {
  const describe_ = {
    kind: 'listener',
    name: (i: Item) => i.k,
    create: (i: Item) => `→ ${i.v} backends`,
    update: (a: Item, b: Item) => `${a.v} → ${b.v}`,
    delete: () => '',
  };

  it('orders one kind delete, create, update', () => {
    const d = diffByKey(
      [
        { k: 'new', v: 3 },
        { k: 'chg', v: 2 },
      ],
      [
        { k: 'chg', v: 1 },
        { k: 'old', v: 0 },
      ],
      key,
      equal,
    );
    expect(diffSteps(d, describe_).map((s) => `${s.op} ${s.name}`)).toEqual([
      'delete old',
      'create new',
      'update chg',
    ]);
  });

  it('orders kinds by dependency: deletes of dependents first, then creates of dependencies first', () => {
    const s = (op: PlanStep['op'], kind: string, name = kind): PlanStep => ({ op, kind, name, detail: '' });
    const ordered = orderSteps(
      [
        s('create', 'rule'),
        s('update', 'pool'),
        s('create', 'firewall'),
        s('delete', 'firewall', 'fw-old'),
        s('delete', 'rule', 'rule-old'),
        s('create', 'pool'),
      ],
      ['firewall', 'pool', 'rule'],
    );
    expect(ordered.map((x) => `${x.op} ${x.name}`)).toEqual([
      'delete rule-old',
      'delete fw-old',
      'create firewall',
      'create pool',
      'update pool',
      'create rule',
    ]);
  });

  it('formats like terraform and says "No changes." when empty', () => {
    const d = diffByKey([{ k: 'tcp/8080', v: 3 }], [{ k: 'tcp/9090', v: 1 }], key, equal);
    const text = formatPlan({
      steps: diffSteps(d, describe_),
      skipped: [{ kind: 'listener', name: 'udp/53', reason: 'UDP is not supported' }],
    });
    expect(text).toBe(
      [
        '- delete listener tcp/9090',
        '+ create listener tcp/8080 → 3 backends',
        '! skip listener udp/53: UDP is not supported',
        'Plan: 1 to create, 0 to update, 1 to delete.',
        '',
      ].join('\n'),
    );
    expect(formatPlan({ steps: [], skipped: [] })).toBe('No changes.\n');
    expect(
      formatPlan({
        steps: [{ op: 'update', kind: 'listener', name: 'tcp/1', detail: 'x → y' }],
        skipped: [],
      }),
    ).toBe('~ update listener tcp/1 x → y\nPlan: 0 to create, 1 to update, 0 to delete.\n');
  });

  it('has a JSON form with a summary', () => {
    const j = planToJSON({
      steps: [{ op: 'create', kind: 'listener', name: 'tcp/1', detail: '' }],
      skipped: [],
    });
    expect(j).toEqual({
      changes: true,
      summary: { create: 1, update: 0, delete: 0 },
      steps: [{ op: 'create', kind: 'listener', name: 'tcp/1', detail: '' }],
      skipped: [],
    });
    expect(planToJSON({ steps: [], skipped: [] }).changes).toBe(false);
  });
});
