import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { CommandResult, CommandTransport, ExecOptions } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { delay } from '../util/async.js';
import { debug } from '../util/log.js';
import { shq } from '../util/shell.js';

/** Collects a stream's bytes; decoded once at the end so multi-byte characters are never split. */
class Sink extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const apiMessage = (err: unknown) =>
  ((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err)).trim();

/**
 * Commands in a container over the Docker Engine API (`docker exec`), as root. Used by the docker
 * driver instead of SSH: stdin goes over the hijacked connection and is half-closed at its end.
 */
export class DockerExecTransport implements CommandTransport {
  constructor(
    private readonly docker: Docker,
    private readonly containerId: string,
    /** Shown in errors, e.g. the container name. */
    private readonly label = containerId.slice(0, 12),
  ) {}

  async exec(command: string, opts: ExecOptions = {}): Promise<CommandResult> {
    const oneLine = command.replace(/\s+/g, ' ').trim();
    debug(`docker exec ${this.label}: ${oneLine.length > 200 ? oneLine.slice(0, 200) + '…' : oneLine}`);
    const { stdin } = opts;
    const withStdin = stdin !== undefined;
    let exec: Docker.Exec;
    let stream: NodeJS.ReadWriteStream;
    try {
      exec = await this.docker.getContainer(this.containerId).exec({
        Cmd: ['/bin/sh', '-c', command],
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        User: 'root',
      });
      stream = await exec.start({ hijack: withStdin, stdin: withStdin });
    } catch (err) {
      throw new UserError(`cannot run a command in ${this.label}: ${apiMessage(err)}`);
    }
    const stdout = new Sink();
    const stderr = new Sink();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            (stream as unknown as { destroy(): void }).destroy();
            reject(new UserError(`command in ${this.label} timed out after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : undefined;
      const done = (err?: Error) => {
        if (timer) clearTimeout(timer);
        if (err) reject(new UserError(`command in ${this.label} failed: ${err.message}`));
        else resolve();
      };
      stream.once('end', () => done());
      stream.once('close', () => done());
      stream.once('error', done);
      if (stdin !== undefined) stream.end(stdin);
    });
    return { stdout: stdout.text(), stderr: stderr.text(), code: await this.exitCode(exec) };
  }

  /** The engine may report the exec as running for a moment after its output ended. */
  private async exitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; ; i++) {
      const info = await exec.inspect();
      if (!info.Running || i >= 100) return info.ExitCode ?? 255;
      await delay(20);
    }
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    if (!path.startsWith('/')) throw new Error(`writeFile needs an absolute path, got ${path}`);
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    const tmp = `${path}.swarmup-tmp-${randomBytes(4).toString('hex')}`;
    const r = await this.exec(
      `mkdir -p ${shq(dir)} && (umask 077; cat > ${shq(tmp)}) && chmod ${mode.toString(8)} ${shq(tmp)} && ` +
        `mv -f ${shq(tmp)} ${shq(path)} || { rm -f ${shq(tmp)}; exit 1; }`,
      { stdin: content },
    );
    if (r.code !== 0) throw new UserError(`cannot write ${path} in ${this.label}: ${r.stderr.trim()}`);
  }

  async close(): Promise<void> {}
}
