import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { shq } from '../util/shell.js';

/**
 * A login user who is not root is in the `docker` group (made if missing: the engine's socket belongs
 * to it), so that `swarmup ssh NAME docker ps` works without sudo, as docker-machine arranged.
 * Idempotent: nothing changes when both hold; root logins need nothing. Every `swarmup ssh` is a new
 * login session, which reads the new membership. Returns true when the group had to be made (the
 * engine must then restart to hand it the socket).
 */
export async function ensureDockerGroup(t: CommandTransport, user: string | undefined): Promise<boolean> {
  if (!user || user === 'root') return false;
  const u = shq(user);
  const script = `made=0
if ! grep -q '^docker:' /etc/group && ! getent group docker >/dev/null 2>&1; then
  groupadd --system docker 2>/dev/null || addgroup -S docker || exit 1
  made=1
fi
if ! id -nG ${u} | tr ' ' '\\n' | grep -qx docker; then
  usermod -aG docker ${u} 2>/dev/null || addgroup ${u} docker || exit 1
fi
echo "made=$made"`;
  const r = await t.exec(script, { root: true });
  if (r.code !== 0) {
    throw new UserError(`adding ${user} to the docker group failed: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout.includes('made=1');
}
