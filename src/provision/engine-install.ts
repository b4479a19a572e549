import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import { shq } from '../util/shell.js';
import { isDebianLike, type OsRelease } from './os-release.js';

const APT_LOCK =
  /Could not get lock|Unable to acquire the dpkg|is another process using it|dpkg frontend lock/;

/** Where an install script is downloaded to on the machine. */
const SCRIPT = '/tmp/swarmup-install-docker.sh';

/**
 * Shell that downloads `url` to SCRIPT with curl, else wget. When neither can, it fails with one line
 * naming each tool's own error (`curl: (6) Could not resolve host: ...; wget: not installed`).
 */
export function downloadScript(url: string): string {
  const u = shq(url);
  return `got=; errs=
if command -v curl >/dev/null 2>&1; then
  if e=$(curl -fsSL -o ${SCRIPT} ${u} 2>&1); then got=1; else errs="curl: \${e#curl: }"; fi
else errs="curl: not installed"; fi
if [ -z "$got" ]; then
  if command -v wget >/dev/null 2>&1; then
    if e=$(wget -nv -O ${SCRIPT} ${u} 2>&1); then got=1; else errs="$errs; wget: $(printf %s "$e" | tail -n 1)"; fi
  else errs="$errs; wget: not installed"; fi
fi
if [ -z "$got" ]; then echo "cannot download ${url.replace(/["`$\\]/g, '\\$&')}: $errs" | tr '\\n' ' ' >&2; echo >&2; exit 1; fi`;
}

/** The command that installs the Docker Engine on this OS, or a clear error when we don't know how. */
export function installCommand(os: OsRelease, installUrl?: string): string {
  if (installUrl) return `${downloadScript(installUrl)}\nsh ${SCRIPT}`;
  if (isDebianLike(os)) {
    return 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq docker.io';
  }
  throw new UserError(
    `cannot install Docker on ${os.PRETTY_NAME} automatically: pass --engine-install-url (for example https://get.docker.com)`,
  );
}

/**
 * Run a package manager command as root, retrying while another apt/dpkg holds the lock (cloud-init
 * on new VMs). Fails with `what` and the command's last line of output.
 */
export async function runPackageCommand(
  t: CommandTransport,
  cmd: string,
  what: string,
  log: (m: string) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await t.exec(cmd, { root: true, timeoutMs: 1_200_000 });
    if (r.code === 0) return;
    const err = (r.stderr || r.stdout).trim();
    if (APT_LOCK.test(err) && attempt < 40) {
      log('Waiting for another package manager to release its lock...');
      await delay(3_000);
      continue;
    }
    const last = err.split('\n').filter(Boolean).pop() ?? `exit code ${r.code}`;
    throw new UserError(`${what} failed: ${last}`);
  }
}

/** Wait for cloud-init first: it holds the apt lock on new VMs. */
export async function waitForCloudInit(t: CommandTransport): Promise<void> {
  await t.exec('command -v cloud-init >/dev/null 2>&1 && cloud-init status --wait >/dev/null 2>&1; true', {
    root: true,
    timeoutMs: 600_000,
  });
}

/**
 * Install the engine when `dockerd` is missing. Waits for cloud-init first and retries while another
 * apt/dpkg holds the lock. Returns true when it installed.
 */
export async function installEngine(
  t: CommandTransport,
  os: OsRelease,
  installUrl: string | undefined,
  log: (m: string) => void,
): Promise<boolean> {
  if ((await t.exec('command -v dockerd', { root: true })).code === 0) return false;
  const cmd = installCommand(os, installUrl);
  await waitForCloudInit(t);
  log(
    installUrl
      ? `Installing Docker with ${installUrl}...`
      : 'Installing Docker from the distribution packages...',
  );
  await runPackageCommand(t, cmd, 'installing Docker', log);
  return true;
}
