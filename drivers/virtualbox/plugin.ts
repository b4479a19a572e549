import type { DriverPlugin } from '../../src/driver/contract.js';
import { DEFAULT_IMAGE_URL } from './defaults.js';

/**
 * Flags of the virtualbox driver: docker-machine's names and environment variables, with a cloud image
 * (Ubuntu by default) instead of boot2docker. The implementation loads only when a VirtualBox machine is used.
 */
export const virtualboxPlugin: DriverPlugin = {
  name: 'virtualbox',
  description:
    'a local VirtualBox VM booted from a cloud image (Ubuntu by default), driven through VBoxManage',
  flags: [
    {
      name: 'virtualbox-memory',
      env: 'VIRTUALBOX_MEMORY_SIZE',
      type: 'number',
      default: 1024,
      description: 'memory of the VM in MB',
    },
    {
      name: 'virtualbox-cpu-count',
      env: 'VIRTUALBOX_CPU_COUNT',
      type: 'number',
      default: 1,
      description: 'number of CPUs of the VM (0: as many as the host has)',
    },
    {
      name: 'virtualbox-disk-size',
      env: 'VIRTUALBOX_DISK_SIZE',
      type: 'number',
      default: 20000,
      description: 'size of the disk in MB (the image is grown to it)',
    },
    {
      name: 'virtualbox-image-url',
      env: 'VIRTUALBOX_IMAGE_URL',
      type: 'string',
      default: DEFAULT_IMAGE_URL,
      description:
        'cloud image with cloud-init (NoCloud): .vmdk/.vdi/.vhd or a raw disk; https:// or file://, cached in <store>/cache',
    },
    {
      name: 'virtualbox-image-checksum',
      env: 'VIRTUALBOX_IMAGE_CHECKSUM',
      type: 'string',
      description:
        'sha256:<hex> or sha512:<hex> of the image (default: looked up in the SHA256SUMS, else SHA512SUMS, file next to it)',
    },
    {
      name: 'virtualbox-hostonly-cidr',
      env: 'VIRTUALBOX_HOSTONLY_CIDR',
      type: 'string',
      default: '192.168.99.1/24',
      description:
        'host address and prefix of the host-only network (made, with its DHCP server, when missing)',
    },
    {
      name: 'virtualbox-hostonly-nictype',
      env: 'VIRTUALBOX_HOSTONLY_NIC_TYPE',
      type: 'string',
      default: '82540EM',
      description:
        'adapter type of the host-only NIC (Am79C970A, Am79C973, 82540EM, 82543GC, 82545EM, virtio)',
    },
    {
      name: 'virtualbox-hostonly-nicpromisc',
      env: 'VIRTUALBOX_HOSTONLY_NIC_PROMISC',
      type: 'string',
      default: 'deny',
      description: 'promiscuous mode of the host-only NIC (deny, allow-vms, allow-all)',
    },
    {
      name: 'virtualbox-nat-nictype',
      env: 'VIRTUALBOX_NAT_NICTYPE',
      type: 'string',
      default: '82540EM',
      description: 'adapter type of the NAT NIC',
    },
    {
      name: 'virtualbox-host-dns-resolver',
      env: 'VIRTUALBOX_HOST_DNS_RESOLVER',
      type: 'boolean',
      description: "use the host's DNS resolver for the NAT NIC",
    },
    {
      name: 'virtualbox-no-dns-proxy',
      env: 'VIRTUALBOX_NO_DNS_PROXY',
      type: 'boolean',
      description: 'do not proxy DNS requests of the NAT NIC to the host',
    },
    {
      name: 'virtualbox-no-share',
      env: 'VIRTUALBOX_NO_SHARE',
      type: 'boolean',
      description: 'do not share the home directories (/home as "hosthome" on Linux, /Users on macOS)',
    },
    {
      name: 'virtualbox-share-folder',
      env: 'VIRTUALBOX_SHARE_FOLDER',
      type: 'string',
      description: 'share this host directory instead of the home directories, as dir:name',
    },
    {
      name: 'virtualbox-ui-type',
      env: 'VIRTUALBOX_UI_TYPE',
      type: 'string',
      default: 'headless',
      description: 'how the VM starts: headless, gui, sdl or separate',
    },
    {
      name: 'virtualbox-shutdown-timeout',
      env: 'VIRTUALBOX_SHUTDOWN_TIMEOUT',
      type: 'number',
      default: 60,
      description: 'seconds `stop` waits for an ACPI shutdown before it powers the VM off',
    },
    {
      name: 'virtualbox-vboxmanage',
      env: 'VIRTUALBOX_VBOXMANAGE',
      type: 'string',
      description:
        'path of VBoxManage (default: found on PATH, then in VBOX_INSTALL_PATH / VBOX_MSI_INSTALL_PATH)',
    },
    {
      name: 'virtualbox-boot2docker-url',
      env: 'VIRTUALBOX_BOOT2DOCKER_URL',
      type: 'string',
      description: 'not supported (boot2docker is dead): use --virtualbox-image-url',
    },
  ],
  load: () => import('./driver.js'),
};
