import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { UserError } from '../../errors.js';
import { withTimeout } from '../../util/async.js';
import { firstFileOf, tarOf, type TarEntry } from './tar.js';

/** The local load balancer of a cluster: one container on the local engine, host network. */
export const lbContainerName = (cluster: string) => `swarmup-lb-${cluster}`;
export const LABEL_CLUSTER = 'swarmup.cluster';
export const LABEL_LB = 'swarmup.lb';

export interface LbContainer {
  id: string;
  name: string;
  /** Image as asked for at creation (`haproxy:lts`), not its ID. */
  image: string;
  running: boolean;
  /** created, running, exited, restarting, … */
  status: string;
  startedAt: string;
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** The cluster's LB container, if any; refuses a container of that name that swarmup did not make. */
export async function findLbContainer(docker: Docker, cluster: string): Promise<LbContainer | undefined> {
  const name = lbContainerName(cluster);
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(name).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw new UserError(
      `cannot inspect container ${name} on the local Docker engine: ${(err as Error).message}`,
    );
  }
  const labels = info.Config.Labels ?? {};
  if (labels[LABEL_LB] !== 'local' || labels[LABEL_CLUSTER] !== cluster) {
    throw new UserError(
      `container ${name} exists but is not the load balancer of cluster "${cluster}" (labels ${LABEL_LB}=local, ${LABEL_CLUSTER}=${cluster} missing); remove or rename it`,
    );
  }
  return {
    id: info.Id,
    name,
    image: info.Config.Image,
    running: info.State.Running && !info.State.Restarting,
    status: info.State.Status,
    startedAt: info.State.StartedAt,
  };
}

export interface ExecOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command in a running container and collect its output. */
export async function execIn(
  docker: Docker,
  id: string,
  cmd: string[],
  timeoutMs = 30_000,
): Promise<ExecOutput> {
  const run = async () => {
    const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const o = new PassThrough().on('data', (c: Buffer) => out.push(c));
    const e = new PassThrough().on('data', (c: Buffer) => err.push(c));
    docker.modem.demuxStream(stream, o, e);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const info = await exec.inspect();
    return {
      code: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  };
  return withTimeout(
    run(),
    timeoutMs,
    `${cmd[0]} in container ${id.slice(0, 12)} took longer than ${timeoutMs} ms`,
  );
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/** A file's text from a container (running or not); undefined when it does not exist. */
export async function readContainerFile(
  docker: Docker,
  id: string,
  path: string,
): Promise<string | undefined> {
  let s: NodeJS.ReadableStream;
  try {
    s = await docker.getContainer(id).getArchive({ path });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
  return firstFileOf(await readAll(s))?.content;
}

/** Unpack entries into a directory that exists in the container (running or not). */
export async function putContainerFiles(
  docker: Docker,
  id: string,
  dir: string,
  entries: readonly TarEntry[],
): Promise<void> {
  await docker.getContainer(id).putArchive(tarOf(entries), { path: dir });
}

/** Pull the image unless the engine has it. */
export async function ensureImage(docker: Docker, image: string, log: (m: string) => void): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  log(`Pulling ${image}...`);
  try {
    const s = await docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(s, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    throw new UserError(`cannot pull image ${image}: ${(err as Error).message}`);
  }
}

/** The last lines a container wrote (stdout and stderr interleaved). */
export async function containerLogs(docker: Docker, id: string, tail = 50): Promise<string> {
  const buf = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail })) as unknown as Buffer;
  // Without a TTY the Engine multiplexes: [stream, 0, 0, 0, size (uint32 BE)] before each frame.
  const parts: Buffer[] = [];
  for (let off = 0; off + 8 <= buf.length;) {
    const size = buf.readUInt32BE(off + 4);
    parts.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
