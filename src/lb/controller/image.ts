/**
 * The controller's image. The published one is built from the repository's Dockerfile; where no
 * registry is reachable, `lb controller build` makes it on the local engine from what is installed
 * here (the built swarmup, its production dependencies, this node binary) without any network, and
 * `install` loads it into the swarm's nodes that lack it (as `swarmup image load` does).
 */
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type Docker from 'dockerode';
import { hostEngineClient, type EngineAddress } from '../../engine/host.js';
import { imageId, loadImageFile, saveImage } from '../../engine/images.js';
import { UserError, oneLine } from '../../errors.js';
import { mapBounded } from '../../util/async.js';
import { templatesDir } from '../../util/template.js';
import { type TarMember, tarStream } from '../../util/tar.js';
import { swarmupVersion } from '../../version.js';
import { managerClient, newManagerClient } from '../engine.js';
import type { Log } from '../backend.js';
import type { LbTarget } from '../target.js';
import { CONTROLLER } from './spec.js';

/** The installed package's root (where package.json, dist/ and templates/ are). */
export const packageRoot = () => dirname(templatesDir());

/** Files a running swarmup never reads: type declarations, source maps, docs. */
const SKIP_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|\.ts)$/i;

interface PkgJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readPkg = async (dir: string) =>
  JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PkgJson;

/** Node's lookup: `node_modules/<name>` from `from` upwards. */
function resolvePackage(from: string, name: string): string | undefined {
  for (let d = from; ; d = dirname(d)) {
    const c = join(d, 'node_modules', name);
    if (existsSync(join(c, 'package.json'))) return c;
    if (dirname(d) === d) return undefined;
  }
}

/** The directories of every production dependency of the package at `root`, transitively. */
export async function productionPackages(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    const pkg = await readPkg(dir);
    const deps = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => ({ n, optional: false })),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => ({ n, optional: true })),
    ];
    for (const { n, optional } of deps) {
      const at = resolvePackage(dir, n);
      if (!at) {
        if (optional) continue;
        throw new UserError(
          `dependency ${n} of ${pkg.name ?? dir} is not installed: run "npm ci" in ${root}`,
        );
      }
      if (seen.has(at)) continue;
      seen.add(at);
      await visit(at);
    }
  };
  await visit(root);
  return [...seen].sort();
}

/** Regular files under `dir` (not its node_modules, not symbolic links), skipping SKIP_FILE. */
async function filesUnder(
  dir: string,
  out: Array<{ path: string; size: number; mode: number }>,
): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') await filesUnder(p, out);
    } else if (e.isFile() && !SKIP_FILE.test(e.name)) {
      const st = await lstat(p);
      out.push({ path: p, size: st.size, mode: st.mode & 0o777 });
    }
  }
}

/** The Dockerfile of a local build: the base, this node, this swarmup; no RUN, so no network. */
export function localDockerfile(base: string): string {
  return [
    `FROM ${base}`,
    'COPY node /usr/local/bin/node',
    'COPY swarmup /opt/swarmup',
    'ENV NODE_ENV=production',
    `LABEL swarmup.lb-controller=1 swarmup.version=${swarmupVersion()}`,
    // Starts as root to read the Docker socket's group, then runs as CONTROLLER_UID (runtime.ts).
    'ENTRYPOINT ["/usr/local/bin/node", "/opt/swarmup/bin/swarmup", "lb", "controller", "run"]',
    '',
  ].join('\n');
}

/** The build context: Dockerfile, node, and swarmup with its production dependencies. */
export async function buildContext(
  base: string,
): Promise<{ members: TarMember[]; bytes: number; files: number }> {
  const root = packageRoot();
  if (!existsSync(join(root, 'dist', 'src', 'cli.js')))
    throw new UserError(`swarmup is not built in ${root}: run "npm run build"`);
  const files: Array<{ path: string; size: number; mode: number }> = [];
  for (const d of ['bin', 'templates', join('dist', 'src'), join('dist', 'drivers')])
    await filesUnder(join(root, d), files);
  files.push({
    path: join(root, 'package.json'),
    size: (await lstat(join(root, 'package.json'))).size,
    mode: 0o644,
  });
  for (const pkg of await productionPackages(root)) await filesUnder(pkg, files);
  const node = await lstat(process.execPath);
  const members: TarMember[] = [
    { name: 'Dockerfile', content: Buffer.from(localDockerfile(base)) },
    { name: 'node', path: process.execPath, size: node.size, mode: 0o755 },
    ...files.map((f) => ({
      name: `swarmup/${relative(root, f.path)}`,
      path: f.path,
      size: f.size,
      mode: f.mode,
    })),
  ];
  return { members, bytes: files.reduce((n, f) => n + f.size, node.size), files: files.length + 1 };
}

