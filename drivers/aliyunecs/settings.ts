/** The aliyunecs flags, checked and with defaults settled (one clear line for each bad value). */
import type { FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import type { AliyunTarget } from './client.js';
import { DEFAULTS } from './defaults.js';
import { parseUserTags, type Tags } from './tags.js';
import { EMULATOR_ADMIN_CIDRS } from '../../src/driver/admin-range.js';

export interface AliyunSettings extends AliyunTarget {
  zoneId?: string;
  imageId: string;
  instanceType: string;
  vpcId?: string;
  vswitchId?: string;
  /** Security group name given by the user; otherwise derived from the cluster or machine. */
  securityGroup?: string;
  bandwidth: number;
  systemDiskSize?: number;
  ioOptimized: 'optimized' | 'none';
  slbId?: string;
  tags: Tags;
  adminCidrs: string[];
}

const str = (v: FlagValues[string]): string | undefined => {
  const s = v === undefined ? '' : String(v).trim();
  return s || undefined;
};

const list = (v: FlagValues[string]): string[] =>
  (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [String(v)])
    .flatMap((s) => String(s).split(','))
    .map((s) => s.trim())
    .filter(Boolean);

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9._:-]*$/;

function id(flags: FlagValues, name: string): string | undefined {
  const v = str(flags[name]);
  if (v !== undefined && !ID_RE.test(v)) throw new UserError(`invalid --${name} "${v}"`);
  return v;
}

/** `a.b.c.d/n` with a valid address and prefix; a bare address means /32. */
export function parseCidr(v: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw new UserError(
      `invalid --aliyunecs-admin-cidr "${v}": expected an IPv4 range such as 203.0.113.7/32`,
    );
  }
  return `${octets.join('.')}/${prefix}`;
}

/** Where an endpoint flag points, checked: http(s)://host[:port] with no path. */
function endpoint(flags: FlagValues): string | undefined {
  const v = str(flags['aliyunecs-api-endpoint']);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UserError(
      `invalid --aliyunecs-api-endpoint "${v}": expected a URL such as http://127.0.0.1:8086`,
    );
  }
  if (!/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '') || u.search) {
    throw new UserError(`invalid --aliyunecs-api-endpoint "${v}": expected http(s)://host[:port]`);
  }
  return `${u.protocol}//${u.host}`;
}

/**
 * The admin range: the flag, else against an emulator (a plain http endpoint) the private and loopback
 * ranges. Against the real API there is no default (empty: `requireAdminCidrs` refuses it), so SSH and
 * the Docker API are never opened to the world unless the user writes 0.0.0.0/0 themselves.
 */
export function adminCidrs(flags: FlagValues, endpointUrl: string | undefined): string[] {
  const given = list(flags['aliyunecs-admin-cidr']).map(parseCidr);
  if (given.length) return [...new Set(given)];
  return endpointUrl?.startsWith('http://') ? [...EMULATOR_ADMIN_CIDRS] : [];
}

/** The admin range check: refused before anything is made (exit 3 in create's pre-create check). */
export function requireAdminCidrs(s: { adminCidrs: string[] }): void {
  if (s.adminCidrs.length === 0) {
    throw new UserError(
      '--aliyunecs-admin-cidr is required: the address range this host reaches the instances from over SSH (22) and Docker TLS (2376), ' +
        'e.g. your public IP as 203.0.113.7/32 (0.0.0.0/0 opens both ports to the whole internet)',
    );
  }
}

/** The region and endpoint alone (for sweeps and lb commands, which need no admin range). */
export function targetFrom(flags: FlagValues): AliyunTarget {
  const regionId = str(flags['aliyunecs-region']) ?? DEFAULTS.region;
  if (!/^[a-z]{2}(-[a-z0-9]+)+$/.test(regionId)) {
    throw new UserError(`invalid --aliyunecs-region "${regionId}": expected a region id such as cn-hangzhou`);
  }
  return { regionId, endpoint: endpoint(flags) };
}

export function settingsFrom(flags: FlagValues): AliyunSettings {
  const target = targetFrom(flags);
  const bandwidth = Number(flags['aliyunecs-internet-max-bandwidth'] ?? 1);
  if (!Number.isInteger(bandwidth) || bandwidth < 1 || bandwidth > 100) {
    throw new UserError(
      `invalid --aliyunecs-internet-max-bandwidth "${flags['aliyunecs-internet-max-bandwidth']}": expected 1 to 100 (Mbit/s)`,
    );
  }
  const diskFlag = flags['aliyunecs-system-disk-size'];
  const systemDiskSize = diskFlag === undefined || diskFlag === '' ? undefined : Number(diskFlag);
  if (
    systemDiskSize !== undefined &&
    (!Number.isInteger(systemDiskSize) || systemDiskSize < 20 || systemDiskSize > 500)
  ) {
    throw new UserError(`invalid --aliyunecs-system-disk-size "${diskFlag}": expected 20 to 500 (GiB)`);
  }
  const io = str(flags['aliyunecs-io-optimized']) ?? 'optimized';
  if (io !== 'optimized' && io !== 'none') {
    throw new UserError(`invalid --aliyunecs-io-optimized "${io}": use optimized or none`);
  }
  const securityGroup = str(flags['aliyunecs-security-group']);
  if (securityGroup !== undefined && !/^[a-zA-Z][a-zA-Z0-9._:-]{1,127}$/.test(securityGroup)) {
    throw new UserError(
      `invalid --aliyunecs-security-group "${securityGroup}": 2 to 128 letters, digits, ".", "_", ":" and "-", starting with a letter`,
    );
  }
  return {
    ...target,
    zoneId: id(flags, 'aliyunecs-zone'),
    imageId: id(flags, 'aliyunecs-image-id') ?? DEFAULTS.imageId,
    instanceType: id(flags, 'aliyunecs-instance-type') ?? DEFAULTS.instanceType,
    vpcId: id(flags, 'aliyunecs-vpc-id'),
    vswitchId: id(flags, 'aliyunecs-vswitch-id'),
    securityGroup,
    bandwidth,
    systemDiskSize,
    ioOptimized: io,
    slbId: id(flags, 'aliyunecs-slb-id'),
    tags: parseUserTags(list(flags['aliyunecs-tag'])),
    adminCidrs: adminCidrs(flags, target.endpoint),
  };
}

/** The security group of a cluster (or of a machine outside any cluster). */
export function securityGroupName(
  s: { securityGroup?: string },
  cluster: string | undefined,
  machine: string,
): string {
  return s.securityGroup ?? `swarmup-${cluster ?? machine}`;
}
