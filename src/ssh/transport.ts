import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import type { CommandResult, CommandTransport, ExecOptions } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { retryUntil } from '../util/async.js';
import { debug } from '../util/log.js';
import { shq } from '../util/shell.js';
import { KnownHosts } from './known-hosts.js';

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  privateKey: Buffer;
  knownHostsPath: string;
  /** Keep retrying refused or timed-out connections this long (a booting VM). */
  connectDeadlineMs?: number;
  readyTimeoutMs?: number;
  /** Pin the host key on first use (default); false only checks it against a pin already there. */
  pin?: boolean;
}

class HostKeyError extends Error {
  constructor(readonly userError: UserError) {
    super(userError.message);
  }
}

function connectOnce(opts: SshOptions, kh: KnownHosts): Promise<{ client: Client; hostKey?: Buffer }> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKey: Buffer | undefined;
    let keyError: UserError | undefined;
    const cfg: ConnectConfig = {
      host: opts.host,
      port: opts.port,
      username: opts.user,
      privateKey: opts.privateKey,
      readyTimeout: opts.readyTimeoutMs ?? 15_000,
      keepaliveInterval: 10_000,
      hostVerifier: (key: Buffer) => {
        hostKey = key;
        try {
          return kh.check(opts.host, opts.port, key);
        } catch (err) {
          keyError = err as UserError;
          return false;
        }
      },
    };
    // ssh2 can emit a second error (e.g. "Connection lost before handshake" after a reset): keep
    // listening so it is not unhandled, and settle the promise once.
    let settled = false;
    client
      .once('ready', () => {
        settled = true;
        resolve({ client, hostKey });
      })
      .on('error', (err) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(keyError ? new HostKeyError(keyError) : err);
      })
      .connect(cfg);
  });
}

const TRANSIENT = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ENETUNREACH']);

function describe(err: unknown, opts: SshOptions): UserError {
  if (err instanceof HostKeyError) return err.userError;
  const e = err as NodeJS.ErrnoException & { level?: string };
  const where = `${opts.user}@${opts.host}:${opts.port}`;
  if (e.level === 'client-authentication') {
    return new UserError(`SSH authentication failed for ${where}: the server refused the key`);
  }
  if (e.code && TRANSIENT.has(e.code)) return new UserError(`cannot reach ${where} over SSH (${e.code})`);
  if (/Timed out while waiting for handshake/.test(e.message)) {
    return new UserError(`cannot reach ${where} over SSH (no SSH handshake within the timeout)`);
  }
  return new UserError(`SSH to ${where} failed: ${e.message}`);
}

function transient(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { level?: string };
  if (err instanceof HostKeyError || e.level === 'client-authentication') return false;
  return (!!e.code && TRANSIENT.has(e.code)) || /handshake|ECONNRESET/.test(e.message ?? '');
}

/** A command channel over SSH (ssh2), with the host key pinned on first use. */
export class SshTransport implements CommandTransport {
  private constructor(
    private readonly client: Client,
    readonly opts: SshOptions,
  ) {}

  static async connect(opts: SshOptions): Promise<SshTransport> {
    const kh = await KnownHosts.load(opts.knownHostsPath);
    let conn: { client: Client; hostKey?: Buffer };
    try {
      conn = await retryUntil(() => connectOnce(opts, kh), {
        deadlineMs: opts.connectDeadlineMs ?? 0,
        retryable: transient,
        initialMs: 250,
      });
    } catch (err) {
      throw describe(err, opts);
    }
    if (opts.pin !== false && conn.hostKey && !kh.has(opts.host, opts.port)) {
      await kh.pin(opts.host, opts.port, conn.hostKey);
      debug(`pinned SSH host key of ${opts.host}:${opts.port}`);
    }
    return new SshTransport(conn.client, opts);
  }

  exec(command: string, opts: ExecOptions = {}): Promise<CommandResult> {
    const cmd = opts.root && this.opts.user !== 'root' ? `sudo -n sh -c ${shq(command)}` : command;
    debug(`ssh ${this.opts.host}: ${command.length > 200 ? command.slice(0, 200) + '…' : command}`);
    return new Promise((resolve, reject) => {
      this.client.exec(cmd, (err, stream) => {
        if (err) return reject(new UserError(`SSH exec on ${this.opts.host} failed: ${err.message}`));
        let stdout = '';
        let stderr = '';
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) {
          timer = setTimeout(() => {
            stream.close();
            reject(new UserError(`command on ${this.opts.host} timed out after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs);
        }
        stream.on('data', (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('close', (code: number | null) => {
          if (timer) clearTimeout(timer);
          resolve({ stdout, stderr, code: code ?? 255 });
        });
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      });
    });
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    const tmp = `${path}.swarmup-tmp`;
    const m = mode.toString(8);
    const r = await this.exec(
      `mkdir -p ${shq(dir)} && (umask 077; cat > ${shq(tmp)}) && chmod ${m} ${shq(tmp)} && mv -f ${shq(tmp)} ${shq(path)}`,
      { stdin: content, root: true },
    );
    if (r.code !== 0) throw new UserError(`cannot write ${path} on ${this.opts.host}: ${r.stderr.trim()}`);
  }

  async close(): Promise<void> {
    this.client.end();
  }

  /**
   * An interactive login through ssh2 (--native-ssh, or no OpenSSH client here): a terminal when stdin
   * is one (raw mode, resized with the window), else the login shell reading stdin. Resolves with its
   * exit code.
   */
  shell(): Promise<number> {
    const stdin = process.stdin;
    const tty = !!stdin.isTTY && !!process.stdout.isTTY;
    const window = tty
      ? { term: process.env.TERM || 'xterm', rows: process.stdout.rows, cols: process.stdout.columns }
      : false;
    return new Promise((resolve, reject) => {
      this.client.shell(window, (err, stream) => {
        if (err) return reject(new UserError(`SSH shell on ${this.opts.host} failed: ${err.message}`));
        const resize = () => stream.setWindow(process.stdout.rows, process.stdout.columns, 0, 0);
        if (tty) {
          stdin.setRawMode(true);
          process.stdout.on('resize', resize);
        }
        stream.pipe(process.stdout, { end: false });
        stream.stderr.pipe(process.stderr, { end: false });
        stdin.pipe(stream);
        stream.on('close', (code: number | null) => {
          stdin.unpipe(stream);
          stdin.pause();
          if (tty) {
            stdin.setRawMode(false);
            process.stdout.off('resize', resize);
          }
          resolve(code ?? 255);
        });
      });
    });
  }

  /** Run a command streaming its output to this process's stdout/stderr; resolves with its exit code. */
  execStreaming(command: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(new UserError(`SSH exec on ${this.opts.host} failed: ${err.message}`));
        stream.pipe(process.stdout, { end: false });
        stream.stderr.pipe(process.stderr, { end: false });
        if (process.stdin.isTTY) stream.end();
        else process.stdin.pipe(stream);
        stream.on('close', (code: number | null) => {
          process.stdin.unpipe(stream);
          process.stdin.pause();
          resolve(code ?? 255);
        });
      });
    });
  }
}
