import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';

/** The host name form used by OpenSSH's known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Key type from an SSH public key blob (its first length-prefixed string). */
function blobType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Host keys pinned on first use, stored in OpenSSH known_hosts format so that the system `ssh`
 * can use the same file with StrictHostKeyChecking=yes.
 */
export class KnownHosts {
  private entries = new Map<string, Buffer>();

  private constructor(readonly path: string) {}

  static async load(path: string): Promise<KnownHosts> {
    const kh = new KnownHosts(path);
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const [name, , b64] = line.trim().split(/\s+/);
      if (name && b64 && !name.startsWith('#')) kh.entries.set(name, Buffer.from(b64, 'base64'));
    }
    return kh;
  }

  /** Check a presented key: true if it matches the pin or there is none yet; a mismatch throws. */
  check(host: string, port: number, blob: Buffer): boolean {
    const name = knownHostsName(host, port);
    const pinned = this.entries.get(name);
    if (!pinned) return true;
    if (pinned.equals(blob)) return true;
    throw new UserError(
      `SSH host key for ${name} has changed (pinned ${fingerprint(pinned)}, presented ${fingerprint(blob)}): ` +
        `refusing to connect. If the host was rebuilt on purpose, delete ${this.path} and retry`,
    );
  }

  has(host: string, port: number): boolean {
    return this.entries.has(knownHostsName(host, port));
  }

  async pin(host: string, port: number, blob: Buffer): Promise<void> {
    this.entries.set(knownHostsName(host, port), blob);
    const lines = [...this.entries].map(([n, b]) => `${n} ${blobType(b)} ${b.toString('base64')}`);
    await writeFileAtomic(this.path, lines.join('\n') + '\n', 0o600);
  }
}
