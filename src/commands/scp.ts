import type { Command } from 'commander';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix, resolve } from 'node:path';
import type { ArchiveAccess, SshTarget } from '../driver/contract.js';
import { UserError } from '../errors.js';
import type { Machine } from '../machine/machine.js';
import { loadPrivateKey } from '../ssh/keys.js';
import { onPath, spawnInherit, sshConfigFile } from '../ssh/openssh.js';
import { SshTransport } from '../ssh/transport.js';
import { info } from '../util/log.js';
import { packPath, unpackRenamed } from '../util/tar.js';
import { sshMachine } from './ssh.js';

/** One side of a copy: a local path, or `[user@]machine:path` (`localhost:path` is local, as docker-machine). */
export interface ScpOperand {
  machine?: string;
  user?: string;
  path: string;
}

export function parseScpOperand(arg: string): ScpOperand {
  const colon = arg.indexOf(':');
  // No colon, or a slash before it (scp's own rule: ./a:b is a local file).
  if (colon === -1 || arg.slice(0, colon).includes('/')) return { path: arg };
  let host = arg.slice(0, colon);
  const path = arg.slice(colon + 1);
  let user: string | undefined;
  const at = host.lastIndexOf('@');
  if (at !== -1) {
    user = host.slice(0, at);
    host = host.slice(at + 1);
  }
  if (host === 'localhost') return { path };
  return { machine: host, user, path };
}

export interface ScpOptions {
  recursive?: boolean;
  delta?: boolean;
  quiet?: boolean;
}

interface Side {
  op: ScpOperand;
  machine?: Machine;
}

/**
 * `scp [-r] [-d] [-q] SRC DST`, docker-machine's way: `machine:path` on either side or both. Machines
 * with SSH are copied with OpenSSH's scp (both at once: through this host, each with its own port, key
 * and pinned host key), or rsync with -d when both ends have it; the docker driver's through the
 * engine's archive API.
 */
export async function scp(src: string, dst: string, opts: ScpOptions, cmd: Command): Promise<void> {
  const sides: Side[] = [{ op: parseScpOperand(src) }, { op: parseScpOperand(dst) }];
  if (!sides.some((s) => s.op.machine)) throw new UserError('scp needs a machine on one side: NAME:path');
  for (const s of sides) if (s.op.machine) s.machine = await sshMachine(cmd, s.op.machine);
  const say = (msg: string) => (opts.quiet ? undefined : info(msg));
  if (sides.some((s) => s.machine && !s.machine.driver.sshTarget)) {
    if (opts.delta) say('-d: no rsync through the engine API; copying everything');
    await copyThroughHost(sides, opts);
    return;
  }
  if (opts.delta) {
    const why = await rsyncMissing(sides);
    if (!why) {
      process.exitCode = await runRsync(sides, opts);
      return;
    }
    say(`-d: ${why}; copying with scp instead`);
  }
  process.exitCode = await runScp(sides, opts);
}

const aliasOf = (m: Machine) => `swarmup.${m.cfg.Name}`;

/** The operand as OpenSSH sees it with our ssh_config: the machine's Host alias. */
function sshOperand(s: Side): string {
  if (!s.machine) return s.op.path;
  return `${s.op.user ? `${s.op.user}@` : ''}${aliasOf(s.machine)}:${s.op.path}`;
}

async function withSshConfig<T>(sides: Side[], fn: (config: string) => Promise<T>): Promise<T> {
  const hosts = new Map<string, SshTarget>();
  for (const s of sides) if (s.machine) hosts.set(aliasOf(s.machine), s.machine.driver.sshTarget!());
  const cfg = await sshConfigFile([...hosts].map(([alias, target]) => ({ alias, target })));
  try {
    return await fn(cfg.path);
  } finally {
    await cfg.cleanup();
  }
}

function runScp(sides: Side[], opts: ScpOptions): Promise<number> {
  return withSshConfig(sides, (config) =>
    spawnInherit('scp', [
      '-F',
      config,
      ...(sides.every((s) => s.machine) ? ['-3'] : []),
      ...(opts.recursive ? ['-r'] : []),
      ...(opts.quiet ? ['-q'] : []),
      '--',
      ...sides.map(sshOperand),
    ]),
  );
}

