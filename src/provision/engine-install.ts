import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import { shq } from '../util/shell.js';
import { isDebianLike, type OsRelease } from './os-release.js';

const APT_LOCK =
  /Could not get lock|Unable to acquire the dpkg|is another process using it|dpkg frontend lock/;

/** The command that installs the Docker Engine on this OS, or a clear error when we don't know how. */
export function installCommand(os: OsRelease, installUrl?: string): string {
  if (installUrl) {
    const u = shq(installUrl);
    return `set -e; (curl -fsSL ${u} || wget -qO- ${u}) > /tmp/swarmup-install-docker.sh; sh /tmp/swarmup-install-docker.sh`;
  }
  if (isDebianLike(os)) {
    return 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq docker.io';
  }
  throw new UserError(
    `cannot install Docker on ${os.PRETTY_NAME} automatically: pass --engine-install-url (for example https://get.docker.com)`,
  );
}

/**
 * Install the engine when `dockerd` is missing. Waits for cloud-init first (it holds the apt lock on
 * new VMs) and retries while another apt/dpkg holds the lock. Returns true when it installed.
 */
export async function installEngine(
  t: CommandTransport,
  os: OsRelease,
  installUrl: string | undefined,
  log: (m: string) => void,
): Promise<boolean> {
  if ((await t.exec('command -v dockerd', { root: true })).code === 0) return false;
  const cmd = installCommand(os, installUrl);
  await t.exec('command -v cloud-init >/dev/null 2>&1 && cloud-init status --wait >/dev/null 2>&1; true', {
    root: true,
    timeoutMs: 600_000,
  });
  log(
    installUrl
      ? `Installing Docker with ${installUrl}...`
      : 'Installing Docker from the distribution packages...',
  );
  for (let attempt = 1; ; attempt++) {
    const r = await t.exec(cmd, { root: true, timeoutMs: 1_200_000 });
    if (r.code === 0) return true;
    const err = (r.stderr || r.stdout).trim();
    if (APT_LOCK.test(err) && attempt < 40) {
      log('Waiting for another package manager to release its lock...');
      await delay(3_000);
      continue;
    }
    const last = err.split('\n').filter(Boolean).pop() ?? `exit code ${r.code}`;
    throw new UserError(`installing Docker failed: ${last}`);
  }
}
