/** Defaults of the aliyunecs driver (kept apart so that the flag list loads nothing else). */
export const DEFAULTS = {
  region: 'cn-hangzhou',
  /** Aliyun's public Debian 12 image (DescribeImages --ImageOwnerAlias system lists newer ones). */
  imageId: 'debian_12_6_x64_20G_alibase_20240823.vhd',
  instanceType: 'ecs.g6.large',
  sshUser: 'root',
  /** The admin range against an emulator (a plain http endpoint): private and loopback ranges, as for GCE. */
  emulatorAdminCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8'],
  adminCidrHelp:
    'address ranges allowed to reach SSH (22) and Docker TLS (2376) (repeatable); required for the real API, e.g. 203.0.113.7/32',
} as const;
