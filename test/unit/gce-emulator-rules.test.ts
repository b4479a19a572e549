/** The GCE emulator's pure rules: list filters, names, URLs, ssh-keys parsing, address pools. */
import { describe, expect, it } from 'vitest';
import { GceError } from '../emulators/gce/errors.js';
import { compileFilter } from '../emulators/gce/filter.js';
import { backingVmName, guestScript, sshKeyUsers } from '../emulators/gce/guest.js';
import { IpPool } from '../emulators/gce/state.js';
import { parseRef, projectPath } from '../emulators/gce/urls.js';
import { checkName, isValidName, parsePortRange } from '../emulators/gce/validate.js';

const inst = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
  name,
  labels,
  status: 'RUNNING',
  tags: { items: ['web', 'swarm'] },
  networkInterfaces: [{ networkIP: '10.0.0.2', accessConfigs: [{ natIP: '1.2.3.4' }] }],
  ...extra,
});

describe('list filters', () => {
  const all = [
    inst('web-1', { role: 'web', env: 'prod' }),
    inst('web-2', { role: 'web' }),
    inst('db-1', { role: 'db' }),
    inst('bare'),
  ];
  const names = (f: string) => all.filter(compileFilter(f)).map((i) => i.name);

  it('labels.KEY = "VALUE", labels.KEY:*, name = "x"', () => {
    expect(names('labels.role = "web"')).toEqual(['web-1', 'web-2']);
    expect(names("labels.role = 'db'")).toEqual(['db-1']);
    expect(names('labels.role = web')).toEqual(['web-1', 'web-2']);
    expect(names('labels.env:*')).toEqual(['web-1']);
    expect(names('labels.role:*')).toEqual(['web-1', 'web-2', 'db-1']);
    expect(names('name = "bare"')).toEqual(['bare']);
    expect(names('name != "bare"')).toEqual(['web-1', 'web-2', 'db-1']);
  });

  it('conjunctions, disjunctions, negation, wildcards, regex (eq/ne), nested and repeated fields', () => {
    expect(names('labels.role = "web" AND labels.env = "prod"')).toEqual(['web-1']);
    expect(names('(labels.role = "web") (labels.env = "prod")')).toEqual(['web-1']);
    expect(names('(labels.role = "db") OR (name = "bare")')).toEqual(['db-1', 'bare']);
    expect(names('NOT labels.role:*')).toEqual(['bare']);
    expect(names('-labels.role:*')).toEqual(['bare']);
    expect(names('name = "web-*"')).toEqual(['web-1', 'web-2']);
    expect(names("name eq 'web-\\d'")).toEqual(['web-1', 'web-2']);
    expect(names("name ne 'web-.*'")).toEqual(['db-1', 'bare']);
    expect(names('tags.items = "swarm"')).toHaveLength(4);
    expect(names('networkInterfaces.accessConfigs.natIP = "1.2.3.4"')).toHaveLength(4);
    expect(names('name:web')).toEqual(['web-1', 'web-2']);
    expect(names('')).toHaveLength(4);
  });

  it('a malformed filter is the API 400 invalid', () => {
    for (const bad of ['name =', '(name = "a"', 'name', 'name eq "("', '= "x"']) {
      let err: unknown;
      try {
        compileFilter(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(GceError);
      expect((err as GceError).status).toBe(400);
      expect((err as GceError).message).toContain("Invalid value for field 'filter'");
    }
  });
});

describe('names and ports', () => {
  it('RFC 1035 names of 1-63 characters', () => {
    for (const ok of ['a', 'web-1', 'a'.repeat(63), 'x0-y9']) expect(isValidName(ok), ok).toBe(true);
    for (const bad of ['', 'A', '1a', 'a-', 'a_b', 'a.b', 'a'.repeat(64), 'é'])
      expect(isValidName(bad), bad).toBe(false);
    expect(() => checkName(undefined)).toThrow("Required field 'resource.name' not specified");
  });

  it('port ranges', () => {
    expect(parsePortRange('80')).toEqual([80, 80]);
    expect(parsePortRange('8000-8100')).toEqual([8000, 8100]);
    for (const bad of ['0', '65536', '90-80', '80-', 'x', '1-2-3'])
      expect(parsePortRange(bad), bad).toBeUndefined();
  });
});

describe('resource URLs', () => {
  it('full URLs of any host, projects/… and project-relative paths reduce to projects/…', () => {
    const want = 'projects/p/zones/z/instances/i';
    expect(projectPath('https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i', 'p')).toBe(
      want,
    );
    expect(projectPath('https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances/i', 'p')).toBe(
      want,
    );
    expect(projectPath('http://127.0.0.1:9999/compute/v1/projects/p/zones/z/instances/i', 'p')).toBe(want);
    expect(projectPath('projects/p/zones/z/instances/i', 'x')).toBe(want);
    expect(projectPath('zones/z/instances/i', 'p')).toBe(want);
    expect(projectPath('instances/i', 'p')).toBeUndefined();
    expect(parseRef('regions/r/targetPools/t', 'targetPools', 'p')).toMatchObject({
      scope: 'regions/r',
      name: 't',
    });
    expect(parseRef('regions/r/targetPools/t', 'addresses', 'p')).toBeUndefined();
  });
});

describe('guest configuration', () => {
  it('ssh-keys lines become users with their keys; malformed lines, root and bad names are skipped', () => {
    const users = sshKeyUsers([
      { key: 'foo', value: 'alice:ssh-ed25519 AAAAx ignored' },
      {
        key: 'ssh-keys',
        value: [
          'alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@host',
          'bob:ssh-rsa AAAAB3NzaC1yc2E= bob',
          'alice:ecdsa-sha2-nistp256 AAAAE2VjZHNh',
          'root:ssh-ed25519 AAAAC3Nz root',
          'Bad User:ssh-ed25519 AAAA',
          'not a key line',
          '',
        ].join('\n'),
      },
    ]);
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    expect(users.get('alice')).toEqual([
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@host',
      'ecdsa-sha2-nistp256 AAAAE2VjZHNh',
    ]);
  });

  it('the guest script sets the hostname, manages exactly the metadata users and removes root keys', () => {
    const s = guestScript(
      {
        hostname: 'web-1',
        fqdn: 'web-1.z.c.p.internal',
        users: new Map([['alice', ["ssh-ed25519 AAAA it's"]]]),
        startupScript: 'echo hi',
      },
      '172.29.0.9',
      true,
    );
    expect(s).toContain("name='web-1'");
    expect(s).toContain(`ensure_user 'alice' '${Buffer.from("ssh-ed25519 AAAA it's\n").toString('base64')}'`);
    expect(s).toContain('rm -f /root/.ssh/authorized_keys');
    expect(s).toContain('/run/google-startup-script');
    expect(guestScript({ hostname: 'h', fqdn: 'f', users: new Map() }, '1.2.3.4', false)).not.toContain(
      'startup',
    );
  });

  it('backing VM names are valid hostname labels, unique per project/zone/instance', () => {
    const a = backingVmName('p', 'z', 'web-1');
    expect(a).toMatch(/^gce-[0-9a-f]{6}-web-1$/);
    expect(backingVmName('q', 'z', 'web-1')).not.toBe(a);
    expect(backingVmName('p', 'z', 'x'.repeat(63))).toHaveLength(63);
  });
});

describe('address pools', () => {
  it('hands out <prefix>1..254 once each, accepts a free requested address, and releases', () => {
    const pool = new IpPool('127.77.5.');
    expect(pool.take('a')).toBe('127.77.5.1');
    expect(pool.take('b', '127.77.5.9')).toBe('127.77.5.9');
    expect(pool.take('c', '127.77.5.9')).toBeUndefined();
    expect(pool.take('d', '10.0.0.1')).toBeUndefined();
    pool.release('127.77.5.1');
    expect(pool.take('e')).toBe('127.77.5.1');
    expect(() => new IpPool('127.77.5')).toThrow();
  });
});
