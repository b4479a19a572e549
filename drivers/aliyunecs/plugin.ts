import type { DriverPlugin } from '../../src/driver/contract.js';
import { DEFAULTS, DISK_CATEGORIES } from './defaults.js';

/**
 * Flags of the aliyunecs driver, named and with the environment variables of docker-machine's
 * aliyunecs plugin; the implementation (and @alicloud/pop-core) loads only when it is used.
 */
export const aliyunecsPlugin: DriverPlugin = {
  name: 'aliyunecs',
  description: 'an Aliyun (Alibaba Cloud) ECS instance, with SLB load balancing for lb sync',
  flags: [
    {
      name: 'aliyunecs-access-key-id',
      env: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
      type: 'string',
      secret: true,
      description: 'access key id (or ALIBABA_CLOUD_ACCESS_KEY_ID, ECS_ACCESS_KEY_ID); never stored',
    },
    {
      name: 'aliyunecs-access-key-secret',
      env: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
      type: 'string',
      secret: true,
      description:
        'access key secret (or ALIBABA_CLOUD_ACCESS_KEY_SECRET, ECS_ACCESS_KEY_SECRET); never stored',
    },
    {
      name: 'aliyunecs-region',
      env: 'ECS_REGION',
      type: 'string',
      default: DEFAULTS.region,
      description: 'region of the instances and the load balancer',
    },
    {
      name: 'aliyunecs-zone',
      env: 'ECS_ZONE',
      type: 'string',
      description: 'zone of the instances (default: chosen by Aliyun, or the vswitch zone)',
    },
    {
      name: 'aliyunecs-image-id',
      env: 'ECS_IMAGE_ID',
      type: 'string',
      default: DEFAULTS.imageId,
      description: 'image of the instances (Debian 12)',
    },
    {
      name: 'aliyunecs-instance-type',
      env: 'ECS_INSTANCE_TYPE',
      type: 'string',
      default: DEFAULTS.instanceType,
      description: 'instance type',
    },
    {
      name: 'aliyunecs-vpc-id',
      env: 'ECS_VPC_ID',
      type: 'string',
      description: 'VPC of the security group (needed with --aliyunecs-vswitch-id on VPC accounts)',
    },
    {
      name: 'aliyunecs-vswitch-id',
      env: 'ECS_VSWITCH_ID',
      type: 'string',
      description: 'vswitch (subnet) of the instances',
    },
    {
      name: 'aliyunecs-security-group',
      env: 'ECS_SECURITY_GROUP',
      type: 'string',
      description:
        'security group name, created when missing (default: swarmup-<cluster>, or swarmup-<machine> outside a cluster)',
    },
    {
      name: 'aliyunecs-internet-max-bandwidth',
      env: 'ECS_INTERNET_MAX_BANDWIDTH',
      type: 'number',
      default: 1,
      description: 'outbound public bandwidth in Mbit/s, 1..100 (pay by traffic)',
    },
    {
      name: 'aliyunecs-system-disk-size',
      env: 'ECS_SYSTEM_DISK_SIZE',
      type: 'number',
      description: 'system disk size in GiB, 20..500 (default: the image size)',
    },
    {
      name: 'aliyunecs-system-disk-category',
      env: 'ECS_SYSTEM_DISK_CATEGORY',
      type: 'string',
      description: `system disk category: ${DISK_CATEGORIES.join(', ')} (default: Aliyun's for the instance type)`,
    },
    {
      name: 'aliyunecs-disk-size',
      env: 'ECS_DISK_SIZE',
      type: 'number',
      description:
        'a data disk of this many GiB, deleted with the instance (attached, not formatted or mounted)',
    },
    {
      name: 'aliyunecs-disk-category',
      env: 'ECS_DISK_CATEGORY',
      type: 'string',
      description: `data disk category: ${DISK_CATEGORIES.join(', ')} (with --aliyunecs-disk-size)`,
    },
    {
      name: 'aliyunecs-description',
      env: 'ECS_DESCRIPTION',
      type: 'string',
      description: 'description of the instances (2 to 256 characters)',
    },
    {
      name: 'aliyunecs-internet-charge-type',
      env: 'ECS_INTERNET_CHARGE_TYPE',
      type: 'string',
      default: 'PayByTraffic',
      description: 'PayByTraffic or PayByBandwidth (outbound public traffic)',
    },
    {
      name: 'aliyunecs-private-address-only',
      env: 'ECS_PRIVATE_ADDR_ONLY',
      type: 'boolean',
      description:
        'no public address: the machine is reached on its private address (this host must be in the VPC or connected to it)',
    },
    {
      name: 'aliyunecs-private-ip',
      env: 'ECS_VPC_PRIVATE_IP',
      type: 'string',
      description: 'private address of the instance in the vswitch (one machine: not with cluster up)',
    },
    {
      name: 'aliyunecs-ssh-keypair',
      env: 'ECS_SSH_KEYPAIR',
      type: 'string',
      description:
        'an existing key pair to put on the instances instead of importing one (needs --aliyunecs-ssh-keypath); never deleted',
    },
    {
      name: 'aliyunecs-ssh-keypath',
      env: 'ECS_SSH_KEYPATH',
      type: 'string',
      description:
        'private key file to log in with (copied into the machine directory, 0600) instead of generating one',
    },
    {
      name: 'aliyunecs-ssh-password',
      env: 'ECS_SSH_PASSWORD',
      type: 'string',
      secret: true,
      description:
        "the instances' root password (8-30 characters, three of upper, lower, digit, special); swarmup still logs in with its key; never stored",
    },
    {
      name: 'aliyunecs-route-cidr',
      env: 'ECS_ROUTE_CIDR',
      type: 'string',
      description:
        'not acted on (a warning): a VPC route for the classic docker0 bridge; swarm overlay networks need none',
    },
    {
      name: 'aliyunecs-upgrade-kernel',
      env: 'ECS_UPGRADE_KERNEL',
      type: 'boolean',
      description: "not acted on (a warning): it upgraded Ubuntu 14.04's kernel",
    },
    {
      name: 'aliyunecs-disk-fs',
      env: 'ECS_DISK_FS',
      type: 'string',
      description: 'not acted on (a warning): the data disk is attached unformatted',
    },
    {
      name: 'aliyunecs-resource-group-id',
      env: 'ECS_RESOURCE_GROUP_ID',
      type: 'string',
      description: "not acted on (a warning): instances go to the account's default resource group",
    },
    {
      name: 'aliyunecs-io-optimized',
      env: 'ECS_IO_OPTIMIZED',
      type: 'string',
      default: 'optimized',
      description: 'optimized or none (current instance types need optimized)',
    },
    {
      name: 'aliyunecs-slb-id',
      env: 'ECS_SLB_ID',
      type: 'string',
      description:
        'an existing SLB for lb sync to use instead of creating one; it is never deleted, only swarmup listeners and backends leave it',
    },
    {
      name: 'aliyunecs-tag',
      env: 'ECS_TAGS',
      type: 'list',
      description: 'tag key=value on every resource (repeatable)',
    },
    {
      name: 'aliyunecs-api-endpoint',
      env: 'ECS_API_ENDPOINT',
      type: 'string',
      description:
        'API endpoint for both ECS and SLB, e.g. an emulator or a private endpoint (default: public)',
    },
    {
      name: 'aliyunecs-admin-cidr',
      env: 'ECS_ADMIN_CIDR',
      type: 'list',
      description: DEFAULTS.adminCidrHelp,
    },
  ],
  load: () => import('./driver.js'),
};