/** Why rsync cannot do this copy, or undefined when it can (one machine, rsync at both ends). */
async function rsyncMissing(sides: Side[]): Promise<string | undefined> {
  const remote = sides.filter((s) => s.machine);
  if (remote.length === 2) return 'rsync cannot copy between two machines';
  if (!(await onPath('rsync'))) return 'rsync is not installed on this host';
  const m = remote[0].machine!;
  const t = m.driver.sshTarget!();
  const { key } = await loadPrivateKey(t.keyPath);
  const conn = await SshTransport.connect({ ...t, privateKey: key });
  try {
    if ((await conn.exec('command -v rsync')).code !== 0) return `rsync is not installed on ${m.cfg.Name}`;
  } finally {
    await conn.close();
  }
  return undefined;
}

function runRsync(sides: Side[], opts: ScpOptions): Promise<number> {
  return withSshConfig(sides, (config) =>
    spawnInherit('rsync', [
      ...(opts.quiet ? [] : ['--progress']),
      '-e',
      `ssh -F '${config.replace(/'/g, `'\\''`)}'`,
      ...(opts.recursive ? ['-r'] : []),
      ...sides.map(sshOperand),
    ]),
  );
}

/** A path on a machine without SSH, absolute (relative ones are in root's home, as over ssh), no trailing slash. */
function remotePath(p: string): string {
  const abs = posix.resolve('/root', p || '.');
  return abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
}

const isLocalDir = (p: string) =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** machine:path → a local path, through the archive API (tar), scp's naming rules. */
async function download(a: ArchiveAccess, path: string, local: string, recursive: boolean): Promise<void> {
  const from = remotePath(path);
  const st = await a.stat(from);
  if (!st) throw new UserError(`scp: ${path}: No such file or directory`);
  if (st.isDir && !recursive)
    throw new UserError(`scp: ${path}: not a regular file (use -r for directories)`);
  const target = (await isLocalDir(local)) ? join(local, posix.basename(from)) : local;
  await unpackRenamed(await a.get(from), resolve(target));
}

/** A local path → machine:path, through the archive API (tar), scp's naming rules. */
async function upload(local: string, a: ArchiveAccess, path: string, recursive: boolean): Promise<void> {
  const from = await stat(local).catch(() => undefined);
  if (!from) throw new UserError(`scp: ${local}: No such file or directory`);
  if (from.isDirectory() && !recursive) {
    throw new UserError(`scp: ${local}: not a regular file (use -r for directories)`);
  }
  const to = remotePath(path);
  const st = await a.stat(to);
  const [dir, name] = st?.isDir ? [to, basename(resolve(local))] : [posix.dirname(to), posix.basename(to)];
  if (!st?.isDir && !(await a.stat(dir))?.isDir)
    throw new UserError(`scp: ${path}: No such file or directory`);
  await a.put(dir, packPath(local, name, recursive));
}

/** Some side has no SSH: copy through a local temporary directory where both sides are not local. */
async function copyThroughHost(sides: Side[], opts: ScpOptions): Promise<void> {
  const [from, to] = sides;
  const tmp = from.machine && to.machine ? await mkdtemp(join(tmpdir(), 'swarmup-scp-')) : undefined;
  try {
    let local = from.op.path;
    if (from.machine) {
      local = tmp ? join(tmp, posix.basename(remotePath(from.op.path))) : to.op.path;
      await fetchSide(from, local, opts);
      if (!tmp) return;
    }
    await sendSide(local, to, opts);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

async function fetchSide(from: Side, local: string, opts: ScpOptions): Promise<void> {
  const m = from.machine!;
  if (m.driver.sshTarget) {
    const code = await runScp([from, { op: { path: local } }], opts);
    if (code !== 0) throw new UserError(`scp from ${m.cfg.Name} failed (exit code ${code})`);
    return;
  }
  await withArchive(m, (a) => download(a, from.op.path, local, !!opts.recursive));
}

async function sendSide(local: string, to: Side, opts: ScpOptions): Promise<void> {
  const m = to.machine!;
  if (m.driver.sshTarget) {
    const code = await runScp([{ op: { path: local } }, to], opts);
    if (code !== 0) throw new UserError(`scp to ${m.cfg.Name} failed (exit code ${code})`);
    return;
  }
  await withArchive(m, (a) => upload(local, a, to.op.path, !!opts.recursive));
}

async function withArchive(m: Machine, fn: (a: ArchiveAccess) => Promise<void>): Promise<void> {
  const t = await m.driver.transport();
  try {
    if (!t.archive) throw new UserError(`the ${m.cfg.DriverName} driver cannot copy files`);
    await fn(t.archive);
  } finally {
    await t.close();
  }
}
