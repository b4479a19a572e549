import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator drops the leading zero bytes of the public
 * key (about one key in 256), and the result is a key nothing parses: such a pair is made again.
 */
export function generateKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) || attempt === 8) return pair;
  }
}

/** Generate an ed25519 key pair (OpenSSH format): private key 0600, public key beside it. */
export async function generateSshKey(privatePath: string, comment = 'swarmup'): Promise<string> {
  const pair = generateKeyPair(comment);
  await writeFileAtomic(privatePath, pair.private, 0o600);
  await writeFileAtomic(`${privatePath}.pub`, `${pair.public}\n`, 0o644);
  return pair.public;
}

/** Read a private key and check that ssh2 can use it; returns its OpenSSH public key line. */
export async function loadPrivateKey(path: string): Promise<{ key: Buffer; publicKey: string }> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (err) {
    throw new UserError(`cannot read SSH key ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) throw new UserError(`SSH key ${path} is not usable: ${parsed.message}`);
  const k = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!k.isPrivateKey()) throw new UserError(`SSH key ${path} is not a private key`);
  return { key, publicKey: `${k.type} ${k.getPublicSSH().toString('base64')}` };
}
