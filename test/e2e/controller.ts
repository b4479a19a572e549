/**
 * What the two in-cluster controller e2e files share: the controller image built from this checkout
 * on the lab engine (no registry), the docker CLI against a cluster with no swarmup process behind
 * it, the controller's status and logs, and the check that no secret value shows anywhere.
 */
import { readFile, readdir } from 'node:fs/promises';
import { expect } from 'vitest';
import { labDockerHost } from '../lab/lab.js';
import { bash, bin, parseEnv, type Run } from './helpers.js';

/** Built once per run from this checkout, on the lab's VM image (Debian bookworm: glibc, libstdc++). */
export const CONTROLLER_IMAGE = 'swarmup-e2e/lb-controller:test';
export const CONTROLLER_BASE = 'swarmup-lab/vm:bookworm';

export type Sw = (args: string[], env?: NodeJS.ProcessEnv) => Promise<Run>;

export function ok(r: Run): Run {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

export async function buildImage(sw: Sw): Promise<void> {
  ok(
    await sw(['lb', 'controller', 'build', '--base', CONTROLLER_BASE, '--tag', CONTROLLER_IMAGE], {
      DOCKER_HOST: labDockerHost,
    }),
  );
}

/** The docker CLI against a cluster's manager, with the environment `cluster env` gave once. */
export async function clusterDockerFor(sw: Sw, cluster: string, work: string) {
  const env = parseEnv(ok(await sw(['cluster', 'env', cluster])).stdout);
  return (args: string) => bash(`docker ${args}`, { ...env, DOCKER_CONFIG: work });
}

/** Processes of the swarmup CLI using this store (there must be none while the controller works). */
export async function swarmupProcesses(store: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(bin)) continue;
      const env = await readFile(`/proc/${pid}/environ`, 'utf8');
      if (env.split('\0').includes(`SWARMUP_STORAGE_PATH=${store}`)) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function controllerStatus(sw: Sw, cluster: string): Promise<Json> {
  return JSON.parse(
    ok(await sw(['lb', 'controller', 'status', '--cluster', cluster, '--json'])).stdout,
  ) as Json;
}

/** Every text given must hold none of the secret values. */
export function expectNoSecrets(where: Record<string, string>, secrets: string[]): void {
  for (const [name, text] of Object.entries(where)) {
    for (const s of secrets.filter((x) => x.length >= 8)) {
      expect(text.includes(s), `${name} shows a secret value (${s.slice(0, 4)}...)`).toBe(false);
    }
  }
}

/** Pieces of a PEM private key body (any one appearing means the key leaked). */
export const pemPieces = (pem: string): string[] =>
  pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .filter((_, i) => i % 5 === 1);
