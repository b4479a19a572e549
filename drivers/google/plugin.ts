import type { DriverPlugin, FlagSpec } from '../../src/driver/contract.js';
import { GOOGLE_DEFAULTS } from './defaults.js';

const flag = (f: Omit<FlagSpec, 'env'>): FlagSpec => ({
  ...f,
  env: `GOOGLE_${f.name.slice('google-'.length).toUpperCase().replace(/-/g, '_')}`,
});

/** Flags of the google driver (docker-machine's names and environment variables, plus a few). */
export const googlePlugin: DriverPlugin = {
  name: 'google',
  description: 'a Google Compute Engine VM (credentials: Application Default Credentials)',
  flags: [
    flag({ name: 'google-project', type: 'string', required: true, description: 'GCP project ID' }),
    flag({ name: 'google-zone', type: 'string', default: GOOGLE_DEFAULTS.zone, description: 'zone' }),
    flag({
      name: 'google-machine-type',
      type: 'string',
      default: GOOGLE_DEFAULTS.machineType,
      description: 'machine type',
    }),
    flag({
      name: 'google-machine-image',
      type: 'string',
      default: GOOGLE_DEFAULTS.machineImage,
      description: 'boot image: a URL, projects/P/global/images/[family/]NAME, or an image of the project',
    }),
    flag({
      name: 'google-username',
      type: 'string',
      default: GOOGLE_DEFAULTS.username,
      description: 'SSH user (its key goes in through the instance metadata ssh-keys)',
    }),
    flag({
      name: 'google-service-account',
      type: 'string',
      description: 'service account e-mail of the VM (default: the default compute service account)',
    }),
    flag({
      name: 'google-scopes',
      type: 'list',
      description: `access scopes of the VM's service account (default: ${GOOGLE_DEFAULTS.scopes.join(',')})`,
    }),
    flag({
      name: 'google-disk-size',
      type: 'number',
      default: GOOGLE_DEFAULTS.diskSize,
      description: 'boot disk size in GB',
    }),
    flag({
      name: 'google-disk-type',
      type: 'string',
      default: GOOGLE_DEFAULTS.diskType,
      description: 'boot disk type: pd-standard, pd-balanced, pd-ssd',
    }),
    flag({
      name: 'google-network',
      type: 'string',
      default: GOOGLE_DEFAULTS.network,
      description: 'VPC network',
    }),
    flag({ name: 'google-subnetwork', type: 'string', description: 'subnetwork of the region' }),
    flag({
      name: 'google-address',
      type: 'string',
      description: 'static external IP: an address or the name of a reserved regional address',
    }),
    flag({
      name: 'google-preemptible',
      type: 'boolean',
      description: 'a preemptible VM (cheaper; GCE may stop it at any time)',
    }),
    flag({
      name: 'google-tags',
      type: 'list',
      description: 'extra network tags (comma-separated or repeated)',
    }),
    flag({
      name: 'google-use-internal-ip',
      type: 'boolean',
      description: 'reach the VM at its internal IP (swarmup runs inside the VPC)',
    }),
    flag({
      name: 'google-use-internal-ip-only',
      type: 'boolean',
      description: 'no external IP at all (implies --google-use-internal-ip)',
    }),
    flag({
      name: 'google-use-existing',
      type: 'boolean',
      description:
        'adopt the existing instance named like the machine instead of creating one (rm leaves it)',
    }),
    flag({
      name: 'google-open-port',
      type: 'list',
      description: 'port to open to the internet, e.g. 80 or 53/udp (repeatable)',
    }),
    flag({
      name: 'google-admin-cidr',
      type: 'list',
      description:
        'address ranges allowed to reach SSH (22) and Docker TLS (2376); required for the real API, e.g. 203.0.113.7/32',
    }),
    flag({
      name: 'google-labels',
      type: 'list',
      description: 'labels on every resource, key=value (comma-separated or repeated)',
    }),
    flag({
      name: 'google-endpoint',
      type: 'string',
      description:
        'Compute API endpoint, e.g. http://127.0.0.1:8085 for an emulator (plain http: no credentials sent)',
    }),
  ],
  load: () => import('./driver.js'),
};
