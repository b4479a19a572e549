/** The aliyunecs flags, checked and with defaults settled (one clear line for each bad value). */
import type { FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import type { AliyunTarget } from '../../src/cloud/aliyun/client.js';
import { DEFAULTS, DISK_CATEGORIES } from './defaults.js';
import { parseUserTags, type Tags } from '../../src/cloud/aliyun/tags.js';
import { checkInstancePassword } from './password.js';
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
  systemDiskCategory?: string;
  /** One data disk (--aliyunecs-disk-size), deleted with the instance. */
  dataDisk?: { size: number; category?: string };
  description?: string;
  internetChargeType: 'PayByTraffic' | 'PayByBandwidth';
  /** No public address: the machine is reached on its private one. */
  privateAddressOnly: boolean;
  privateIp?: string;
  /** An existing key pair and the private key that opens it, or a private key alone (imported as ours). */
  sshKeyPair?: string;
  sshKeyPath?: string;
  /** The instance's root password (CreateInstance Password): sent once, never stored or printed. */
  sshPassword?: string;
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

const bool = (v: FlagValues[string]): boolean => v === true || v === 'true' || v === '1';

function diskCategory(flags: FlagValues, name: string): string | undefined {
  const v = str(flags[name]);
  if (v !== undefined && !(DISK_CATEGORIES as readonly string[]).includes(v)) {
    throw new UserError(`invalid --${name} "${v}": use one of ${DISK_CATEGORIES.join(', ')}`);
  }
  return v;
}

/**
 * docker-machine-aliyunecs flags (and their ECS_* variables) that swarmup does not act on: accepted, so
 * that exported walkthrough variables keep working, and named in one warning line with the reason.
 */
export const NOT_ACTED_ON: Record<string, { env: string; why: string }> = {
  'aliyunecs-route-cidr': {
    env: 'ECS_ROUTE_CIDR',
    why: "a VPC route to each machine's classic docker0 bridge; swarm mode's overlay networks need none",
  },
  'aliyunecs-upgrade-kernel': { env: 'ECS_UPGRADE_KERNEL', why: "it upgraded Ubuntu 14.04's kernel" },
  'aliyunecs-disk-fs': { env: 'ECS_DISK_FS', why: 'the data disk is attached unformatted' },
  'aliyunecs-resource-group-id': {
    env: 'ECS_RESOURCE_GROUP_ID',
    why: "instances go to the account's default resource group",
  },
};

/** The warning for flags given that swarmup does not act on, or undefined when there are none. */
export function notActedOnWarning(flags: FlagValues): string | undefined {
  const given = Object.entries(NOT_ACTED_ON).filter(([name]) => {
    const v = flags[name];
    return v !== undefined && v !== false && v !== '';
  });
  if (!given.length) return undefined;
  return `Warning: swarmup does not act on ${given.map(([n, { env, why }]) => `--${n} (${env}: ${why})`).join(', ')}`;
}

/** The data disk: --aliyunecs-disk-size GiB (cloud 5..2000, the others 20..32768) and its category. */
function dataDisk(flags: FlagValues): AliyunSettings['dataDisk'] {
  const category = diskCategory(flags, 'aliyunecs-disk-category');
  const raw = flags['aliyunecs-disk-size'];
  if (raw === undefined || raw === '' || raw === 0) {
    if (category) throw new UserError('--aliyunecs-disk-category needs --aliyunecs-disk-size');
    return undefined;
  }
  const size = Number(raw);
  const [min, max] = category === 'cloud' ? [5, 2000] : [20, 32768];
  if (!Number.isInteger(size) || size < min || size > max) {
    throw new UserError(`invalid --aliyunecs-disk-size "${raw}": expected ${min} to ${max} (GiB)`);
  }
  return { size, ...(category ? { category } : {}) };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

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
  // Not trimmed: spaces would be part of the password (and are refused by the check).
  const pw = flags['aliyunecs-ssh-password'];
  const sshPassword = typeof pw === 'string' && pw !== '' ? pw : undefined;
  if (sshPassword !== undefined) checkInstancePassword(sshPassword);
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
  // docker-machine-aliyunecs took true/false (its default was "true") as well as the API's words.
  const ioFlag = (str(flags['aliyunecs-io-optimized']) ?? 'optimized').toLowerCase();
  const io =
    ioFlag === 'optimized' || ioFlag === 'true'
      ? 'optimized'
      : ioFlag === 'none' || ioFlag === 'false'
        ? 'none'
        : undefined;
  if (!io) {
    throw new UserError(
      `invalid --aliyunecs-io-optimized "${ioFlag}": use optimized or none (or true, false)`,
    );
  }
  const securityGroup = str(flags['aliyunecs-security-group']);
  if (securityGroup !== undefined && !/^[a-zA-Z][a-zA-Z0-9._:-]{1,127}$/.test(securityGroup)) {
    throw new UserError(
      `invalid --aliyunecs-security-group "${securityGroup}": 2 to 128 letters, digits, ".", "_", ":" and "-", starting with a letter`,
    );
  }
  const description = str(flags['aliyunecs-description']);
  if (
    description !== undefined &&
    (description.length < 2 || description.length > 256 || /^https?:\/\//.test(description))
  ) {
    throw new UserError(
      `invalid --aliyunecs-description "${description}": 2 to 256 characters, not starting with http:// or https://`,
    );
  }
  const charge = str(flags['aliyunecs-internet-charge-type']) ?? 'PayByTraffic';
  const internetChargeType = (['PayByTraffic', 'PayByBandwidth'] as const).find(
    (c) => c.toLowerCase() === charge.toLowerCase(),
  );
  if (!internetChargeType) {
    throw new UserError(
      `invalid --aliyunecs-internet-charge-type "${charge}": use PayByTraffic or PayByBandwidth`,
    );
  }
  const vswitchId = id(flags, 'aliyunecs-vswitch-id');
  const privateIp = str(flags['aliyunecs-private-ip']);
  if (privateIp !== undefined) {
    const m = IPV4.exec(privateIp);
    if (!m || m.slice(1).some((o) => Number(o) > 255)) {
      throw new UserError(`invalid --aliyunecs-private-ip "${privateIp}": expected an IPv4 address`);
    }
    if (!vswitchId)
      throw new UserError('--aliyunecs-private-ip needs --aliyunecs-vswitch-id (the address is in it)');
  }
  const sshKeyPair = str(flags['aliyunecs-ssh-keypair']);
  const sshKeyPath = str(flags['aliyunecs-ssh-keypath']);
  if (sshKeyPair !== undefined) {
    if (!/^[A-Za-z][\w.:-]{1,127}$/.test(sshKeyPair)) {
      throw new UserError(`invalid --aliyunecs-ssh-keypair "${sshKeyPair}": not a key pair name`);
    }
    if (!sshKeyPath) {
      throw new UserError(
        '--aliyunecs-ssh-keypair needs --aliyunecs-ssh-keypath: the private key of that key pair',
      );
    }
  }
  return {
    ...target,
    zoneId: id(flags, 'aliyunecs-zone'),
    imageId: id(flags, 'aliyunecs-image-id') ?? DEFAULTS.imageId,
    instanceType: id(flags, 'aliyunecs-instance-type') ?? DEFAULTS.instanceType,
    vpcId: id(flags, 'aliyunecs-vpc-id'),
    vswitchId,
    securityGroup,
    bandwidth,
    systemDiskSize,
    systemDiskCategory: diskCategory(flags, 'aliyunecs-system-disk-category'),
    dataDisk: dataDisk(flags),
    description,
    internetChargeType,
    privateAddressOnly: bool(flags['aliyunecs-private-address-only']),
    privateIp,
    sshKeyPair,
    sshKeyPath,
    sshPassword,
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

/** What the load balancer needs of the flags: the SLB to use, the group and VPC, the user's tags. */
export function lbSettingsFrom(flags: FlagValues) {
  const securityGroup = str(flags['aliyunecs-security-group']);
  return {
    slbId: id(flags, 'aliyunecs-slb-id'),
    vpcId: id(flags, 'aliyunecs-vpc-id'),
    securityGroup,
    tags: parseUserTags(list(flags['aliyunecs-tag'])),
  };
}
