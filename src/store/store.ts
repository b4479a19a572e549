import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError, machineExists, machineNotFound } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { withLock } from './lock.js';
import { parseMachineConfig, validateMachineName, type MachineConfig } from './machine-config.js';

export const DEFAULT_STORE = join(homedir(), '.swarmup');

/** --storage-path, else SWARMUP_STORAGE_PATH, else docker-machine's MACHINE_STORAGE_PATH, else ~/.swarmup. */
export function resolveStorePath(flag?: string): string {
  return resolve(
    flag || process.env.SWARMUP_STORAGE_PATH || process.env.MACHINE_STORAGE_PATH || DEFAULT_STORE,
  );
}

const CREATING = '.creating';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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

  /** Absolute path for a store-relative path (absolute paths pass through). */
  abs(rel: string): string {
    return isAbsolute(rel) ? rel : join(this.root, rel);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'machines'), { recursive: true, mode: 0o700 });
    await mkdir(this.certsDir, { recursive: true, mode: 0o700 });
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
        const owner = await readFile(join(dir, CREATING), 'utf8').catch(() => '');
        const [pid, host] = owner.trim().split(/\s+/);
        if (pid && host === hostname() && pidAlive(Number(pid)) && Number(pid) !== process.pid) {
          throw new UserError(
            `Docker machine "${name}" is being created by another swarmup process (pid ${pid})`,
          );
        }
      }
      await writeFile(join(dir, CREATING), `${process.pid} ${hostname()}\n`, { mode: 0o600 });
    });
  }

  /** Drop a claim whose create failed before anything worth keeping was made. */
  async release(name: string): Promise<void> {
    await rm(this.machineDir(name), { recursive: true, force: true });
  }

  async load(name: string): Promise<MachineConfig> {
    const file = join(this.machineDir(name), 'config.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw machineNotFound(name);
      throw err;
    }
    return parseMachineConfig(text, file);
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
    let entries: string[];
    try {
      entries = await readdir(join(this.root, 'machines'));
    } catch {
      return [];
    }
    const names: string[] = [];
    for (const e of entries.sort()) if (await this.exists(e)) names.push(e);
    return names;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.exists(name))) throw machineNotFound(name);
    await this.locked(() => rm(this.machineDir(name), { recursive: true, force: true }));
  }
}
