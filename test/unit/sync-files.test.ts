import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandTransport, CommandResult, ExecOptions } from '../../src/driver/contract.js';
import { syncFiles } from '../../src/provision/sync-files.js';

/** A transport whose "machine" is this host's own sh: the script really runs; every command is kept. */
function localShell(): CommandTransport & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    exec(command: string, opts: ExecOptions = {}): Promise<CommandResult> {
      commands.push(command);
      return new Promise((resolve) => {
        const p = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('close', (code) => resolve({ stdout, stderr, code: code ?? 255 }));
        p.stdin.end(opts.stdin ?? '');
      });
    },
    writeFile: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
}

describe('syncFiles', () => {
  it('writes what differs with its mode, never putting file contents on a command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-sync-'));
    const key = '-----BEGIN PRIVATE KEY-----\nsecret key material\n-----END PRIVATE KEY-----\n';
    const files = [
      { path: join(dir, 'certs', 'server-key.pem'), content: key, mode: 0o600 },
      { path: join(dir, 'daemon.json'), content: '{"a": "it\'s $HOME `x`"}\n', mode: 0o644 },
      { path: join(dir, 'same.txt'), content: 'unchanged\n', mode: 0o644 },
    ];
    await writeFile(files[2].path, 'unchanged\n');
    const t = localShell();
    expect(await syncFiles(t, files)).toEqual([files[0].path, files[1].path]);
    expect(await readFile(files[0].path, 'utf8')).toBe(key);
    expect(await readFile(files[1].path, 'utf8')).toBe(files[1].content);
    expect((await stat(files[0].path)).mode & 0o777).toBe(0o600);
    expect((await stat(files[1].path)).mode & 0o777).toBe(0o644);
    const b64 = Buffer.from(key).toString('base64');
    for (const c of t.commands) {
      expect(c).not.toContain('secret key material');
      expect(c).not.toContain(b64.slice(0, 40));
    }
    // A second run finds everything in place and writes nothing.
    expect(await syncFiles(t, files)).toEqual([]);
  });
});
