/** Defaults of the aliyunecs driver (kept apart so that the flag list loads nothing else). */
export const DEFAULTS = {
  region: 'cn-hangzhou',
  /** Aliyun's public Debian 12 image (DescribeImages --ImageOwnerAlias system lists newer ones). */
  imageId: 'debian_12_6_x64_20G_alibase_20240823.vhd',
  instanceType: 'ecs.g6.large',
  sshUser: 'root',
  adminCidrHelp:
    'address ranges allowed to reach SSH (22) and Docker TLS (2376) (repeatable); required for the real API, e.g. 203.0.113.7/32',
} as const;

/** Disk categories CreateInstance takes (SystemDisk.Category, DataDisk.N.Category). */
export const DISK_CATEGORIES = [
  'cloud',
  'cloud_efficiency',
  'cloud_ssd',
  'cloud_essd',
  'cloud_auto',
  'cloud_essd_entry',
] as const;
