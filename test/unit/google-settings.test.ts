import { describe, it, expect } from 'vitest';
import { googlePlugin } from '../../drivers/google/plugin.js';
import {
  EMULATOR_ADMIN_CIDRS,
  imageUrl,
  listOf,
  parseCidr,
  parseOpenPort,
  requireAdminCidrs,
  settingsFromFlags,
  subnetworkUrl,
} from '../../drivers/google/settings.js';
import {
  LABEL,
  decodeExpiry,
  encodeExpiry,
  encodeLabelKey,
  encodeLabelValue,
  ownedBy,
  ownerDescription,
  parseOwner,
  parseUserLabels,
  resourceLabels,
} from '../../src/cloud/gce/labels.js';
import {
  instanceAddresses,
  instanceBody,
  machineState,
  sshKeysEntry,
} from '../../drivers/google/instance.js';
import { parseEndpoint } from '../../src/cloud/gce/api.js';
import { flagOption } from '../../src/commands/create-options.js';
import { driverFlagValues } from '../../src/commands/driver-flags.js';
import { flagsFromEnv } from '../../src/driver/flags.js';
import { Command } from 'commander';

const parse = (argv: string[], env: Record<string, string> = {}) => {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = new Command('create').exitOverride();
    for (const f of googlePlugin.flags) cmd.addOption(flagOption(f));
    cmd.parse(argv, { from: 'user' });
    return driverFlagValues(googlePlugin, cmd.opts());
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
};

