/** How the health service's tasks fare on the nodes: the reason a GCE pool has no healthy backend. */
import type Docker from 'dockerode';
import type { HelperHealth } from '../backend.js';
import { HEALTH } from './desired.js';

interface RawTask {
  NodeID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Status?: { State?: string; Err?: string };
  Spec?: { ContainerSpec?: { Image?: string } };
}

const bare = (image: string | undefined) => (image ?? '').replace(/@sha256:[0-9a-f]+$/, '');

const FAILED = new Set(['rejected', 'failed']);

/**
 * Per node: running when a task runs; failing when none runs and its newest finished task was
 * rejected or failed (the restart policy keeps making new ones that fail the same way); starting
 * otherwise. `image` is the service's image, for the report.
 */
export function summarizeHealthTasks(tasks: readonly RawTask[], image: string): HelperHealth {
  const byNode = new Map<string, RawTask[]>();
  for (const t of tasks) {
    // Tasks of an earlier image (before SWARMUP_LB_HEALTH_IMAGE changed) say nothing about this one.
    if (!t.NodeID || (t.Spec?.ContainerSpec?.Image && bare(t.Spec.ContainerSpec.Image) !== bare(image)))
      continue;
    byNode.set(t.NodeID, [...(byNode.get(t.NodeID) ?? []), t]);
  }
  const h: HelperHealth = { service: HEALTH.service, image, running: 0, starting: 0, failed: 0, errors: [] };
  const states = new Map<string, number>();
  for (const list of byNode.values()) {
    if (list.some((t) => t.DesiredState === 'running' && t.Status?.State === 'running')) {
      h.running++;
      continue;
    }
    const done = list
      .filter((t) => FAILED.has(t.Status?.State ?? ''))
      .sort((a, b) => String(b.CreatedAt ?? '').localeCompare(String(a.CreatedAt ?? '')));
    if (!done.length) {
      h.starting++;
      continue;
    }
    h.failed++;
    const state = done[0].Status!.State!;
    states.set(state, (states.get(state) ?? 0) + 1);
    const err = done[0].Status?.Err?.trim();
    if (err && !h.errors.includes(err)) h.errors.push(err);
  }
  if (states.size) h.failedState = [...states].sort((a, b) => b[1] - a[1])[0][0];
  if (h.errors.some((e) => /no such image|pull|manifest|image/i.test(e)))
    h.hint = 'set SWARMUP_LB_HEALTH_IMAGE or load the image';
  return h;
}

/** The health service's tasks on the swarm; undefined when the service is not there. */
export async function readHealthTasks(docker: Docker, image: string): Promise<HelperHealth> {
  const tasks = (await docker.listTasks({ filters: { service: [HEALTH.service] } })) as RawTask[];
  return summarizeHealthTasks(tasks, image);
}
