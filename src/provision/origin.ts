/**
 * What a host had before swarmup first provisioned it, kept on the host itself (`/etc/swarmup/origin`,
 * written once by templates/host-origin.sh): whether swarmup installed its Docker Engine or found one
 * (and whether it ran), and whether it had its own daemon.json and TLS files (saved aside). `cluster down` of a
 * cluster of existing hosts reads it to give each host back as it was.
 */
import type { CommandTransport } from '../driver/contract.js';
import { UserError } from '../errors.js';
import { renderTemplateFile } from '../util/template.js';
import { OLD_REMOTE_CERT_DIR, REMOTE, REMOTE_CERT_DIR } from './engine-config.js';

export const SWARMUP_DIR = '/etc/swarmup';
export const ORIGIN_FILE = `${SWARMUP_DIR}/origin`;
export const DAEMON_JSON_ORIG = `${SWARMUP_DIR}/daemon.json.orig`;
/** The host's own TLS files where swarmup writes its own (a docker-machine host's), saved aside. */
export const CERTS_ORIG = `${SWARMUP_DIR}/certs.orig`;
/** The TLS files swarmup writes on a host (and only these go when it is given back). */
export const CERT_FILES = ['ca.pem', 'server.pem', 'server-key.pem'].map((f) => `${REMOTE_CERT_DIR}/${f}`);

export interface HostOrigin {
  /** `installed`: swarmup installed the engine; `adopted`: it was there; `unknown`: provisioned before origins were kept. */
  engine: 'installed' | 'adopted' | 'unknown';
  /** dockerd ran when swarmup came. */
  running: boolean;
  /** The host's own daemon.json: `saved` aside, `none` (there was none), or `unknown`. */
  daemonJson: 'saved' | 'none' | 'unknown';
}

export function parseOrigin(text: string): HostOrigin | undefined {
  const kv = Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.trim().split('='))
      .filter((p) => p.length === 2),
  ) as Record<string, string>;
  const engine = kv.engine;
  const dj = kv['daemon-json'];
  if (!['installed', 'adopted', 'unknown'].includes(engine) || !['saved', 'none', 'unknown'].includes(dj))
    return undefined;
  return {
    engine: engine as HostOrigin['engine'],
    running: kv.running === 'yes',
    daemonJson: dj as HostOrigin['daemonJson'],
  };
}

const VALUES = {
  originFile: ORIGIN_FILE,
  oldCertDir: OLD_REMOTE_CERT_DIR,
  systemdOverride: REMOTE.systemdOverride,
  dockerdEnv: REMOTE.dockerdEnv,
  certFiles: CERT_FILES.join(' '),
  certsOrig: CERTS_ORIG,
  daemonJson: REMOTE.daemonJson,
  daemonJsonOrig: DAEMON_JSON_ORIG,
};

/** Note the host's origin if this is its first provisioning; returns it either way. */
export async function recordOrigin(t: CommandTransport): Promise<HostOrigin> {
  const r = await t.exec(renderTemplateFile('host-origin.sh', VALUES), { root: true, timeoutMs: 30_000 });
  const origin = r.code === 0 ? parseOrigin(r.stdout) : undefined;
  if (!origin)
    throw new UserError(
      `cannot note what the host had before swarmup: ${(r.stderr || r.stdout).trim() || `exit code ${r.code}`}`,
    );
  return origin;
}

/** The host's origin, or undefined when swarmup never noted one (never provisioned, or long ago). */
export async function readOrigin(t: CommandTransport): Promise<HostOrigin | undefined> {
  const r = await t.exec(`cat ${ORIGIN_FILE} 2>/dev/null; true`, { root: true });
  return parseOrigin(r.stdout);
}
