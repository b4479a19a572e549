import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../src/errors.js';
import { retryUntil } from '../../src/util/async.js';
import { debug } from '../../src/util/log.js';

/** A failed VBoxManage call: its first `VBoxManage: error:` line and its COM result code. */
export class VBoxManageError extends UserError {
  constructor(
    readonly args: readonly string[],
    readonly detail: string,
    /** e.g. VBOX_E_OBJECT_NOT_FOUND, E_ACCESSDENIED; '' when VBoxManage printed none. */
    readonly code: string,
    readonly stderr: string,
  ) {
    super(`VBoxManage ${args[0] ?? ''} failed: ${detail}`);
  }
}

/** `Could not find a registered machine named 'x'` (or by UUID). */
export const isMachineNotFound = (err: unknown): boolean =>
  err instanceof VBoxManageError &&
  (err.code === 'VBOX_E_OBJECT_NOT_FOUND' || /Could not find a registered machine/.test(err.detail)) &&
  /machine/i.test(err.detail);

/** The machine is (still) locked by a session: running, or its session is being released. */
export const isLocked = (err: unknown): boolean =>
  err instanceof VBoxManageError && /is already locked|while it is locked|being unlocked/.test(err.detail);

export const isNotRunning = (err: unknown): boolean =>
  err instanceof VBoxManageError && /is not currently running/.test(err.detail);

/** Split VBoxManage's stderr into the first error message and the COM code of its Details line. */
export function parseVBoxError(stderr: string): { detail: string; code: string } {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => /^VBoxManage(?:\.exe)?: error: (.*)$/.exec(l)?.[1]?.trim())
    .filter((l): l is string => !!l);
  const messages = lines.filter((l) => !/^(Details|Context):/.test(l));
  const code = /^Details: code (\S+)/.exec(lines.find((l) => l.startsWith('Details:')) ?? '')?.[1] ?? '';
  const codeLine = /^Code (\S+)/.exec(messages[0] ?? '');
  if (codeLine) {
    // "Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)"
    return { detail: messages[0], code: codeLine[1] };
  }
  const fallback = stderr.trim().split(/\r?\n/).pop() ?? '';
  return { detail: messages[0] ?? (fallback || 'unknown error'), code };
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where VBoxManage is: the explicit path, else PATH, else the VirtualBox installer's environment
 * variables (VBOX_INSTALL_PATH, VBOX_MSI_INSTALL_PATH), else the platform's default install location.
 */
export async function findVBoxManage(explicit?: string, env = process.env): Promise<string> {
  if (explicit) {
    if (await executable(explicit)) return explicit;
    throw new UserError(`VBoxManage not found at ${explicit} (--virtualbox-vboxmanage)`);
  }
  const exe = process.platform === 'win32' ? 'VBoxManage.exe' : 'VBoxManage';
  const dirs = [
    ...(env.PATH ?? '').split(delimiter),
    ...[env.VBOX_INSTALL_PATH, env.VBOX_MSI_INSTALL_PATH].flatMap((p) => (p ?? '').split(delimiter)),
    ...(process.platform === 'darwin'
      ? ['/Applications/VirtualBox.app/Contents/MacOS', '/usr/local/bin']
      : []),
    ...(process.platform === 'win32' ? ['C:\\Program Files\\Oracle\\VirtualBox'] : []),
  ].filter(Boolean);
  for (const d of dirs) {
    for (const name of process.platform === 'linux' ? [exe, 'vboxmanage'] : [exe]) {
      if (await executable(join(d, name))) return join(d, name);
    }
  }
  throw new UserError(
    'VBoxManage not found: install VirtualBox (https://www.virtualbox.org/wiki/Downloads) or point --virtualbox-vboxmanage at it',
  );
}

/** VBoxManage's messages in English, whatever the user's locale, with the user's character set kept. */
function englishEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_MESSAGES: 'C', LANGUAGE: '' };
  if (env.LC_ALL) {
    env.LC_CTYPE ??= env.LC_ALL;
    delete env.LC_ALL;
  }
  return env;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs VBoxManage commands; every failure becomes a VBoxManageError with VBoxManage's own words. */
export class VBoxManage {
  private path?: Promise<string>;

  constructor(private readonly explicitPath?: string) {}

  binary(): Promise<string> {
    this.path ??= findVBoxManage(this.explicitPath);
    return this.path;
  }

  async run(args: string[]): Promise<RunResult> {
    const bin = await this.binary();
    debug(`VBoxManage ${args.join(' ')}`);
    const r = await execa(bin, args, { reject: false, env: englishEnv(), stdin: 'ignore' });
    const stdout = String(r.stdout ?? '');
    const stderr = String(r.stderr ?? '');
    // VBoxManage sometimes exits 0 after printing a fatal error (docker-machine saw this on Windows).
    if (r.exitCode !== 0 || /^VBoxManage(\.exe)?: error:/m.test(stderr)) {
      if (r.failed && r.exitCode === undefined) {
        throw new UserError(`cannot run ${bin}: ${r.shortMessage ?? 'unknown error'}`);
      }
      const { detail, code } = parseVBoxError(stderr);
      debug(`VBoxManage ${args[0]} failed (exit ${r.exitCode}): ${stderr.trim()}`);
      throw new VBoxManageError(args, detail, code, stderr);
    }
    return { stdout, stderr };
  }

  /**
   * Run a command that needs the machine's session lock, retrying while a session is being released
   * (right after a power-off VirtualBox still holds it for a moment).
   */
  runUnlocked(args: string[], deadlineMs = 15_000): Promise<RunResult> {
    return retryUntil(() => this.run(args), {
      deadlineMs,
      initialMs: 200,
      maxMs: 1_000,
      retryable: isLocked,
    });
  }
}
