// Legacy HTTP health checks, run by the emulator itself: GET http://<networkIP>:<port><requestPath>
// every checkIntervalSec (times `scale`), answer 200 within timeoutSec = success; an instance turns
// HEALTHY after healthyThreshold successes in a row and UNHEALTHY after unhealthyThreshold failures.
// Instances start UNHEALTHY; an instance that is not RUNNING is UNHEALTHY at once.
import http from 'node:http';
import type { InstanceRec } from './instances.js';
import type { Stored } from './state.js';

export interface HealthTargets {
  /** The health check resource by selfLink, if it still exists. */
  check(link: string): Stored | undefined;
  /** Instances of every target pool that uses this health check. */
  instancesFor(link: string): InstanceRec[];
}

interface Track {
  healthy: boolean;
  ok: number;
  fail: number;
}

export function probe(
  ip: string,
  port: number,
  path: string,
  host: string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: ip,
        port,
        path,
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        headers: { Host: host || ip, 'User-Agent': 'GoogleHC/1.0' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class HealthChecker {
  private tracks = new Map<string, Track>();
  private timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private targets: HealthTargets,
    /** Multiplies checkIntervalSec and timeoutSec (tests use e.g. 0.05). */
    private scale: number,
  ) {}

  private key = (hcLink: string, inst: InstanceRec) => `${hcLink}|${inst.json.selfLink}`;

  /** Start checking for a health check (idempotent). */
  watch(hcLink: string): void {
    if (this.timers.has(hcLink) || this.stopped) return;
    this.schedule(hcLink, 0);
  }

  unwatch(hcLink: string): void {
    const t = this.timers.get(hcLink);
    if (t) clearTimeout(t);
    this.timers.delete(hcLink);
    for (const k of [...this.tracks.keys()]) if (k.startsWith(`${hcLink}|`)) this.tracks.delete(k);
  }

  private schedule(hcLink: string, ms: number): void {
    const t = setTimeout(() => void this.round(hcLink), ms);
    t.unref();
    this.timers.set(hcLink, t);
  }

  private async round(hcLink: string): Promise<void> {
    const hc = this.targets.check(hcLink);
    if (!hc || this.stopped) {
      this.unwatch(hcLink);
      return;
    }
    const j = hc.json as Record<string, unknown>;
    const intervalMs = Math.max(10, Number(j.checkIntervalSec) * 1000 * this.scale);
    const timeoutMs = Math.max(10, Number(j.timeoutSec) * 1000 * this.scale);
    await Promise.all(
      this.targets.instancesFor(hcLink).map(async (inst) => {
        const k = this.key(hcLink, inst);
        const t = this.tracks.get(k) ?? { healthy: false, ok: 0, fail: 0 };
        this.tracks.set(k, t);
        const up =
          inst.status === 'RUNNING' &&
          !!inst.ip &&
          (await probe(
            inst.ip,
            Number(j.port),
            String(j.requestPath),
            j.host as string | undefined,
            timeoutMs,
          ));
        if (inst.status !== 'RUNNING') {
          Object.assign(t, { healthy: false, ok: 0, fail: 0 });
        } else if (up) {
          t.fail = 0;
          if (++t.ok >= Number(j.healthyThreshold)) t.healthy = true;
        } else {
          t.ok = 0;
          if (++t.fail >= Number(j.unhealthyThreshold)) t.healthy = false;
        }
      }),
    );
    if (!this.stopped && this.timers.has(hcLink)) this.schedule(hcLink, intervalMs);
  }

  healthy(hcLink: string, inst: InstanceRec): boolean {
    return inst.status === 'RUNNING' && (this.tracks.get(this.key(hcLink, inst))?.healthy ?? false);
  }

  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.tracks].map(([k, t]) => [k, t.healthy ? 'HEALTHY' : 'UNHEALTHY']));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
