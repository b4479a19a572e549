import { describe, it, expect } from 'vitest';
import { OLD_REMOTE_CERT_DIR, REMOTE, REMOTE_CERT_DIR } from '../../src/provision/engine-config.js';
import {
  CERTS_ORIG,
  CERT_FILES,
  DAEMON_JSON_ORIG,
  SWARMUP_DIR,
  parseOrigin,
} from '../../src/provision/origin.js';
import { withoutSwarmupKeys } from '../../src/provision/release.js';
import { renderTemplateFile } from '../../src/util/template.js';

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
    for (const engine of ['installed', 'adopted', 'unknown']) {
      const script = renderTemplateFile('host-release.sh', {
        findSupervisor: 'sup=',
        engine,
        running: 'yes',
        daemonJsonMode: 'saved',
        systemdOverride: REMOTE.systemdOverride,
        systemdOverrideDir: '/etc/systemd/system/docker.service.d',
        dockerdEnv: REMOTE.dockerdEnv,
        certDir: REMOTE_CERT_DIR,
        oldCertDir: OLD_REMOTE_CERT_DIR,
        certFiles: CERT_FILES.join(' '),
        certsOrig: CERTS_ORIG,
        daemonJson: REMOTE.daemonJson,
        daemonJsonOrig: DAEMON_JSON_ORIG,
        swarmupDir: SWARMUP_DIR,
      });
      expect(script).toContain(`ENGINE=${engine}`);
      // Only swarmup's own TLS files go: never the host's /etc/docker (its key.json, certs.d, ...).
      expect(script).toContain('rm -f /etc/docker/ca.pem /etc/docker/server.pem /etc/docker/server-key.pem');
      expect(script).not.toMatch(/rm -rf \/etc\/docker\s*$/m);
    }
  });
});
