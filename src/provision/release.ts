/**
 * Give a host back: the end of a machine of a cluster of existing hosts (`cluster down`, or its host
 * removed from the list). It leaves the swarm, and swarmup removes only what it installed
 * (templates/host-release.sh); the host's own Docker Engine, images and containers stay when it was
 * there before swarmup. Returns one line saying what was done.
 */
import { UserError, oneLine } from '../errors.js';
import { engineEndpoint, type Machine } from '../machine/machine.js';
import { leaveSwarm } from '../swarm/membership.js';
import { renderTemplateFile } from '../util/template.js';
import { STOP_DOCKERD, findSupervisor } from './engine-control.js';
import { OLD_REMOTE_CERT_DIR, REMOTE, REMOTE_CERT_DIR } from './engine-config.js';
import {
  CERTS_ORIG,
  CERT_FILES,
  DAEMON_JSON_ORIG,
  SWARMUP_DIR,
  readOrigin,
  type HostOrigin,
} from './origin.js';

/** daemon.json keys that swarmup writes (see templates/daemon.json); the host's others are its own. */
const SWARMUP_KEYS = ['hosts', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey'];

/**
 * A daemon.json swarmup wrote over a host whose own is not known (provisioned before origins were
 * kept): without swarmup's keys; undefined when nothing else is left.
 */
export function withoutSwarmupKeys(text: string): string | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  for (const k of SWARMUP_KEYS) delete json[k];
  const empty = (v: unknown) =>
    v === null ||
    (Array.isArray(v) && !v.length) ||
    (typeof v === 'object' && !Object.keys(v as object).length);
  for (const [k, v] of Object.entries(json)) if (empty(v)) delete json[k];
  return Object.keys(json).length ? JSON.stringify(json, null, 2) + '\n' : undefined;
}

function summary(origin: HostOrigin, left: string, engine: string): string {
  const own =
    origin.engine === 'installed'
      ? 'its Docker Engine, which swarmup installed, is stopped (the package stays installed)'
      : engine === 'running'
        ? 'its own Docker Engine runs again with its own configuration, images and containers kept'
        : 'its own Docker Engine is stopped, as it was before swarmup, images and containers kept';
  return `${left}; swarmup's certificates and engine settings removed; ${own}`;
}

/** The script that gives a host back, for what it had before swarmup (templates/host-release.sh). */
export function releaseScript(origin: HostOrigin): string {
  return renderTemplateFile('host-release.sh', {
    findSupervisor: findSupervisor(),
    stopDockerd: STOP_DOCKERD,
    engine: origin.engine,
    running: origin.running ? 'yes' : 'no',
    daemonJsonMode: origin.daemonJson,
    systemdOverride: REMOTE.systemdOverride,
    systemdOverrideDir: REMOTE.systemdOverride.replace(/\/[^/]+$/, ''),
    dockerdEnv: REMOTE.dockerdEnv,
    certDir: REMOTE_CERT_DIR,
    oldCertDir: OLD_REMOTE_CERT_DIR,
    certFiles: CERT_FILES.join(' '),
    certsOrig: CERTS_ORIG,
    daemonJson: REMOTE.daemonJson,
    daemonJsonOrig: DAEMON_JSON_ORIG,
    swarmupDir: SWARMUP_DIR,
  });
}

export async function releaseHost(m: Machine): Promise<string> {
  let left: string;
  try {
    left = (await leaveSwarm(await engineEndpoint(m), true)).left ? 'left the swarm' : 'was in no swarm';
  } catch (err) {
    left = `could not leave the swarm (${oneLine(err)})`;
  }
  const t = await m.driver.transport();
  try {
    const origin = (await readOrigin(t)) ?? { engine: 'unknown', running: true, daemonJson: 'unknown' };
    if (origin.daemonJson === 'unknown') {
      const had = (await t.exec(`cat ${REMOTE.daemonJson} 2>/dev/null; true`, { root: true })).stdout;
      const own = had.trim() ? withoutSwarmupKeys(had) : undefined;
      if (own) await t.writeFile(REMOTE.daemonJson, own, 0o644);
      else await t.exec(`rm -f ${REMOTE.daemonJson}`, { root: true });
    }
    const script = releaseScript(origin);
    const r = await t.exec(script, { root: true, timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new UserError(`giving ${m.cfg.Name} back failed: ${oneLine(r.stderr || r.stdout)}`);
    const engine = /engine=(\w+)/.exec(r.stdout)?.[1] ?? '';
    return summary(origin, left, engine);
  } finally {
    await t.close();
  }
}
