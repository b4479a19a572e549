import { createHash } from 'node:crypto';
import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { waitForEngine } from '../engine/api.js';
import { ensureServerCert, ensureStoreCerts } from '../machine/certs.js';
import { engineEndpoint, saveMachine, type Machine } from '../machine/machine.js';
import { shq } from '../util/shell.js';
import { renderTemplateFile } from '../util/template.js';
import { installEngine } from './engine-install.js';
import { REMOTE, REMOTE_CERT_DIR, renderEngineFiles } from './engine-config.js';
import { parseOsRelease } from './os-release.js';

interface ManagedFile {
  path: string;
  content: string;
  mode: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Write only the files whose content differs; returns the paths written. */
async function syncFiles(t: CommandTransport, files: ManagedFile[]): Promise<string[]> {
  const r = await t.exec(`sha256sum ${files.map((f) => shq(f.path)).join(' ')} 2>/dev/null; true`, {
    root: true,
  });
  const have = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) have.set(m[2], m[1]);
  }
  const stale = files.filter((f) => have.get(f.path) !== sha256(f.content));
  if (stale.length === 0) return [];
  // One exec for all files (each exec costs a round trip): base64 keeps any content shell-safe,
  // and each file is replaced atomically by rename.
  const script = [
    'set -e',
    'w() { mkdir -p "$(dirname "$1")"; tmp="$1.swarmup-tmp"; (umask 077; printf %s "$3" | base64 -d > "$tmp"); chmod "$2" "$tmp"; mv -f "$tmp" "$1"; }',
    ...stale.map(
      (f) => `w ${shq(f.path)} ${f.mode.toString(8)} ${Buffer.from(f.content).toString('base64')}`,
    ),
  ].join('\n');
  const w = await t.exec(script, { root: true });
  if (w.code !== 0)
    throw new UserError(`writing the engine configuration failed: ${(w.stderr || w.stdout).trim()}`);
  return stale.map((f) => f.path);
}

export interface ProvisionOptions {
  log: (msg: string) => void;
  /** Make a new server certificate even if the current one is still right. */
  regenerateCerts?: boolean;
}

export interface ProvisionResult {
  installed: boolean;
  changedFiles: string[];
  restarted: boolean;
}

/**
 * Turn a reachable machine into a Docker host with mutual TLS. Idempotent: a second run with the same
 * options writes nothing and does not restart the engine, so running containers are left alone.
 */
export async function provision(m: Machine, opts: ProvisionOptions): Promise<ProvisionResult> {
  const { log } = opts;
  const eng = m.cfg.HostOptions.EngineOptions;
  const t = await m.driver.transport();
  try {
    log('Detecting operating system of the machine...');
    const os = parseOsRelease((await t.exec('cat /etc/os-release')).stdout);
    log(`Provisioning with ${os.PRETTY_NAME}...`);
    const installed = await installEngine(t, os, eng.InstallURL, log);

    const hostname = (await t.exec('hostname')).stdout.trim();
    const sans = [
      ...new Set([await m.driver.getIP(), await m.driver.getInternalIP(), hostname, ...eng.TlsSan]),
    ].filter(Boolean);
    log('Copying certs to the machine...');
    const certs = await ensureStoreCerts(m.store);
    const { server } = await ensureServerCert(m.store, m.cfg, certs, sans, opts.regenerateCerts);

    const systemd =
      (await t.exec('[ -d /run/systemd/system ] && echo systemd; true')).stdout.trim() === 'systemd';
    const existing = (await t.exec(`cat ${REMOTE.daemonJson} 2>/dev/null; true`, { root: true })).stdout;
    const listenPort = m.cfg.Driver.EngineListenPort ?? m.cfg.Driver.EnginePort ?? 2376;
    const rendered = renderEngineFiles(eng, listenPort, m.cfg.DriverName, existing);
    const files: ManagedFile[] = [
      { path: `${REMOTE_CERT_DIR}/ca.pem`, content: certs.ca.certPem, mode: 0o644 },
      { path: `${REMOTE_CERT_DIR}/server.pem`, content: server.certPem, mode: 0o644 },
      { path: `${REMOTE_CERT_DIR}/server-key.pem`, content: server.keyPem, mode: 0o600 },
      { path: REMOTE.daemonJson, content: rendered.daemonJson, mode: 0o644 },
      ...(systemd
        ? [{ path: REMOTE.systemdOverride, content: rendered.systemdOverride, mode: 0o644 }]
        : [
            { path: REMOTE.dockerdEnv, content: rendered.dockerdEnv, mode: 0o644 },
            { path: REMOTE.supervise, content: rendered.supervise, mode: 0o755 },
          ]),
    ];
    log('Setting Docker configuration on the remote daemon...');
    const changedFiles = await syncFiles(t, files);
    const changed = changedFiles.length > 0 ? 1 : 0;
    const script = systemd
      ? renderTemplateFile('engine-start-systemd.sh', { changed })
      : renderTemplateFile('engine-start.sh', { changed, supervise: REMOTE.supervise });
    const r = await t.exec(script, { root: true, timeoutMs: 180_000 });
    if (r.code !== 0)
      throw new UserError(`starting the Docker Engine failed: ${(r.stderr || r.stdout).trim()}`);

    log('Checking connection to Docker...');
    await waitForEngine(await engineEndpoint(m));
    m.cfg.Provisioned = true;
    await saveMachine(m);
    return { installed, changedFiles, restarted: changed === 1 };
  } finally {
    await t.close();
  }
}
