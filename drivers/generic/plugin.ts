import type { DriverPlugin } from '../../src/driver/contract.js';

/** Flags of the generic driver; the implementation loads only when a generic machine is used. */
export const genericPlugin: DriverPlugin = {
  name: 'generic',
  description: 'an existing host reachable over SSH (any cloud, bare metal, a VM you made)',
  flags: [
    {
      name: 'generic-ip-address',
      env: 'GENERIC_IP_ADDRESS',
      type: 'string',
      required: true,
      description: 'IP address or host name of the host',
    },
    {
      name: 'generic-ssh-user',
      env: 'GENERIC_SSH_USER',
      type: 'string',
      default: 'root',
      description: 'SSH user (non-root users need passwordless sudo)',
    },
    {
      name: 'generic-ssh-key',
      env: 'GENERIC_SSH_KEY',
      type: 'string',
      required: true,
      description: 'private key that logs in as the SSH user; copied into the store',
    },
    {
      name: 'generic-ssh-port',
      env: 'GENERIC_SSH_PORT',
      type: 'number',
      default: 22,
      range: [1, 65535],
      description: 'SSH port',
    },
    {
      name: 'generic-engine-port',
      env: 'GENERIC_ENGINE_PORT',
      type: 'number',
      default: 2376,
      range: [1, 65535],
      description: 'port the Docker Engine TLS API listens on',
    },
    {
      name: 'generic-internal-ip',
      env: 'GENERIC_INTERNAL_IP',
      type: 'string',
      description: 'address other cluster members use (default: the IP address)',
    },
  ],
  inventory: {
    address: 'generic-ip-address',
    user: 'generic-ssh-user',
    port: 'generic-ssh-port',
    key: 'generic-ssh-key',
    internalAddress: 'generic-internal-ip',
  },
  load: () => import('./driver.js'),
};
