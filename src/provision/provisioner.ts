import { findDriver } from '../driver/registry.js';
import { UserError } from '../errors.js';
import { waitForEngine } from '../engine/api.js';
import { ensureServerCert, ensureStoreCerts } from '../machine/certs.js';
import { engineEndpoint, saveMachine, type Machine } from '../machine/machine.js';
import { renderTemplateFile } from '../util/template.js';
import { installEngine } from './engine-install.js';
import { OLD_REMOTE_CERT_DIR, REMOTE, REMOTE_CERT_DIR, renderEngineFiles } from './engine-config.js';
import { ensureDockerGroup } from './docker-group.js';
import { STOP_DOCKERD, findSupervisor } from './engine-control.js';
import { recordOrigin } from './origin.js';
import { parseOsRelease } from './os-release.js';
import { syncFiles, type ManagedFile } from './sync-files.js';

/**
 * The start of the drop-in's ExecStart: the unit's own dockerd and --containerd flag (its `-H fd://`
 * and `$DOCKER_OPTS` go: daemon.json has the hosts), else the dockerd on the root PATH.
 */
export function dockerdCommand(probe: readonly string[]): string {
  const unit = probe.find((l) => l.startsWith('ExecStart=/'));
  if (unit) {
    const [bin, ...args] = unit.slice('ExecStart='.length).trim().split(/\s+/);
    return [bin, ...args.filter((a) => a.startsWith('--containerd='))].join(' ');
  }
  return probe.find((l) => l.startsWith('/')) ?? '/usr/bin/dockerd';
}

export interface ProvisionOptions {
  log: (msg: string) => void;
  /** Make a new server certificate even if the current one is still right. */
  regenerateCerts?: boolean;
  /** Restart the engine even if no file changed (its packages were upgraded). */
  restart?: boolean;
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
    // A host swarmup does not own: before anything changes, note what it had, to give it back.
    if (findDriver(m.cfg.DriverName).inventory) await recordOrigin(t);
    const installed = await installEngine(t, os, eng.InstallURL, log);
    // A login user who is not root runs docker without sudo, as docker-machine set it up.
    const groupMade = await ensureDockerGroup(t, m.driver.sshTarget?.().user);

    const hostname = (await t.exec('hostname')).stdout.trim();
    const sans = [
      ...new Set([await m.driver.getIP(), await m.driver.getInternalIP(), hostname, ...eng.TlsSan]),
    ].filter(Boolean);
    log('Copying certs to the machine...');
    const certs = await ensureStoreCerts(m.store);
    const { server } = await ensureServerCert(m.store, m.cfg, certs, sans, opts.regenerateCerts);

    // Under systemd, the drop-in starts the dockerd the distribution's unit starts (/usr/sbin on
    // Debian's docker.io, /usr/bin with Docker's packages), with its --containerd socket, if any.
    const probe = (
      await t.exec(
        "[ -d /run/systemd/system ] && echo systemd; command -v dockerd; systemctl cat docker.service 2>/dev/null | grep -m1 '^ExecStart=/'; true",
        { root: true },
      )
    ).stdout.split('\n');
    const systemd = probe.includes('systemd');
    const dockerd = dockerdCommand(probe);
    const existing = (await t.exec(`cat ${REMOTE.daemonJson} 2>/dev/null; true`, { root: true })).stdout;
    const listenPort = m.cfg.Driver.EngineListenPort ?? m.cfg.Driver.EnginePort ?? 2376;
    const rendered = renderEngineFiles(eng, listenPort, m.cfg.DriverName, existing, dockerd);
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
    const changed = changedFiles.length > 0 || groupMade || opts.restart ? 1 : 0;
    // The certificates' old place goes once daemon.json no longer names it.
    const script =
      `rm -rf ${OLD_REMOTE_CERT_DIR}\n` +
      (systemd
        ? renderTemplateFile('engine-start-systemd.sh', { changed })
        : renderTemplateFile('engine-start.sh', {
            changed,
            findSupervisor: findSupervisor(),
            stopDockerd: STOP_DOCKERD,
          }));
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
