import type Docker from 'dockerode';
import { apiMessage } from './engine.js';

/**
 * An engine that cannot give a container every capability (e.g. a kernel whose bounding set lacks
 * CAP_SYS_RESOURCE) refuses `--privileged` when the container starts; a rootless or userns-remapped
 * engine refuses it at create.
 */
export function isPrivilegeRefused(err: unknown): boolean {
  return /apply caps|operation not permitted|privileged/i.test(apiMessage(err));
}

/**
 * What earlier machines on this engine learned: a running swarmup container records in a label
 * whether it is privileged, so a new process need not pay for a privileged attempt bound to fail.
 */
export async function privilegeHint(docker: Docker): Promise<boolean | undefined> {
  const running = await docker.listContainers({
    filters: { label: ['swarmup.managed=true', 'swarmup.privileged'], status: ['running'] },
  });
  const seen = running.map((c) => c.Labels['swarmup.privileged']);
  if (seen.includes('true')) return true;
  if (seen.includes('false')) return false;
  return undefined;
}

/** Per engine: whether privileged works there; undefined when the last probe was inconclusive. */
const verdicts = new Map<string, Promise<boolean | undefined>>();

/**
 * Run `attempt` (create and start a container) in the mode that works on this engine, learning it once
 * per process: the first caller probes (privileged first, then the capability set) and parallel callers
 * wait for its verdict instead of each paying for a failed privileged start. `attempt` must clean up
 * after itself when it fails.
 */
export async function withDetectedPrivilege<T>(
  engine: string,
  hint: () => Promise<boolean | undefined>,
  attempt: (privileged: boolean) => Promise<T>,
): Promise<T> {
  for (let waitingFor = verdicts.get(engine); waitingFor; waitingFor = verdicts.get(engine)) {
    const v = await waitingFor;
    if (v !== undefined) return attempt(v);
    if (verdicts.get(engine) === waitingFor) verdicts.delete(engine);
  }
  let settle!: (v: boolean | undefined) => void;
  verdicts.set(engine, new Promise((resolve) => (settle = resolve)));
  let known: boolean | undefined;
  try {
    known = await hint().catch(() => undefined);
    if (known !== undefined) {
      settle(known);
      return await attempt(known);
    }
    try {
      const r = await attempt(true);
      settle((known = true));
      return r;
    } catch (err) {
      if (!isPrivilegeRefused(err)) throw err;
      settle((known = false));
      return await attempt(false);
    }
  } finally {
    if (known === undefined) settle(undefined);
  }
}
