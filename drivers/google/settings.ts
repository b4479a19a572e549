/** The google driver's flags, checked and with defaults settled (pure: no SDK, no network). */
import type { FlagValues } from '../../src/driver/contract.js';
import { UserError } from '../../src/errors.js';
import { parseEndpoint, regionOf } from '../../src/cloud/gce/api.js';
import { parseUserLabels } from '../../src/cloud/gce/labels.js';
import { GOOGLE_DEFAULTS } from './defaults.js';
import { EMULATOR_ADMIN_CIDRS } from '../../src/driver/admin-range.js';

export const NAME_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PROJECT_RE = /^[a-z][-a-z0-9.:]{4,61}[a-z0-9]$|^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
const ZONE_RE = /^[a-z]+-[a-z]+\d+-[a-z]$/;

/** Where the admin ports (SSH 22, Docker TLS 2376) are open from when an emulator is used. */
export { EMULATOR_ADMIN_CIDRS };

export interface OpenPort {
  protocol: 'tcp' | 'udp';
  port: number;
}

export interface GoogleSettings {
  project: string;
  zone: string;
  region: string;
  machineType: string;
  machineImage: string;
  username: string;
  serviceAccount: string;
  scopes: string[];
  diskSize: number;
  diskType: string;
  network: string;
  subnetwork?: string;
  address?: string;
  preemptible: boolean;
  tags: string[];
  useInternalIp: boolean;
  useInternalIpOnly: boolean;
  useExisting: boolean;
  openPorts: OpenPort[];
  /** Empty when none was given for the real API: the pre-create check then refuses. */
  adminCidrs: string[];
  labels: Record<string, string>;
  endpoint?: string;
}

const str = (v: FlagValues[string]): string => (v === undefined || v === null ? '' : String(v).trim());

/** A list flag: repeated values and comma-separated ones (as environment variables give them). */
export function listOf(v: FlagValues[string]): string[] {
  const items = Array.isArray(v) ? v : v === undefined || v === '' ? [] : [String(v)];
  return items
    .flatMap((i) => String(i).split(','))
    .map((i) => i.trim())
    .filter(Boolean);
}

export function boolOf(v: FlagValues[string]): boolean {
  if (typeof v === 'boolean') return v;
  const s = str(v).toLowerCase();
  return s === '1' || s === 'true' || s === 'yes';
}

/** `80`, `80/tcp`, `53/udp` → OpenPort. */
export function parseOpenPort(v: string): OpenPort {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(v.trim());
  const port = m ? Number(m[1]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new UserError(`invalid --google-open-port "${v}": expected PORT or PORT/tcp or PORT/udp (1-65535)`);
  }
  return { protocol: (m[2]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp', port };
}

/** An IPv4 CIDR (a bare address means /32). */
export function parseCidr(v: string, flag = '--google-admin-cidr'): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v.trim());
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) {
    throw new UserError(`invalid ${flag} "${v}": expected an IPv4 range such as 203.0.113.7/32`);
  }
  return `${m.slice(1, 5).map(Number).join('.')}/${m[5] ?? 32}`;
}

export function settingsFromFlags(flags: FlagValues): GoogleSettings {
  const project = str(flags['google-project']);
  if (!project)
    throw new UserError('--google-project is required for the google driver (or set GOOGLE_PROJECT)');
  if (!PROJECT_RE.test(project)) throw new UserError(`invalid --google-project "${project}"`);
  const zone = str(flags['google-zone']) || GOOGLE_DEFAULTS.zone;
  if (!ZONE_RE.test(zone))
    throw new UserError(`invalid --google-zone "${zone}": expected e.g. us-central1-a`);
  const diskSizeRaw = flags['google-disk-size'];
  const diskSize =
    diskSizeRaw === undefined || diskSizeRaw === '' ? GOOGLE_DEFAULTS.diskSize : Number(diskSizeRaw);
  if (!Number.isInteger(diskSize) || diskSize < 10 || diskSize > 65536) {
    throw new UserError(
      `invalid --google-disk-size "${String(diskSizeRaw)}": a whole number of GB, at least 10`,
    );
  }
  const username = str(flags['google-username']) || GOOGLE_DEFAULTS.username;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(username)) {
    throw new UserError(`invalid --google-username "${username}": a Linux user name (a-z 0-9 _ -)`);
  }
  const network = str(flags['google-network']) || GOOGLE_DEFAULTS.network;
  const tags = listOf(flags['google-tags']);
  for (const t of tags)
    if (!NAME_RE.test(t))
      throw new UserError(`invalid --google-tags "${t}": a-z 0-9 and -, starting with a letter`);
  const endpoint = str(flags['google-endpoint']) || undefined;
  const ep = parseEndpoint(endpoint);
  const given = listOf(flags['google-admin-cidr']).map((c) => parseCidr(c));
  const useInternalIpOnly = boolOf(flags['google-use-internal-ip-only']);
  const scopes = listOf(flags['google-scopes']);
  return {
    project,
    zone,
    region: regionOf(zone),
    machineType: str(flags['google-machine-type']) || GOOGLE_DEFAULTS.machineType,
    machineImage: str(flags['google-machine-image']) || GOOGLE_DEFAULTS.machineImage,
    username,
    serviceAccount: str(flags['google-service-account']) || 'default',
    scopes: scopes.length ? scopes : [...GOOGLE_DEFAULTS.scopes],
    diskSize,
    diskType: str(flags['google-disk-type']) || GOOGLE_DEFAULTS.diskType,
    network,
    subnetwork: str(flags['google-subnetwork']) || undefined,
    address: str(flags['google-address']) || undefined,
    preemptible: boolOf(flags['google-preemptible']),
    tags,
    useInternalIp: useInternalIpOnly || boolOf(flags['google-use-internal-ip']),
    useInternalIpOnly,
    useExisting: boolOf(flags['google-use-existing']),
    openPorts: listOf(flags['google-open-port']).map(parseOpenPort),
    adminCidrs: given.length ? given : ep.protocol === 'http' ? [...EMULATOR_ADMIN_CIDRS] : [],
    labels: parseUserLabels(listOf(flags['google-labels'])),
    endpoint,
  };
}

/** The admin range check: refused before anything is made (exit 3, like docker-machine's pre-create). */
export function requireAdminCidrs(s: GoogleSettings): void {
  if (s.adminCidrs.length === 0) {
    throw new UserError(
      '--google-admin-cidr is required: the address range this host reaches the VMs from over SSH (22) and Docker TLS (2376), ' +
        'e.g. your public IP as 203.0.113.7/32 (0.0.0.0/0 opens both ports to the whole internet)',
    );
  }
}

/** `zones/Z/machineTypes/T` unless given as a path or URL. */
export const machineTypeUrl = (s: GoogleSettings) =>
  s.machineType.includes('/') ? s.machineType : `zones/${s.zone}/machineTypes/${s.machineType}`;
export const diskTypeUrl = (s: GoogleSettings) =>
  s.diskType.includes('/') ? s.diskType : `zones/${s.zone}/diskTypes/${s.diskType}`;
/** An image path or URL as given; a bare name is an image of the project. */
export const imageUrl = (s: GoogleSettings) =>
  s.machineImage.includes('/') ? s.machineImage : `projects/${s.project}/global/images/${s.machineImage}`;
export const subnetworkUrl = (s: GoogleSettings) =>
  !s.subnetwork
    ? undefined
    : s.subnetwork.includes('/')
      ? s.subnetwork
      : `regions/${s.region}/subnetworks/${s.subnetwork}`;
