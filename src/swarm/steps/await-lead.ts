/**
 * Waiting for the manager raft was restarted on (`swarm init --force-new-cluster`) to lead. It usually
 * does within a second. About one restart in forty under the fault suite (2026-12-07) it instead
 * serves `GET /nodes` lists in which no entry has a raft status (no leader flag, no manager address),
 * for good: the raft membership it restarted with does not name the survivor's own node (its log, seen
 * in the one case caught with logs, had the survivor join as a manager 2 s before the other managers
 * were lost). A second `--force-new-cluster` does not change that, and a manager that joins it never
 * finishes joining. After a short bound the Docker Engine is restarted once (through the driver, by a
 * callback the caller passes) in case it only needs to reload its raft, and the leader flag is waited
 * for again; when it still does not come, the caller rebuilds the swarm (steps/rebuild.ts).
 */
import { UserError, oneLine } from '../../errors.js';
import { debug } from '../../util/log.js';
import { pollUntil } from '../calls.js';
import { isNoAnswer, isNoLeader, isTransient } from '../errors.js';
import { hasLeader, type RawNode } from '../model.js';

/** How long a restarted raft may go without a leader-flagged node list before its engine is restarted. */
export const LEAD_FLAG_MS = 12_000;
/**
 * How long after the engine restart (which has waited until the engine answers): a one-member raft
 * elects itself within seconds of loading.
 */
export const LEAD_AFTER_RESTART_MS = 20_000;

export interface LeadWatch {
  /** The member raft was restarted on. */
  name: string;
  /** One bounded `GET /nodes` on it. */
  nodes: () => Promise<RawNode[]>;
  /** Restart its Docker Engine and return once the engine answers; without it, no restart is tried. */
  restartEngine?: () => Promise<void>;
  /** Told before the engine is restarted (a line for the user), with what was seen. */
  onRestart?: (seen: string) => void;
  flagMs?: number;
  afterRestartMs?: number;
}

/** One line on a node list that names no leader: every manager entry's address and raft status. */
export function describeUnflagged(nodes: readonly RawNode[]): string {
  const managers = nodes.filter((n) => n.ManagerStatus || n.Spec?.Role === 'manager');
  return (
    `a node list of ${nodes.length} with no leader (managers: ` +
    (managers
      .map((n) => `${n.ID} ${n.Status?.Addr || '?'} ${JSON.stringify(n.ManagerStatus ?? {})}`)
      .join(', ') || 'none') +
    ')'
  );
}

/**
 * The member answered with node lists and none named a leader, to the end: its raft restarted with a
 * membership that does not name it. Only this failure may lead to a rebuild (a member that did not
 * answer, or whose engine could not be restarted, is another matter).
 */
export class NoLeadError extends UserError {}

/**
 * Resolve once the member's node list names a leader; `engineRestarted` says whether its engine had to
 * be restarted first. Throws one UserError, naming what was last seen, when it does not lead: a
 * NoLeadError when what was last seen was a node list without a leader.
 */
export async function awaitLead(w: LeadWatch): Promise<{ engineRestarted: boolean }> {
  let seen = 'no answer yet';
  let listed = false;
  const leads = async (): Promise<boolean> => {
    try {
      const nodes = await w.nodes();
      if (hasLeader(nodes)) return true;
      seen = describeUnflagged(nodes);
      listed = true;
    } catch (err) {
      if (!(isNoLeader(err) || isNoAnswer(err) || isTransient(err))) throw err;
      seen = oneLine(err);
      listed = false;
    }
    return false;
  };
  const fail = (m: string) => (listed ? new NoLeadError(m) : new UserError(m));
  const within = (ms: number) => pollUntil(leads, ms);
  const flagMs = w.flagMs ?? LEAD_FLAG_MS;
  if (await within(flagMs)) return { engineRestarted: false };
  const what = `${w.name} did not lead the swarm restarted on it (docker swarm init --force-new-cluster)`;
  if (!w.restartEngine) throw fail(`${what} within ${Math.round(flagMs / 1000)} s (last seen: ${seen})`);
  debug(`swarm: engine restart: ${w.name} after ${Math.round(flagMs / 1000)} s: ${seen}`);
  w.onRestart?.(seen);
  try {
    await w.restartEngine();
  } catch (err) {
    throw new UserError(
      `${what} (last seen: ${seen}), and restarting its Docker Engine failed: ${oneLine(err)}`,
    );
  }
  if (await within(w.afterRestartMs ?? LEAD_AFTER_RESTART_MS)) return { engineRestarted: true };
  throw fail(`${what}, not even after its Docker Engine was restarted (last seen: ${seen})`);
}