/** Follow a build's JSON stream; the engine's error (a missing base image...) as one line. */
function followBuild(docker: Docker, stream: NodeJS.ReadableStream, base: string): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = err?.message ?? out.find((o) => o.error)?.error;
        if (!failed) return resolve();
        const hint = /pull access denied|not found|no such image|manifest unknown|dial tcp|lookup/i.test(
          failed,
        )
          ? ` (is ${base} on the local engine? no registry is needed when it is; see --base)`
          : '';
        reject(new UserError(`building the controller image failed: ${oneLine(failed)}${hint}`));
      },
    );
  });
}

/** `lb controller build`: make the image on the local engine (src/engine/host.ts). */
export async function buildControllerImage(o: {
  base: string;
  tag: string;
  engine: EngineAddress;
  log: Log;
}): Promise<{ id: string; bytes: number; files: number }> {
  const docker = hostEngineClient(o.engine);
  const ctx = await buildContext(o.base);
  o.log(
    `Building ${o.tag} on ${o.engine.DockerHost} from ${o.base}: node ${process.version} and swarmup ${swarmupVersion()} (${ctx.files} files, ${(ctx.bytes / 1e6).toFixed(0)} MB)...`,
  );
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(tarStream(ctx.members), { t: o.tag, forcerm: true, rm: true });
  } catch (err) {
    throw new UserError(`cannot build on the local engine (${o.engine.DockerHost}): ${oneLine(err)}`);
  }
  await followBuild(docker, stream, o.base);
  const id = await imageId(docker, o.tag);
  if (!id) throw new UserError(`the build ended but ${o.tag} is not on the local engine`);
  return { id, bytes: ctx.bytes, files: ctx.files };
}

export interface ImagePlacement {
  /** The image's ID on the local engine (undefined: not there; the nodes pull it). */
  localId?: string;
  /** Nodes it was loaded into. */
  loaded: string[];
}

/**
 * Put the image on every node of the swarm that lacks it (the controller runs on a manager; a
 * worker may be promoted): loaded from the local engine when it has the image, else left for the
 * nodes to pull. A node whose image of that name differs from the local one gets the local one.
 */
export async function placeImage(t: LbTarget, image: string, log: Log): Promise<ImagePlacement> {
  const local = hostEngineClient(await t.hostEngine());
  let localId: string | undefined;
  try {
    localId = await imageId(local, image);
  } catch {
    localId = undefined;
  }
  const machines = (await t.machines()).filter((m) => m.engine);
  const need = (
    await mapBounded(machines, 8, async (m) => {
      const docker = managerClient(await m.engine!());
      const there = await imageId(docker, image).catch(() => undefined);
      return localId && there !== localId ? m : undefined;
    })
  ).filter((m): m is NonNullable<typeof m> => !!m);
  if (!localId || need.length === 0) return { localId, loaded: [] };
  const dir = await mkdtemp(join(tmpdir(), 'swarmup-controller-'));
  try {
    const file = join(dir, 'image.tar');
    await saveImage(local, image, file);
    const size = (await lstat(file)).size;
    log(`Loading ${image} (${(size / 1e6).toFixed(0)} MB) into ${need.map((m) => m.name).join(', ')}...`);
    await mapBounded(need, 4, async (m) => {
      try {
        await loadImageFile(newManagerClient(await m.engine!()), file);
      } catch (err) {
        throw new UserError(`${m.name}: loading ${image} failed: ${oneLine(err)}`);
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { localId, loaded: need.map((m) => m.name) };
}

export const defaultImage = () => CONTROLLER.image();
