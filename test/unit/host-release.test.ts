import { describe, it, expect } from 'vitest';
import { parseOrigin } from '../../src/provision/origin.js';
import { releaseScript, withoutSwarmupKeys } from '../../src/provision/release.js';

describe('what a host had before swarmup', () => {
  it('reads the origin note, and nothing else', () => {
    expect(parseOrigin('engine=adopted\nrunning=yes\ndaemon-json=saved\n')).toEqual({
      engine: 'adopted',
      running: true,
      daemonJson: 'saved',
    });
    expect(parseOrigin('engine=installed\nrunning=no\ndaemon-json=none\n')).toMatchObject({
      engine: 'installed',
      running: false,
    });
    expect(parseOrigin('')).toBeUndefined();
    expect(parseOrigin('engine=rm -rf\ndaemon-json=none')).toBeUndefined();
  });

  it('takes swarmup’s keys out of a daemon.json whose original is not known', () => {
    const ours = JSON.stringify({
      hosts: ['unix:///var/run/docker.sock', 'tcp://0.0.0.0:2376'],
      tls: true,
      tlsverify: true,
      tlscacert: '/etc/docker/swarmup/ca.pem',
      tlscert: '/etc/docker/swarmup/server.pem',
      tlskey: '/etc/docker/swarmup/server-key.pem',
      labels: [],
      'insecure-registries': [],
      'registry-mirrors': [],
      'storage-driver': null,
    });
    expect(withoutSwarmupKeys(ours)).toBeUndefined();
    const withOwn = ours.replace('"labels":[]', '"labels":[],"log-driver":"journald"');
    expect(JSON.parse(withoutSwarmupKeys(withOwn)!)).toEqual({ 'log-driver': 'journald' });
    expect(withoutSwarmupKeys('not json')).toBeUndefined();
  });

  it('renders the release script for every case without a missing value', () => {
    for (const engine of ['installed', 'adopted', 'unknown'] as const) {
      const script = releaseScript({ engine, running: true, daemonJson: 'saved' });
      expect(script).toContain(`ENGINE=${engine}`);
      // Only swarmup's own TLS files go: never the host's /etc/docker (its key.json, certs.d, ...).
      expect(script).toContain('rm -f /etc/docker/ca.pem /etc/docker/server.pem /etc/docker/server-key.pem');
      expect(script).not.toMatch(/rm -rf \/etc\/docker\s*$/m);
    }
  });
});
