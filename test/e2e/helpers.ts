import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../../bin/swarmup', import.meta.url));

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run the built swarmup CLI as a user would, with a given store. */
export function swarmup(
  store: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<Run> {
  return sh(process.execPath, [bin, ...args], { ...env, SWARMUP_STORAGE_PATH: store }, input);
}

export function sh(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
  cwd?: string,
): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ stdout, stderr, code: code ?? 255 }));
    // A command may exit without reading its input (EPIPE): that is its business, not an error here.
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

export const bash = (script: string, env: NodeJS.ProcessEnv = {}) => sh('bash', ['-c', script], env);

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));

/** The variables a bash-format `swarmup env` sets. */
export function parseEnv(stdout: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)) vars[m[1]] = m[2];
  return vars;
}

/** A one-line user error: a single line on stderr and no stack trace. */
export function expectOneLineError(r: Run): string {
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1];
  if (r.code === 0) throw new Error(`expected failure, got exit 0: ${r.stdout}`);
  if (/^\s+at /m.test(r.stderr)) throw new Error(`stack trace printed:\n${r.stderr}`);
  return last;
}

/** Bad input caught before any work: the error is the only line on stderr. */
export function expectOnlyLineError(r: Run): string {
  const line = expectOneLineError(r);
  if (r.stderr.trim().split('\n').length !== 1)
    throw new Error(`expected one line on stderr, got:\n${r.stderr}`);
  return line;
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * Retry `fn` until it returns true or `ms` pass: a bounded wait on a condition, never a sleep. `what`
 * names the condition in the failure.
 */
export async function eventually(fn: () => Promise<boolean>, ms: number, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (let wait = 100; !(await fn()); wait = Math.min(wait * 2, 1_000)) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Command lines as scripts write them: bash -c in `cwd`, no terminal, stdin given or empty, with a
 * `swarmup` on the PATH (the built CLI) as docker-machine was. Returns the runner.
 */
export async function scriptShell(
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<(line: string, input?: string) => Promise<Run>> {
  const binDir = join(cwd, '.bin');
  await mkdir(binDir, { recursive: true });
  await writeFile(join(binDir, 'swarmup'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  await chmod(join(binDir, 'swarmup'), 0o755);
  const full = { ...env, PATH: `${binDir}:${env.PATH ?? process.env.PATH ?? ''}` };
  return (line, input = '') => sh('bash', ['-c', line], full, input, cwd);
}