describe('google driver flags', () => {
  it("has docker-machine's flag names and GOOGLE_* environment variables", () => {
    const names = googlePlugin.flags.map((f) => f.name);
    for (const n of [
      'google-project',
      'google-zone',
      'google-machine-type',
      'google-machine-image',
      'google-username',
      'google-service-account',
      'google-scopes',
      'google-disk-size',
      'google-disk-type',
      'google-network',
      'google-subnetwork',
      'google-address',
      'google-preemptible',
      'google-tags',
      'google-use-internal-ip',
      'google-use-internal-ip-only',
      'google-use-existing',
      'google-open-port',
      'google-endpoint',
      'google-labels',
      'google-admin-cidr',
    ]) {
      expect(names).toContain(n);
    }
    expect(googlePlugin.flags.find((f) => f.name === 'google-use-internal-ip-only')?.env).toBe(
      'GOOGLE_USE_INTERNAL_IP_ONLY',
    );
    expect(googlePlugin.flags.find((f) => f.name === 'google-project')?.required).toBe(true);
    expect(googlePlugin.flags.some((f) => f.secret)).toBe(false); // credentials never come from flags
  });

  it('parses flags with the defaults of the brief', () => {
    const s = settingsFromFlags(parse(['--google-project', 'proj-1']));
    expect(s).toMatchObject({
      project: 'proj-1',
      zone: 'us-central1-a',
      region: 'us-central1',
      machineType: 'e2-small',
      machineImage: 'projects/debian-cloud/global/images/family/debian-12',
      username: 'docker-user',
      diskSize: 10,
      diskType: 'pd-standard',
      network: 'default',
      preemptible: false,
      useInternalIp: false,
      adminCidrs: [],
    });
    expect(() => requireAdminCidrs(s)).toThrow(/--google-admin-cidr is required/);
  });

  it('takes repeated and comma-separated lists, booleans, numbers and env vars', () => {
    const s = settingsFromFlags(
      parse(
        [
          '--google-project',
          'proj-1',
          '--google-zone',
          'europe-west1-b',
          '--google-open-port',
          '80',
          '--google-open-port',
          '53/udp,443/tcp',
          '--google-tags',
          'a,b',
          '--google-use-internal-ip-only',
          '--google-disk-size',
          '30',
          '--google-labels',
          'team=infra,env=ci',
        ],
        { GOOGLE_ADMIN_CIDR: '203.0.113.7,198.51.100.0/24', GOOGLE_PREEMPTIBLE: 'true' },
      ),
    );
    expect(s.region).toBe('europe-west1');
    expect(s.openPorts).toEqual([
      { protocol: 'tcp', port: 80 },
      { protocol: 'udp', port: 53 },
      { protocol: 'tcp', port: 443 },
    ]);
    expect(s.tags).toEqual(['a', 'b']);
    expect(s.useInternalIp).toBe(true); // implied by --google-use-internal-ip-only
    expect(s.diskSize).toBe(30);
    expect(s.adminCidrs).toEqual(['203.0.113.7/32', '198.51.100.0/24']);
    expect(s.preemptible).toBe(true);
    expect(s.labels).toEqual({ team: 'infra', env: 'ci' });
  });

  it('defaults the admin ranges to private ranges only for a plain-http (emulator) endpoint', () => {
    const s = settingsFromFlags({ 'google-project': 'p-1', 'google-endpoint': 'http://127.0.0.1:9' });
    expect(s.adminCidrs).toEqual(EMULATOR_ADMIN_CIDRS);
    expect(() => requireAdminCidrs(s)).not.toThrow();
    const real = settingsFromFlags({
      'google-project': 'p-1',
      'google-endpoint': 'https://compute.example.com',
    });
    expect(real.adminCidrs).toEqual([]);
  });

  it('rejects bad values with one clear line', () => {
    expect(() => settingsFromFlags({})).toThrow(/--google-project is required/);
    expect(() => settingsFromFlags({ 'google-project': 'p-1', 'google-zone': 'moon' })).toThrow(
      /invalid --google-zone/,
    );
    expect(() => settingsFromFlags({ 'google-project': 'p-1', 'google-disk-size': 5 })).toThrow(
      /at least 10/,
    );
    expect(() => parseOpenPort('70000')).toThrow(/1-65535/);
    expect(() => parseOpenPort('80/icmp')).toThrow(/invalid --google-open-port/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/IPv4 range/);
    expect(() => parseEndpoint('ftp://x')).toThrow(/http/);
    expect(() => parseEndpoint('http://127.0.0.1:9/compute')).toThrow(/only the scheme/);
    expect(() => settingsFromFlags({ 'google-project': 'p-1', 'google-labels': ['Bad=x'] })).toThrow(
      /invalid --google-labels/,
    );
    expect(() => settingsFromFlags({ 'google-project': 'p-1', 'google-labels': ['swarmup-x=1'] })).toThrow(
      /reserved/,
    );
  });

  it('reads flags from GOOGLE_* alone for label sweeps (cluster down from an empty store)', () => {
    process.env.GOOGLE_PROJECT = 'from-env';
    try {
      const f = flagsFromEnv(googlePlugin);
      expect(f['google-project']).toBe('from-env');
      expect(f['google-zone']).toBe('us-central1-a');
    } finally {
      delete process.env.GOOGLE_PROJECT;
    }
  });

  it('parses endpoints: plain http keeps its port, https defaults to 443', () => {
    expect(parseEndpoint('http://127.0.0.1:8085')).toEqual({
      base: 'http://127.0.0.1:8085',
      host: '127.0.0.1',
      port: 8085,
      protocol: 'http',
    });
    expect(parseEndpoint(undefined)).toMatchObject({
      host: 'compute.googleapis.com',
      port: 443,
      protocol: 'https',
    });
    expect(listOf(['a,b', ' c '])).toEqual(['a', 'b', 'c']);
  });
});

