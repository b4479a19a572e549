/**
 * One controller at a time. Swarm may start a replacement task while an old one it cannot reach
 * still runs (a partitioned manager), so the controller that may change the load balancer is the one
 * holding a lease: the labels of a swarm config object, taken and renewed with the config's version
 * (a compare-and-swap in the swarm's raft store). A holder that cannot renew stops changing anything
 * when its lease runs out by its own clock; a new task takes the lease only after it expired (or was
 * released on SIGTERM). The same labels carry the holder's status for `lb controller status`.
 */
import type Docker from 'dockerode';
import { oneLine } from '../../errors.js';

export const LEASE = {
  config: 'swarmup-lb-controller-state',
  owner: 'swarmup.lb-controller',
  holder: 'swarmup.lb-controller.holder',
  expires: 'swarmup.lb-controller.expires',
  status: 'swarmup.lb-controller.status',
  /** How long a lease lasts without renewal, and how often the holder renews it. */
  ttlMs: 15_000,
  renewMs: 5_000,
  /** A holder stops changing anything this long before its lease ends (clock skew, slow calls). */
  marginMs: 3_000,
};

/** What the holder last reported, for `lb controller status`. */
export interface ControllerStatus {
  holder: string;
  node: string;
  /** Holding the lease since (ISO). */
  since: string;
  /** The last sync that ended, with its result. */
  lastSync?: string;
  ok?: boolean;
  lastError?: string;
  /** Syncs failed in a row (each retried with backoff). */
  failures?: number;
  /** The last sync that changed something, and what it changed. */
  lastChange?: string;
  plan?: { create: number; update: number; delete: number };
  /** What the load balancer is after the last change (one line). */
  summary?: string;
}

export interface LeaseState {
  id: string;
  version: number;
  holder: string;
  /** Unix ms; 0 when released. */
  expiresAt: number;
  status?: ControllerStatus;
}

interface RawConfig {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string>; Data?: string };
}

const DATA = Buffer.from('swarmup lb controller lease and status (labels)\n').toString('base64');

/** The lease config's labels as data. */
export function leaseOf(raw: RawConfig): LeaseState {
  const l = raw.Spec.Labels ?? {};
  let status: ControllerStatus | undefined;
  try {
    status = l[LEASE.status] ? (JSON.parse(l[LEASE.status]) as ControllerStatus) : undefined;
  } catch {
    status = undefined;
  }
  return {
    id: raw.ID,
    version: raw.Version.Index,
    holder: l[LEASE.holder] ?? '',
    expiresAt: Date.parse(l[LEASE.expires] ?? '') || 0,
    status,
  };
}

/** May `me` take the lease now? Free, released, expired, or already mine. */
export const leaseFree = (s: LeaseState, me: string, now = Date.now()): boolean =>
  !s.holder || s.holder === me || s.expiresAt <= now;

const isMissing = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** Read the lease config; undefined when there is none. */
export async function readLease(docker: Docker): Promise<LeaseState | undefined> {
  try {
    return leaseOf((await docker.getConfig(LEASE.config).inspect()) as RawConfig);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Make the lease config (install); nothing when it exists. `labels` say whose controller it is. */
export async function ensureLease(docker: Docker, labels: Record<string, string>): Promise<void> {
  if (await readLease(docker)) return;
  try {
    await docker.createConfig({ Name: LEASE.config, Labels: { [LEASE.owner]: '1', ...labels }, Data: DATA });
  } catch (err) {
    // Another install made it meanwhile.
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
  }
}

export class Lease {
  /** performance.now() until which this holder may act. */
  private validUntil = 0;
  private since = '';

  constructor(
    private readonly docker: Docker,
    readonly me: string,
    private readonly o = { ttlMs: LEASE.ttlMs, marginMs: LEASE.marginMs },
  ) {}

  /** How long this holder may still change things (0: not holding). */
  validFor(): number {
    return Math.max(0, this.validUntil - performance.now());
  }

  get holding(): boolean {
    return this.validFor() > 0;
  }

  /** Lease writes one after the other (a renewal and a status write must not race each other). */
  private chain: Promise<unknown> = Promise.resolve();
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Take or renew the lease and write `status`; the state seen when someone else holds it. A write
   * that loses the race (the config changed since it was read) is tried again on what changed.
   */
  acquire(
    status?: Omit<ControllerStatus, 'holder' | 'since'>,
  ): Promise<{ held: boolean; seen?: LeaseState }> {
    return this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        const raw = (await this.docker.getConfig(LEASE.config).inspect()) as RawConfig;
        const s = leaseOf(raw);
        if (!leaseFree(s, this.me)) {
          this.validUntil = 0;
          return { held: false, seen: s };
        }
        const since = s.holder === this.me && this.since ? this.since : new Date().toISOString();
        const full: ControllerStatus | undefined = status
          ? { ...status, holder: this.me, since }
          : s.status?.holder === this.me
            ? s.status
            : undefined;
        const labels = {
          ...raw.Spec.Labels,
          [LEASE.holder]: this.me,
          [LEASE.expires]: new Date(Date.now() + this.o.ttlMs).toISOString(),
          ...(full ? { [LEASE.status]: JSON.stringify(full) } : {}),
        };
        try {
          await this.docker.getConfig(LEASE.config).update({
            _query: { version: s.version },
            _body: { Name: raw.Spec.Name, Labels: labels, Data: raw.Spec.Data },
          });
        } catch (err) {
          if (/out of sequence/i.test(oneLine(err)) && attempt < 3) continue;
          this.validUntil = 0;
          if (/out of sequence/i.test(oneLine(err))) return { held: false };
          throw err;
        }
        this.since = since;
        this.validUntil = started + this.o.ttlMs - this.o.marginMs;
        return { held: true };
      }
    });
  }

  /** Give the lease up (SIGTERM), leaving the last status; the next task takes over at once. */
  release(status?: Omit<ControllerStatus, 'holder' | 'since'>): Promise<void> {
    return this.serial(async () => {
      this.validUntil = 0;
      const raw = (await this.docker.getConfig(LEASE.config).inspect()) as RawConfig;
      const s = leaseOf(raw);
      if (s.holder !== this.me) return;
      const labels: Record<string, string> = { ...raw.Spec.Labels, [LEASE.holder]: '', [LEASE.expires]: '' };
      if (status) labels[LEASE.status] = JSON.stringify({ ...status, holder: this.me, since: this.since });
      await this.docker.getConfig(LEASE.config).update({
        _query: { version: s.version },
        _body: { Name: raw.Spec.Name, Labels: labels, Data: raw.Spec.Data },
      });
    });
  }
}
