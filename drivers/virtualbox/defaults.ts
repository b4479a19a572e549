/**
 * Ubuntu 24.04 LTS cloud image as a VMDK: VirtualBox clones it to a VDI directly, it boots with BIOS on
 * VirtualBox's SATA controller and e1000 NICs, and cloud-init reads the NoCloud seed we attach. Its
 * SHA256SUMS file sits next to it. (Debian publishes SHA512SUMS only, and its generic image is a .raw.)
 */
export const DEFAULT_IMAGE_URL =
  'https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.vmdk';

/** The user cloud-init creates, as docker-machine's boot2docker had. */
export const SSH_USER = 'docker';

/** Name of the storage controller the disk and the seed are attached to. */
export const STORAGE_CONTROLLER = 'SATA';

/** Name of the NAT port forward to the guest's sshd (docker-machine's). */
export const SSH_RULE = 'ssh';

export const NIC_TYPES = ['Am79C970A', 'Am79C973', '82540EM', '82543GC', '82545EM', 'virtio'] as const;
export const PROMISC_MODES = ['deny', 'allow-vms', 'allow-all'] as const;
export const UI_TYPES = ['headless', 'gui', 'sdl', 'separate'] as const;