describe('google labels', () => {
  it('encodes keys and values to what GCE accepts', () => {
    expect(encodeLabelKey('swarmup.cluster')).toBe('swarmup-cluster');
    expect(encodeLabelKey('Team/Name')).toBe('team-name');
    expect(encodeLabelKey('9lives')).toBe('l-9lives');
    expect(encodeLabelValue('Hello World!')).toBe('hello_world_');
    expect(encodeLabelValue('x'.repeat(80))).toHaveLength(63);
  });

  it('stores the expiry as unix seconds and reads it back', () => {
    const iso = '2030-01-02T03:04:05.000Z';
    const v = encodeExpiry(iso)!;
    expect(v).toMatch(/^[0-9]+$/);
    expect(decodeExpiry(v)).toBe(iso);
    expect(decodeExpiry('soon')).toBeUndefined();
  });

  it('labels every resource with cluster, role, store and the encoded membership labels', () => {
    const l = resourceLabels({
      user: { team: 'infra' },
      membership: { 'swarmup.expires': '2030-01-02T03:04:05Z', Tier: 'Gold' },
      cluster: 'gce1',
      role: 'worker',
      machine: 'gce1-worker-1',
      store: 'ab12cd34ef56ab78',
    });
    expect(l).toEqual({
      team: 'infra',
      tier: 'gold',
      [LABEL.expires]: String(Date.parse('2030-01-02T03:04:05Z') / 1000),
      [LABEL.managed]: 'true',
      [LABEL.cluster]: 'gce1',
      [LABEL.role]: 'worker',
      [LABEL.machine]: 'gce1-worker-1',
      [LABEL.store]: 'ab12cd34ef56ab78',
    });
    for (const [k, v] of Object.entries(l)) {
      expect(k).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
      expect(v).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
    expect(parseUserLabels(['a=1,b='])).toEqual({ a: '1', b: '' });
  });

  it('writes and recognises ownership descriptions, and nothing else', () => {
    const d = ownerDescription({ kind: 'cluster', name: 'gce1' }, 'lb-target-pool');
    expect(JSON.parse(d)).toEqual({ 'swarmup/cluster': 'gce1', 'swarmup/role': 'lb-target-pool' });
    expect(parseOwner(d)).toEqual({ owner: { kind: 'cluster', name: 'gce1' }, role: 'lb-target-pool' });
    expect(ownedBy(d, { kind: 'cluster', name: 'gce1' })).toBe(true);
    expect(ownedBy(d, { kind: 'cluster', name: 'gce2' })).toBe(false);
    expect(ownedBy(d, { kind: 'machine', name: 'gce1' })).toBe(false);
    expect(ownedBy('made by hand', { kind: 'cluster', name: 'gce1' })).toBe(false);
    expect(ownedBy('{"swarmup/cluster": 1}', { kind: 'cluster', name: 'gce1' })).toBe(false);
  });
});

describe('google instance', () => {
  const s = settingsFromFlags({
    'google-project': 'proj-1',
    'google-endpoint': 'http://127.0.0.1:1',
    'google-subnetwork': 'sub1',
  });

  it('renders the insert body: image, disk, NAT, ssh-keys metadata, tags, labels', () => {
    const body = instanceBody({
      name: 'm1',
      settings: s,
      sshKeys: sshKeysEntry('docker-user', 'ssh-ed25519 AAAAC3Nz swarmup-m1'),
      tags: ['swarmup', 'swarmup-c1'],
      labels: { 'swarmup-cluster': 'c1' },
    });
    expect(body.machineType).toBe('zones/us-central1-a/machineTypes/e2-small');
    expect(body.disks?.[0].initializeParams).toMatchObject({
      sourceImage: 'projects/debian-cloud/global/images/family/debian-12',
      diskSizeGb: '10',
      diskType: 'zones/us-central1-a/diskTypes/pd-standard',
    });
    expect(body.networkInterfaces?.[0]).toMatchObject({
      network: 'global/networks/default',
      subnetwork: 'regions/us-central1/subnetworks/sub1',
      accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
    });
    expect(body.metadata?.items).toEqual([
      { key: 'ssh-keys', value: 'docker-user:ssh-ed25519 AAAAC3Nz docker-user' },
    ]);
    expect(body.tags?.items).toEqual(['swarmup', 'swarmup-c1']);
    expect(body.labels).toEqual({ 'swarmup-cluster': 'c1' });
    expect(subnetworkUrl(s)).toBe('regions/us-central1/subnetworks/sub1');
    expect(imageUrl({ ...s, machineImage: 'my-image' })).toBe('projects/proj-1/global/images/my-image');
  });

  it('has no external address with --google-use-internal-ip-only', () => {
    const body = instanceBody({
      name: 'm1',
      settings: { ...s, useInternalIpOnly: true },
      sshKeys: '',
      tags: [],
      labels: {},
    });
    expect(body.networkInterfaces?.[0].accessConfigs).toEqual([]);
  });

  it('reads addresses and maps states', () => {
    expect(
      instanceAddresses({
        networkInterfaces: [{ networkIP: '10.0.0.2', accessConfigs: [{ natIP: '34.1.2.3' }] }],
      }),
    ).toEqual({ natIP: '34.1.2.3', networkIP: '10.0.0.2' });
    expect(machineState('RUNNING')).toBe('Running');
    expect(machineState('TERMINATED')).toBe('Stopped');
    expect(machineState('STAGING')).toBe('Starting');
    expect(machineState(undefined)).toBe('None');
  });
});
