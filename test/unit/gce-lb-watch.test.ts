import { describe, it, expect, vi } from 'vitest';
import { PassThrough } from 'node:stream';
import { resyncMs, watchAndSync } from '../../src/lb/watch.js';

/** A watch over fake event streams; `streams` are what each (re)connect returned. */
function setup(
  o: { failFirstConnect?: boolean; syncFails?: boolean; resyncMs?: number; settlingSyncs?: number } = {},
) {
  const streams: PassThrough[] = [];
  const logs: string[] = [];
  let syncs = 0;
  let connects = 0;
  const ctl = new AbortController();
  const done = watchAndSync({
    sync: async () => {
      syncs++;
      if (o.syncFails) throw new Error('manager gone');
      return { settling: syncs <= (o.settlingSyncs ?? 0) };
    },
    events: async () => {
      connects++;
      if (o.failFirstConnect && connects === 1) throw new Error('connect ECONNREFUSED');
      const s = new PassThrough();
      streams.push(s);
      return s;
    },
    log: (m) => logs.push(m),
    debounceMs: 50,
    maxDelayMs: 200,
    resyncMs: o.resyncMs ?? 0,
    settleMs: 20,
    signal: ctl.signal,
  });
  return { streams, logs, syncs: () => syncs, connects: () => connects, stop: () => ctl.abort(), done };
}

const event = (type: string) => Buffer.from(JSON.stringify({ Type: type, Action: 'update' }) + '\n');

describe('lb sync --watch', () => {
  it('syncs at start, then once per burst of events (debounced)', async () => {
    const w = setup();
    await vi.waitFor(() => expect(w.streams).toHaveLength(1));
    await vi.waitFor(() => expect(w.syncs()).toBe(1));
    for (let i = 0; i < 5; i++) w.streams[0].write(event('service'));
    await vi.waitFor(() => expect(w.syncs()).toBe(2), { timeout: 2_000 });
    // No more events: no more syncs (checked against a later burst).
    w.streams[0].write(event('node'));
    await vi.waitFor(() => expect(w.syncs()).toBe(3), { timeout: 2_000 });
    w.stop();
    await w.done;
    expect(w.syncs()).toBe(3);
  });

  it('without a periodic re-sync, only events sync; with one, it syncs without events', async () => {
    const quiet = setup();
    await vi.waitFor(() => expect(quiet.streams).toHaveLength(1));
    await vi.waitFor(() => expect(quiet.syncs()).toBe(1));
    expect(quiet.logs).toContain("Following the manager's events.");
    // An event's sync is the proof that time passed: nothing else synced meanwhile.
    quiet.streams[0].write(event('service'));
    await vi.waitFor(() => expect(quiet.syncs()).toBe(2), { timeout: 2_000 });
    quiet.stop();
    await quiet.done;
    expect(quiet.syncs()).toBe(2);

    const periodic = setup({ resyncMs: 50 });
    await vi.waitFor(() => expect(periodic.syncs()).toBeGreaterThanOrEqual(3), { timeout: 2_000 });
    periodic.stop();
    await periodic.done;
  });

  it('follows a settling swarm with syncs of its own until it has settled, without events', async () => {
    const w = setup({ settlingSyncs: 3 });
    await vi.waitFor(() => expect(w.syncs()).toBe(4), { timeout: 2_000 });
    // Settled: the next sync comes only from an event, and proves no follow-up ran meanwhile.
    w.streams[0].write(event('service'));
    await vi.waitFor(() => expect(w.syncs()).toBe(5), { timeout: 2_000 });
    w.stop();
    await w.done;
    expect(w.syncs()).toBe(5);
  });

  it('--resync: seconds, 0 for never, default 30 s; anything else is a clear error', () => {
    expect(resyncMs(undefined)).toBe(30_000);
    expect(resyncMs('0')).toBe(0);
    expect(resyncMs('3600')).toBe(3_600_000);
    expect(resyncMs('0.5')).toBe(500);
    for (const bad of ['', 'soon', '-1', '1e9'])
      expect(() => resyncMs(bad)).toThrow(
        `--resync must be a number of seconds from 0 (never) to 86400, not "${bad}"`,
      );
  });

  it('reconnects after the stream ends and re-syncs (events may have been missed)', async () => {
    const w = setup();
    await vi.waitFor(() => expect(w.streams).toHaveLength(1));
    await vi.waitFor(() => expect(w.syncs()).toBe(1));
    w.streams[0].end();
    await vi.waitFor(() => expect(w.streams).toHaveLength(2), { timeout: 5_000 });
    await vi.waitFor(() => expect(w.syncs()).toBe(2), { timeout: 5_000 });
    expect(w.logs.some((l) => /lost the manager's events/.test(l))).toBe(true);
    w.stop();
    await w.done;
  });

  it('keeps going when a connect or a sync fails, and stops on the signal', async () => {
    const w = setup({ failFirstConnect: true, syncFails: true });
    await vi.waitFor(() => expect(w.streams).toHaveLength(1), { timeout: 5_000 });
    expect(w.logs.some((l) => /cannot follow the manager's events \(connect ECONNREFUSED\)/.test(l))).toBe(
      true,
    );
    await vi.waitFor(() => expect(w.logs.some((l) => /sync failed: manager gone/.test(l))).toBe(true));
    w.stop();
    await w.done;
    expect(w.streams[0].destroyed).toBe(true);
  });
});
