import { UserError } from '../errors.js';
import type { EngineOptions } from '../store/machine-config.js';

/**
 * Limits checked before any work, each with a clear error. They keep a typo (`--workers 100000`) from
 * filling an engine or a cloud quota, and keep every request far below the swarm API's gRPC message
 * limit (4 MiB), which a node or service update past it fails with only "socket hang up".
 */
export const LIMITS = {
  /** Nodes per cluster unless --max-nodes (or SWARMUP_MAX_NODES) says otherwise. */
  maxNodes: 100,
  /** Raft: Docker recommends at most seven managers. */
  maxManagers: 7,
  /** A cluster file, read before parsing. */
  clusterFileBytes: 1024 * 1024,
  labels: 64,
  labelKey: 128,
  labelValue: 1024,
  /** Engine options as a whole (flags, labels, env, registries), as written to daemon.json. */
  engineOptionsBytes: 64 * 1024,
} as const;

/** --max-nodes, else SWARMUP_MAX_NODES, else the default. */
export function maxNodesFrom(flag: number | undefined, env = process.env.SWARMUP_MAX_NODES): number {
  if (flag !== undefined) return flag;
  if (env === undefined || env === '') return LIMITS.maxNodes;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`invalid SWARMUP_MAX_NODES "${env}": give a whole number of nodes, at least 1`);
  }
  return n;
}

export function checkNodeCounts(managers: number, workers: number, maxNodes: number): void {
  if (managers > LIMITS.maxManagers) {
    throw new UserError(
      `--managers ${managers}: at most ${LIMITS.maxManagers} (raft slows with every manager; Docker recommends no more than seven)`,
    );
  }
  if (managers + workers > maxNodes) {
    throw new UserError(
      `${managers + workers} nodes is more than the limit of ${maxNodes}: pass --max-nodes ${managers + workers} (or set SWARMUP_MAX_NODES) if you mean it`,
    );
  }
}

/** Label maps (cluster labels) and `key=value` lists (engine labels): count and sizes. */
export function checkLabels(what: string, labels: Record<string, string> | string[]): void {
  const pairs = Array.isArray(labels)
    ? labels.map((l) => [l.slice(0, Math.max(0, l.indexOf('='))), l.slice(l.indexOf('=') + 1)])
    : Object.entries(labels);
  if (pairs.length > LIMITS.labels) {
    throw new UserError(`${pairs.length} ${what} labels: at most ${LIMITS.labels}`);
  }
  for (const [k, v] of pairs) {
    if (k.length > LIMITS.labelKey || String(v).length > LIMITS.labelValue) {
      throw new UserError(
        `${what} label "${k.slice(0, 40)}${k.length > 40 ? '…' : ''}" is too long: keys up to ${LIMITS.labelKey} characters, values up to ${LIMITS.labelValue}`,
      );
    }
  }
}

export function checkEngineOptionsSize(e: EngineOptions): void {
  const bytes = Buffer.byteLength(JSON.stringify(e));
  if (bytes > LIMITS.engineOptionsBytes) {
    throw new UserError(
      `the engine options are ${Math.round(bytes / 1024)} KiB: at most ${LIMITS.engineOptionsBytes / 1024} KiB (flags, labels, env and registries together)`,
    );
  }
}
