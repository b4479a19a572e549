import { UserError } from '../errors.js';
import type { Machine } from '../machine/machine.js';
import { downloadScript, runPackageCommand, waitForCloudInit } from './engine-install.js';
import { isDebianLike, parseOsRelease } from './os-release.js';
import { provision } from './provisioner.js';

/** The engine's packages, as Docker's repository and the distributions name them. */
const ENGINE_PACKAGES = [
  'docker-ce',
  'docker-ce-cli',
  'docker-ce-rootless-extras',
  'docker-buildx-plugin',
  'docker-compose-plugin',
  'containerd.io',
  'docker.io',
  'docker-cli',
  'containerd',
  'runc',
];

/**
 * What is installed: each engine package's version (Debian-like machines) and dockerd's own, so that
 * any change, a containerd or runc update included, is seen.
 */
const VERSIONS = `dpkg-query -W -f '\${db:Status-Abbrev} \${Package}=\${Version}\\n' ${ENGINE_PACKAGES.join(' ')} 2>/dev/null | sed -n 's/^ii *//p' | sort
dockerd --version 2>/dev/null || true`;

/**
 * Maintainer scripts must not start or stop the engine (on a host without systemd they would start a
 * second dockerd beside the supervised one): a policy-rc.d that says no, only when there is none,
 * removed afterwards. The engine is restarted by provisioning instead.
 */
const withoutServiceStarts = (cmd: string) => `added=
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; added=1; fi
rc=0
( ${cmd} ) || rc=$?
[ -n "$added" ] && rm -f /usr/sbin/policy-rc.d
exit $rc`;

export interface UpgradeResult {
  upgraded: boolean;
  /** dockerd --version after the upgrade. */
  version: string;
  /** What changed, e.g. `containerd 1.6.20~ds1-1+deb12u2 -> 1.6.20~ds1-1+deb12u3`. */
  changes: string[];
}

/** The changes between two VERSIONS outputs: packages by name, and dockerd's own version line. */
export function versionChanges(before: string, after: string): string[] {
  const parse = (text: string) => {
    const m = new Map<string, string>();
    for (const line of text.split('\n').filter(Boolean)) {
      const eq = line.indexOf('=');
      if (line.startsWith('Docker version')) m.set('dockerd', line.replace(/^Docker version /, ''));
      else if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
    }
    return m;
  };
  const b = parse(before);
  const a = parse(after);
  const names = [...new Set([...b.keys(), ...a.keys()])].filter((n) => b.get(n) !== a.get(n));
  // dockerd's line repeats its package's version: named only when no package says it.
  const pkgs = names.filter((n) => n !== 'dockerd');
  return (pkgs.length ? pkgs : names).map((n) => `${n} ${b.get(n) ?? '(none)'} -> ${a.get(n) ?? '(none)'}`);
}

/**
 * Upgrade a running machine's engine as docker-machine's `upgrade` did: with the package manager, or by
 * running the machine's --engine-install-url again. When a package changed the engine is restarted
 * through provisioning, which keeps the certificates, the engine options and the swarm state (the data
 * root is untouched); when nothing changed it is a no-op and the engine keeps running.
 */
export async function upgradeEngine(m: Machine, log: (msg: string) => void): Promise<UpgradeResult> {
  const installUrl = m.cfg.HostOptions.EngineOptions.InstallURL;
  const t = await m.driver.transport();
  let before: string;
  let after: string;
  try {
    const os = parseOsRelease((await t.exec('cat /etc/os-release')).stdout);
    if (!installUrl && !isDebianLike(os)) {
      throw new UserError(
        `cannot upgrade Docker on ${os.PRETTY_NAME} automatically: the machine was not made with --engine-install-url`,
      );
    }
    before = (await t.exec(VERSIONS, { root: true })).stdout.trim();
    await waitForCloudInit(t);
    log(installUrl ? `Upgrading docker with ${installUrl}...` : 'Upgrading docker...');
    const cmd = installUrl
      ? `${downloadScript(installUrl)}\nsh /tmp/swarmup-install-docker.sh`
      : `export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && pkgs=$(dpkg-query -W -f '\${db:Status-Abbrev} \${Package}\\n' ${ENGINE_PACKAGES.join(' ')} 2>/dev/null | sed -n 's/^ii *//p') && apt-get install -y -qq --only-upgrade -o Dpkg::Options::=--force-confold $pkgs`;
    await runPackageCommand(t, withoutServiceStarts(cmd), 'upgrading Docker', log);
    after = (await t.exec(VERSIONS, { root: true })).stdout.trim();
  } finally {
    await t.close();
  }
  const changes = versionChanges(before, after);
  if (changes.length) {
    log('Restarting docker...');
    await provision(m, { log: () => undefined, restart: true });
  }
  const version = (after.split('\n').find((l) => l.startsWith('Docker version')) ?? '').replace(
    /^Docker version /,
    '',
  );
  return { upgraded: changes.length > 0, version, changes };
}
