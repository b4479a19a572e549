import { UserError } from '../errors.js';
import type { EngineOptions } from '../store/machine-config.js';
import { shq } from '../util/shell.js';
import { renderTemplateFile } from '../util/template.js';

/**
 * Where the engine's TLS material lives on a machine: /etc/docker/{ca,server,server-key}.pem, where
 * docker-machine's provisioners kept it (scripts and docs look there). The key is 0600 root either way.
 */
export const REMOTE_CERT_DIR = '/etc/docker';
/** Where swarmup kept it before: removed when a machine is provisioned again. */
export const OLD_REMOTE_CERT_DIR = '/etc/docker/swarmup';

export const REMOTE = {
  daemonJson: '/etc/docker/daemon.json',
  systemdOverride: '/etc/systemd/system/docker.service.d/10-swarmup.conf',
  dockerdEnv: '/etc/swarmup/dockerd.env',
  supervise: '/usr/local/sbin/swarmup-dockerd-supervise',
};

const OPT_RE = /^[a-zA-Z0-9][a-zA-Z0-9-]*(=[^\s"'\\`$]*)?$/;
const ENV_RE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** `--engine-opt k=v` becomes the dockerd flag `--k=v`; `--engine-opt flag` becomes `--flag`. */
export function engineFlags(opts: EngineOptions): string[] {
  return opts.ArbitraryFlags.map((o) => {
    if (!OPT_RE.test(o)) {
      throw new UserError(
        `invalid --engine-opt "${o}": expected name=value (e.g. dns=10.0.0.2) or a bare flag name`,
      );
    }
    return `--${o}`;
  });
}

export function engineEnv(opts: EngineOptions): Array<[string, string]> {
  return opts.Env.map((e) => {
    const m = ENV_RE.exec(e);
    if (!m) throw new UserError(`invalid --engine-env "${e}": expected NAME=value`);
    return [m[1], m[2]];
  });
}

/** Check engine options early so that a bad flag fails before anything is created. */
export function validateEngineOptions(opts: EngineOptions): void {
  engineFlags(opts);
  engineEnv(opts);
  for (const l of opts.Labels) {
    if (!/^[^=\s]+=.*$/.test(l)) throw new UserError(`invalid --engine-label "${l}": expected key=value`);
  }
}

export interface EngineFiles {
  daemonJson: string;
  systemdOverride: string;
  dockerdEnv: string;
  supervise: string;
}

/**
 * Render the daemon configuration and service files. Keys an adopted host already has in its
 * daemon.json are kept unless swarmup manages them.
 */
export function renderEngineFiles(
  opts: EngineOptions,
  enginePort: number,
  driverName: string,
  existingDaemonJson?: string,
  /** The systemd drop-in's ExecStart before the engine flags: dockerd and the unit's own flags. */
  dockerdCommand = '/usr/bin/dockerd',
): EngineFiles {
  const flags = engineFlags(opts);
  const env = engineEnv(opts);
  const rendered = renderTemplateFile('daemon.json', {
    enginePort,
    certDir: REMOTE_CERT_DIR,
    labels: JSON.stringify([...opts.Labels, `provider=${driverName}`]),
    insecureRegistries: JSON.stringify(opts.InsecureRegistry),
    registryMirrors: JSON.stringify(opts.RegistryMirror),
    storageDriver: JSON.stringify(opts.StorageDriver ?? null),
  });
  const ours = JSON.parse(rendered) as Record<string, unknown>;
  for (const [k, v] of Object.entries(ours)) {
    if (v === null || (Array.isArray(v) && v.length === 0)) delete ours[k];
  }
  let theirs: Record<string, unknown> = {};
  if (existingDaemonJson?.trim()) {
    try {
      theirs = JSON.parse(existingDaemonJson) as Record<string, unknown>;
    } catch {
      theirs = {};
    }
  }
  const daemon = { ...theirs, ...ours };
  const flagText = flags.map((f) => ` ${f}`).join('');
  return {
    daemonJson: JSON.stringify(daemon, null, 2) + '\n',
    systemdOverride: renderTemplateFile('docker-systemd-override.conf', {
      dockerd: dockerdCommand,
      engineFlags: flagText,
      environment: env.map(([k, v]) => `Environment=${JSON.stringify(`${k}=${v}`)}`).join('\n'),
    }),
    dockerdEnv: renderTemplateFile('dockerd.env', {
      engineFlags: flags.join(' '),
      environment: env.map(([k, v]) => `export ${k}=${shq(v)}`).join('\n'),
    }),
    supervise: renderTemplateFile('dockerd-supervise.sh', { dockerd: shq(dockerdCommand.split(' ')[0]) }),
  };
}
