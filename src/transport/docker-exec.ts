import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { ArchiveAccess, CommandResult, CommandTransport, ExecOptions } from '../driver/contract.js';
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
    const { exec, stream } = await this.start(command, stdin !== undefined);
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

  /** `sh -c command` as root in the container, its output (and stdin, if wanted) on the stream. */
  private async start(
    command: string,
    withStdin: boolean,
  ): Promise<{ exec: Docker.Exec; stream: NodeJS.ReadWriteStream }> {
    try {
      const exec = await this.docker.getContainer(this.containerId).exec({
        Cmd: ['/bin/sh', '-c', command],
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        User: 'root',
      });
      return { exec, stream: await exec.start({ hijack: withStdin, stdin: withStdin }) };
    } catch (err) {
      throw new UserError(`cannot run a command in ${this.label}: ${apiMessage(err)}`);
    }
  }

  /** The engine may report the exec as running for a moment after its output ended. */
  private async exitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; ; i++) {
      const info = await exec.inspect();
      if (!info.Running || i >= 100) return info.ExitCode ?? 255;
      await delay(20);
    }
  }

  /** `swarmup ssh NAME CMD` on this machine: output streamed, stdin sent when it is not a terminal. */
  async execStreaming(command: string): Promise<number> {
    debug(`docker exec ${this.label} (streaming): ${command}`);
    const withStdin = !process.stdin.isTTY;
    const { exec, stream } = await this.start(command, withStdin);
    const stdout = new Writable({ write: (c, _e, done) => void process.stdout.write(c, () => done()) });
    const stderr = new Writable({ write: (c, _e, done) => void process.stderr.write(c, () => done()) });
    this.docker.modem.demuxStream(stream, stdout, stderr);
    if (withStdin) process.stdin.pipe(stream);
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', (err: Error) =>
        reject(new UserError(`command in ${this.label} failed: ${err.message}`)),
      );
    });
    if (withStdin) {
      process.stdin.unpipe(stream);
      process.stdin.pause();
    }
    return this.exitCode(exec);
  }

  /** The engine's archive API: tar streams in and out of the container. */
  readonly archive: ArchiveAccess = {
    get: async (path) => {
      try {
        return await this.docker.getContainer(this.containerId).getArchive({ path });
      } catch (err) {
        throw new UserError(`scp: ${path}: ${apiMessage(err)}`);
      }
    },
    put: async (dir, tar) => {
      try {
        await this.docker.getContainer(this.containerId).putArchive(tar, { path: dir });
      } catch (err) {
        throw new UserError(`scp: ${dir}: ${apiMessage(err)}`);
      }
    },
    stat: async (path) => {
      const q = shq(path);
      const r = await this.exec(`if [ -d ${q} ]; then echo dir; elif [ -e ${q} ]; then echo file; fi`);
      const kind = r.stdout.trim();
      return kind ? { isDir: kind === 'dir' } : undefined;
    },
  };

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
