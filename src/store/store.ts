import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { UserError, machineExists, machineNotFound } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { withLock } from './lock.js';
import { parseMachineConfig, type AuthOptions, type MachineConfig } from './machine-config.js';
import { isValidName, validateMachineName } from './names.js';
import { describeOwner, ownedByMe, ownerGone, ownerLine, parseOwner } from './owner.js';
import { describeIoError, ensureDir, readTextIfExists, resolveInside } from './paths.js';

export const DEFAULT_STORE = join(homedir(), '.swarmup');

/** --storage-path, else SWARMUP_STORAGE_PATH, else docker-machine's MACHINE_STORAGE_PATH, else ~/.swarmup. */
export function resolveStorePath(flag?: string): string {
  return resolve(
    flag || process.env.SWARMUP_STORAGE_PATH || process.env.MACHINE_STORAGE_PATH || DEFAULT_STORE,
  );
}

const CREATING = '.creating';

/** The certificate paths of AuthOptions, each relative to the store root. */
const STORE_PATHS: Array<keyof AuthOptions> = [
  'CertDir',
  'CaCertPath',
  'CaPrivateKeyPath',
  'ClientCertPath',
  'ClientKeyPath',
  'ServerCertPath',
  'ServerKeyPath',
];

const storeNotDir = (root: string) =>
  new UserError(`the storage path ${root} is not a directory (check --storage-path or SWARMUP_STORAGE_PATH)`);

/**
 * The machine store: `machines/<name>/config.json` plus per-machine keys and certificates, and `certs/`
 * with the CA and client certificate. Every path saved inside is relative to the store root.
 */
export class Store {
  constructor(readonly root: string) {}

  get certsDir(): string {
    return join(this.root, 'certs');
  }

  /** A machine's directory; the name is checked first, so no name reaches outside `machines/`. */
  machineDir(name: string): string {
    validateMachineName(name);
    return join(this.root, 'machines', name);
  }

  /** Absolute path for a store-relative path; one that points outside the store is refused. */
  abs(rel: string, what = 'a path'): string {
    return resolveInside(this.root, rel, what, join(this.root, 'machines'));
  }

  async init(): Promise<void> {
    await ensureDir(join(this.root, 'machines'));
    await ensureDir(this.certsDir);
  }

  /**
   * A random identity of this store, kept when the store is copied. Drivers label what they make with
   * it, so a leftover of an interrupted create can be told from someone else's resource.
   */
  async id(): Promise<string> {
    const file = join(this.root, 'id');
    const have = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (have) return have;
    await this.init();
    return this.locked(async () => {
      const again = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (again) return again;
      const id = randomBytes(8).toString('hex');
      await writeFileAtomic(file, `${id}\n`, 0o600);
      return id;
    });
  }

  /** The store's identity if it has one; reads only (loading a machine never writes). */
  async knownId(): Promise<string | undefined> {
    return (await readFile(join(this.root, 'id'), 'utf8').catch(() => '')).trim() || undefined;
  }

