// CreateInstance/RunInstances parameters that shape a machine but not its life cycle: description,
// disks, internet charge type and a requested private address, checked as ECS checks them.
import type { VmBacking } from './backing.js';
import { ApiError, missing } from './errors.js';
import type { Params } from './params.js';

const DISK_CATEGORIES = [
  'cloud',
  'cloud_efficiency',
  'cloud_ssd',
  'cloud_essd',
  'cloud_auto',
  'cloud_essd_entry',
];

export interface Disk {
  category: string;
  size: number;
  deleteWithInstance: boolean;
}

export interface LaunchOptions {
  description: string;
  internetChargeType: 'PayByTraffic' | 'PayByBandwidth';
  /** Category (Aliyun's default cloud_efficiency) and size in GiB (undefined: the image's). */
  systemDisk: { category: string; size?: number };
  dataDisks: Disk[];
  /** PrivateIpAddress: the machine's address in the vSwitch, instead of one picked for it. */
  privateIp?: string;
  /** Whether a root password was set (Password); like the cloud, never shown again. */
  passwordSet: boolean;
}

/**
 * Password as ECS checks it: 8 to 30 characters from letters, digits and ()`~!@#$%^&*-_+=|{}[]:;'<>,.?/,
 * with three of upper case, lower case, digits and those specials.
 */
function password(p: Params): boolean {
  const pw = p.str('Password');
  if (pw === undefined) return false;
  const allowed = /^[A-Za-z0-9()`~!@#$%^&*\-_+=|{}[\]:;'<>,.?/]{8,30}$/;
  const kinds = [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
  if (!allowed.test(pw) || kinds < 3) {
    throw new ApiError('InvalidPassword.Malformed', 'The specified parameter "Password" is not valid.');
  }
  return true;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function category(p: Params, name: string, code: string, def: string): string {
  const v = p.str(name) ?? def;
  if (!DISK_CATEGORIES.includes(v)) throw new ApiError(code, `The specified parameter ${name} is not valid.`);
  return v;
}

function size(p: Params, name: string, code: string, min: number, max: number): number | undefined {
  const v = p.str(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new ApiError(code, `The specified ${name} beyond the permitted range (${min} to ${max} GiB).`);
  }
  return n;
}

/**
 * Read and check the launch options. `taken` tells whether another instance has an address; a private
 * address needs a VSwitchId and must lie in the backing's vSwitch.
 */
export function launchOptions(
  p: Params,
  o: { vswitch: VmBacking['vswitch']; amount: number; taken: (ip: string) => boolean },
): LaunchOptions {
  const description = p.str('Description') ?? '';
  if (
    description &&
    (description.length < 2 || description.length > 256 || /^https?:\/\//.test(description))
  ) {
    throw new ApiError('InvalidDescription.Malformed', 'The specified parameter Description is not valid.');
  }
  const charge = p.str('InternetChargeType') ?? 'PayByTraffic';
  if (charge !== 'PayByTraffic' && charge !== 'PayByBandwidth') {
    throw new ApiError(
      'InvalidInternetChargeType.ValueNotSupported',
      'The specified InternetChargeType is not valid.',
    );
  }
  const systemDisk = {
    category: category(
      p,
      'SystemDisk.Category',
      'InvalidSystemDiskCategory.ValueNotSupported',
      'cloud_efficiency',
    ),
    size: size(p, 'SystemDisk.Size', 'InvalidSystemDiskSize', 20, 2048),
  };
  const indexes = p.indexed('DataDisk');
  if (indexes.length > 16) {
    throw new ApiError(
      'InstanceDiskNumber.LimitExceed',
      'The total number of specified disk in an instance exceeds.',
    );
  }
  const dataDisks = indexes.map((n): Disk => {
    const cat = category(p, `DataDisk.${n}.Category`, 'InvalidDataDiskCategory.ValueNotSupported', 'cloud');
    const [min, max] = cat === 'cloud' ? [5, 2000] : [20, 32768];
    const s = size(p, `DataDisk.${n}.Size`, 'InvalidDataDiskSize.ValueNotSupported', min, max);
    if (s === undefined) throw missing(`DataDisk.${n}.Size`);
    return { category: cat, size: s, deleteWithInstance: p.bool(`DataDisk.${n}.DeleteWithInstance`, true) };
  });
  const privateIp = p.str('PrivateIpAddress');
  if (privateIp !== undefined) {
    const m = IPV4.exec(privateIp);
    if (!m || m.slice(1).some((x) => Number(x) > 255)) {
      throw new ApiError('InvalidPrivateIpAddress.Malformed', 'Specified private IP address is malformed.');
    }
    if (!p.str('VSwitchId')) throw missing('VSwitchId');
    if (o.amount > 1) {
      throw new ApiError(
        'InvalidParameter',
        'PrivateIpAddress can be given for one instance only (Amount 1).',
      );
    }
    if (!o.vswitch.contains(privateIp)) {
      throw new ApiError(
        'InvalidPrivateIpAddress',
        `Specified private IP address is not in the CIDR block of virtual switch (${o.vswitch.cidr}).`,
      );
    }
    if (o.taken(privateIp)) {
      throw new ApiError('InvalidPrivateIpAddress.Duplicated', 'Specified private IP address is duplicated.');
    }
  }
  return {
    description,
    internetChargeType: charge,
    systemDisk,
    dataDisks,
    privateIp,
    passwordSet: password(p),
  };
}
