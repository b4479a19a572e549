/**
 * Waiting for instance states with one DescribeInstances per tick for every instance being waited on
 * (up to 100 ids a call), so eight machines booting at once cost what one does. Ticks back off from
 * 1 s to 5 s; every wait has its own deadline.
 */
import { UserError } from '../../src/errors.js';
import { delay } from '../../src/util/async.js';
import type { AliyunClient } from '../../src/cloud/aliyun/client.js';
import { describeInstances, type EcsInstance } from '../../src/cloud/aliyun/ecs.js';

interface Waiter {
  id: string;
  done: (i: EcsInstance | undefined) => boolean;
  deadline: number;
  what: string;
  resolve: (i: EcsInstance | undefined) => void;
  reject: (err: unknown) => void;
}

export interface PollTiming {
  firstMs: number;
  maxMs: number;
}

class Poller {
  private waiters: Waiter[] = [];
  private running = false;

  constructor(
    private readonly c: AliyunClient,
    private readonly timing: PollTiming,
  ) {}

  wait(w: Waiter): void {
    this.waiters.push(w);
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
  }

  private async loop(): Promise<void> {
    let pause = this.timing.firstMs;
    while (this.waiters.length) {
      await delay(pause);
      pause = Math.min(Math.round(pause * 1.5), this.timing.maxMs);
      const batch = [...this.waiters];
      let found: Map<string, EcsInstance>;
      try {
        const ids = [...new Set(batch.map((w) => w.id))];
        found = new Map(
          (await describeInstances(this.c, { instanceIds: ids })).map((i) => [i.InstanceId, i]),
        );
      } catch (err) {
        this.settle(batch, (w) => w.reject(err));
        continue;
      }
      const now = Date.now();
      this.settle(batch, (w) => {
        const inst = found.get(w.id);
        let done: boolean;
        try {
          done = w.done(inst);
        } catch (err) {
          w.reject(err);
          return true;
        }
        if (done) w.resolve(inst);
        else if (now > w.deadline) {
          w.reject(
            new UserError(
              `instance ${w.id} ${w.what}: still ${inst?.Status ?? 'missing'} after the deadline`,
            ),
          );
        } else return false;
        return true;
      });
    }
    this.running = false;
  }

  /** Run `f` on each waiter of the batch; those for which it returns anything but false leave. */
  private settle(batch: Waiter[], f: (w: Waiter) => boolean | void): void {
    const gone = new Set(batch.filter((w) => f(w) !== false));
    this.waiters = this.waiters.filter((w) => !gone.has(w));
  }
}

const pollers = new WeakMap<AliyunClient, Poller>();
export const DEFAULT_POLL: PollTiming = { firstMs: 1_000, maxMs: 5_000 };

/**
 * Resolve with the instance once `done(instance)` holds (the instance is undefined when it is gone),
 * or reject after `deadlineMs` or when `done` throws (a state that will not come right by waiting).
 */
export function waitInstance(
  c: AliyunClient,
  id: string,
  what: string,
  done: (i: EcsInstance | undefined) => boolean,
  deadlineMs: number,
  timing: PollTiming = DEFAULT_POLL,
): Promise<EcsInstance | undefined> {
  let p = pollers.get(c);
  if (!p) {
    p = new Poller(c, timing);
    pollers.set(c, p);
  }
  const poller = p;
  return new Promise((resolve, reject) =>
    poller.wait({ id, done, deadline: Date.now() + deadlineMs, what, resolve, reject }),
  );
}

export const hasStatus =
  (...statuses: string[]) =>
  (i: EcsInstance | undefined): boolean =>
    !!i && statuses.includes(i.Status);

export const isGone = (i: EcsInstance | undefined): boolean => !i;

/** How long an instance may still read Stopped after an accepted StartInstance before that counts as failed. */
export const START_GRACE_MS = 10_000;

/**
 * Running, for an instance just asked to start. Stopped again after it was seen Starting means the
 * start failed (ECS falls back to Stopped), and so does Stopped `graceMs` after the start was asked for
 * (a start can fail between two polls, never seen Starting); a vanished instance fails at once.
 */
export function started(
  id: string,
  o: { graceMs?: number; now?: () => number } = {},
): (i: EcsInstance | undefined) => boolean {
  const now = o.now ?? Date.now;
  const asked = now();
  let seenStarting = false;
  return (i) => {
    if (!i) throw new UserError(`instance ${id} disappeared while starting`);
    if (i.Status === 'Starting' || i.Status === 'Pending') seenStarting = true;
    if (i.Status === 'Stopped' && (seenStarting || now() - asked >= (o.graceMs ?? START_GRACE_MS)))
      throw new UserError(`instance ${id} failed to start (it is Stopped again)`);
    return i.Status === 'Running';
  };
}
