// What ECS and SLB handlers share: options, cancellable delays, background work, fault hooks.
import type { VmBacking } from './backing.js';
import { ApiError } from './errors.js';
import type { Params } from './params.js';

export interface CallInfo {
  /** A `failAction` fault matched this call: asynchronous work it starts must fail. */
  fail: boolean;
  requestId: string;
  /** A `noStock` fault matched this call: this many fewer instances than asked for are in stock. */
  short?: number;
}

export type Handler = (
  p: Params,
  call: CallInfo,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export const REGIONS = [
  'cn-hangzhou',
  'cn-shanghai',
  'cn-beijing',
  'cn-shenzhen',
  'cn-qingdao',
  'cn-zhangjiakou',
  'cn-hongkong',
  'ap-southeast-1',
  'ap-northeast-1',
  'us-west-1',
  'us-east-1',
  'eu-central-1',
  'eu-west-1',
];

export class Context {
  stopped = false;
  /** RAM roles that exist (an instance may be given one: RamRoleName). */
  ramRoles = new Set<string>();
  private timers = new Map<NodeJS.Timeout, () => void>();
  private work = new Set<Promise<unknown>>();

  constructor(
    readonly regionId: string,
    readonly zoneId: string,
    readonly latencyMs: number,
    readonly backing: VmBacking,
    readonly quotas: { vcpus?: number; loadBalancers?: number },
    readonly healthCheckScale: number,
    readonly addressPrefix: string,
  ) {}

  /** The vCPU quota of pay-as-you-go instances per region (`quotas.vcpus`; 1000 when not given). */
  vcpuQuota(): number {
    return this.quotas.vcpus ?? 1000;
  }

  regions(): string[] {
    return REGIONS.includes(this.regionId) ? REGIONS : [this.regionId, ...REGIONS];
  }

  /** Zones `<region>-a` … `<region>-k`, the configured zone first. */
  zones(region: string): string[] {
    const zs = [...'abcdefghijk'].map((l) => `${region}-${l}`);
    return region === this.regionId ? [this.zoneId, ...zs.filter((z) => z !== this.zoneId)] : zs;
  }

  /** RegionId of a request: required unless `optional`, must be a known region. */
  region(p: Params, optional = false): string {
    const r = optional ? (p.str('RegionId') ?? this.regionId) : p.req('RegionId');
    if (!this.regions().includes(r))
      throw new ApiError('InvalidRegionId.NotFound', 'The specified RegionId does not exist.');
    return r;
  }

  /** A delay that resolves at once when the emulator stops. */
  delay(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  /** Background work that stop() waits for. */
  track<T>(p: Promise<T>): Promise<T> {
    this.work.add(p);
    void p.finally(() => this.work.delete(p)).catch(() => {});
    return p;
  }

  warn(msg: string): void {
    if (!this.stopped) process.stderr.write(`aliyun emulator: ${msg}\n`);
  }

  async drain(): Promise<void> {
    this.stopped = true;
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }
}