  /** Serialize changes to shared files (the CA, config writes) across swarmup processes. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(join(this.root, '.lock'), fn);
  }

  async exists(name: string): Promise<boolean> {
    try {
      await stat(join(this.machineDir(name), 'config.json'));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Claim a name for a new machine. Fails if a machine of that name exists or another process is
   * creating it; a claim left by a killed process is taken over.
   */
  async reserve(name: string): Promise<void> {
    validateMachineName(name);
    await this.init();
    const dir = this.machineDir(name);
    await this.locked(async () => {
      try {
        await mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await this.exists(name)) throw machineExists(name);
        const owner = parseOwner(await readFile(join(dir, CREATING), 'utf8').catch(() => ''));
        if (owner && !ownerGone(owner) && !ownedByMe(owner)) {
          throw new UserError(
            `Docker machine "${name}" is being created by another swarmup process (${describeOwner(owner)})`,
          );
        }
      }
      await writeFile(join(dir, CREATING), ownerLine('create'), { mode: 0o600 });
    });
  }

  /** Drop a claim whose create failed before anything worth keeping was made. */
  async release(name: string): Promise<void> {
    await rm(this.machineDir(name), { recursive: true, force: true });
  }

  async load(name: string): Promise<MachineConfig> {
    const dir = this.machineDir(name);
    const file = join(dir, 'config.json');
    const text = await readTextIfExists(file, `fix it or remove the machine with "swarmup rm -f ${name}"`);
    if (text === undefined) throw machineNotFound(name);
    const cfg = parseMachineConfig(text, file);
    if (cfg.Name !== name) {
      throw new UserError(`${file} is corrupt: its Name "${cfg.Name}" is not the machine's name "${name}"`);
    }
    // Paths read from the store stay inside it (a hand-edited file must not make us write elsewhere),
    // and so does the machine's directory itself (a symbolic link to elsewhere is refused).
    const [realRoot, realDir] = await Promise.all([realpath(this.root), realpath(dir)]);
    resolveInside(realRoot, relative(realRoot, realDir), 'the machine directory', dir);
    const a = cfg.HostOptions.AuthOptions;
    for (const k of STORE_PATHS)
      if (a[k] !== undefined) resolveInside(this.root, a[k], `AuthOptions.${k}`, file);
    if (cfg.Driver.SSHKeyPath !== undefined)
      resolveInside(dir, cfg.Driver.SSHKeyPath, 'Driver.SSHKeyPath', file);
    return cfg;
  }

  /**
   * Write a machine's config. Its directory must exist (made by `reserve`): a machine removed while
   * another command was still working on it stays removed instead of coming back as a bare config.
   */
  async save(cfg: MachineConfig): Promise<void> {
    const dir = this.machineDir(cfg.Name);
    await this.locked(async () => {
      if (
        !(await stat(dir).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      ) {
        throw new UserError(`Docker machine "${cfg.Name}" was removed while this command was working on it`);
      }
      await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n', 0o600);
    });
    await rm(join(dir, CREATING), { force: true });
  }

  /** Names of every machine with a config, sorted. */
  async list(): Promise<string[]> {
    const entries = await this.entries();
    const names: string[] = [];
    for (const e of entries) if (await this.exists(e)) names.push(e);
    return names;
  }

  /**
   * Every valid name under `machines/`, sorted: machines and claims alike. A store that is not a
   * directory (a file, unreadable) is an error, never an empty list that looks like "all gone".
   */
  async entries(): Promise<string[]> {
    const dir = join(this.root, 'machines');
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A storage path that is a file is an error; no machines yet is fine.
      const rootIsFile = await stat(this.root).then(
        (st) => !st.isDirectory(),
        () => false,
      );
      if (rootIsFile) throw storeNotDir(this.root);
      if (code === 'ENOENT') return [];
      throw new UserError(
        `cannot read the store ${dir}: ${describeIoError(err)} (check --storage-path or SWARMUP_STORAGE_PATH)`,
      );
    }
    return entries.filter((e) => isValidName('machine', e)).sort();
  }

  /** Names whose create was interrupted: a claim (`.creating`) whose owner is gone, and no config. */
  async interrupted(): Promise<string[]> {
    const out: string[] = [];
    for (const e of await this.entries()) {
      if (await this.exists(e)) continue;
      const text = await readFile(join(this.root, 'machines', e, CREATING), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const owner = parseOwner(text);
      // A claim of a live process on this host is a create under way; any other was interrupted.
      if (!owner || ownerGone(owner) || owner.host !== hostname()) out.push(e);
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.exists(name)) && !(await this.interrupted()).includes(name)) throw machineNotFound(name);
    await this.locked(() => rm(this.machineDir(name), { recursive: true, force: true }));
  }

  /** True when `name` is only the claim of an interrupted create (no config). */
  async isInterrupted(name: string): Promise<boolean> {
    validateMachineName(name);
    return !(await this.exists(name)) && (await this.interrupted()).includes(name);
  }
}
