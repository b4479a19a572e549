/**
 * A machine made in a batch is first reached with the batch's bootstrap key (the one key a batch
 * call can give every instance); its own key is installed over that first connection, so that from
 * then on it is logged in with a key no other machine accepts.
 */
import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { shq } from '../util/shell.js';

/**
 * Add `publicKey` to the login user's authorized_keys (once). `dropKey`: a public key line to take
 * out of the file (the bootstrap key, where nothing puts it back), matched by its key material.
 */
export async function installOwnKey(t: CommandTransport, publicKey: string, dropKey?: string): Promise<void> {
  const line = publicKey.trim();
  const drop = dropKey?.trim().split(/\s+/)[1];
  const script = [
    'set -e',
    'umask 077',
    'mkdir -p "$HOME/.ssh"',
    'f="$HOME/.ssh/authorized_keys"',
    'touch "$f"',
    `grep -qxF ${shq(line)} "$f" || printf '%s\\n' ${shq(line)} >>"$f"`,
    ...(drop ? [`grep -vF ${shq(drop)} "$f" >"$f.new" || true`, 'mv "$f.new" "$f"'] : []),
  ].join('\n');
  const r = await t.exec(script);
  if (r.code !== 0)
    throw new UserError(`cannot install the machine's own SSH key: ${(r.stderr || r.stdout).trim()}`);
}
