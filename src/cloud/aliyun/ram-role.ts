/**
 * ECS RAM role credentials: on an ECS instance with a RAM role, the instance metadata service hands
 * out STS credentials (key id, secret, security token) for the role, renewed before they expire.
 * `ALIBABA_CLOUD_ECS_METADATA` names the role (Alibaba's own SDKs read the same variable);
 * `SWARMUP_ALIYUN_METADATA_ENDPOINT` replaces the metadata address (tests: an emulator's).
 * Nothing here logs a key, secret or token.
 */
import { UserError, oneLine } from '../../errors.js';

export const DEFAULT_METADATA = 'http://100.100.100.200';

export const metadataEndpoint = (): string =>
  (process.env.SWARMUP_ALIYUN_METADATA_ENDPOINT?.trim() || DEFAULT_METADATA).replace(/\/+$/, '');

export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** Unix ms. */
  expiresAt: number;
  /** Unix ms when issued (LastUpdated), for the refresh margin. */
  issuedAt: number;
}

interface MetadataAnswer {
  Code?: string;
  AccessKeyId?: string;
  AccessKeySecret?: string;
  SecurityToken?: string;
  Expiration?: string;
  LastUpdated?: string;
}

/** Fetch with a timeout; the metadata service answers within a second or not at all. */
async function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
}

/** The role's STS credentials now (hardened mode: a metadata token first, plain GET when refused). */
export async function fetchRoleCredentials(role: string, base = metadataEndpoint()): Promise<StsCredentials> {
  let token: string | undefined;
  try {
    const r = await get(`${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aliyun-ecs-metadata-token-ttl-seconds': '21600' },
    });
    if (r.ok) token = (await r.text()).trim();
  } catch {
    // older metadata services have no token endpoint: plain GET below
  }
  let res: Response;
  try {
    res = await get(`${base}/latest/meta-data/ram/security-credentials/${encodeURIComponent(role)}`, {
      headers: token ? { 'X-aliyun-ecs-metadata-token': token } : {},
    });
  } catch (err) {
    throw new UserError(`cannot reach the ECS metadata service at ${base}: ${oneLine(err)}`);
  }
  if (res.status === 404) {
    throw new UserError(
      `the ECS metadata service has no credentials for RAM role "${role}": is the role attached to this instance?`,
    );
  }
  const text = await res.text();
  let a: MetadataAnswer = {};
  try {
    a = JSON.parse(text) as MetadataAnswer;
  } catch {
    // reported below
  }
  if (!res.ok || a.Code !== 'Success' || !a.AccessKeyId || !a.AccessKeySecret || !a.SecurityToken) {
    throw new UserError(
      `the ECS metadata service gave no credentials for RAM role "${role}" (HTTP ${res.status}${a.Code ? `, ${a.Code}` : ''})`,
    );
  }
  const expiresAt = Date.parse(a.Expiration ?? '');
  return {
    accessKeyId: a.AccessKeyId,
    accessKeySecret: a.AccessKeySecret,
    securityToken: a.SecurityToken,
    expiresAt: Number.isFinite(expiresAt) ? expiresAt : Date.now() + 3600_000,
    issuedAt: Date.parse(a.LastUpdated ?? '') || Date.now(),
  };
}

/**
 * The role's credentials, kept until they near their end: renewed when less than a third of their
 * life (at most 5 minutes) is left, the way Alibaba's SDKs renew ahead of expiry.
 */
export class RamRoleCredentials {
  private cur?: StsCredentials;
  private pending?: Promise<StsCredentials>;

  constructor(
    readonly role: string,
    private readonly base = metadataEndpoint(),
  ) {}

  private stale(c: StsCredentials, now = Date.now()): boolean {
    const margin = Math.min(300_000, (c.expiresAt - c.issuedAt) / 3);
    return now >= c.expiresAt - margin;
  }

  async get(): Promise<StsCredentials> {
    if (this.cur && !this.stale(this.cur)) return this.cur;
    this.pending ??= fetchRoleCredentials(this.role, this.base).finally(() => (this.pending = undefined));
    this.cur = await this.pending;
    return this.cur;
  }

  /** The values to take out of any text shown (the current ones). */
  secrets(): string[] {
    return this.cur ? [this.cur.accessKeyId, this.cur.accessKeySecret, this.cur.securityToken] : [];
  }
}
