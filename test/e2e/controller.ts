/**
 * What the two in-cluster controller e2e files share: the controller image built from this checkout
 * on the lab engine (no registry), a 1+2 cluster driven by the docker CLI with no swarmup process
 * behind it (`ControllerCluster`), the controller's status and logs, draining its node, `cluster down`
 * leaving nothing, and the check that no secret value shows anywhere.
 */
import { readFile, readdir } from 'node:fs/promises';
import { expect } from 'vitest';
import { labDocker, labDockerHost, labImages } from '../lab/lab.js';
import { bash, bin, eventually, parseEnv, type Run } from './helpers.js';

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

const WAIT = 90_000;

/** A 1+2 cluster with the controller, and the docker CLI on it. */
export class ControllerCluster {
  docker!: (args: string) => Promise<Run>;

  constructor(
    readonly sw: Sw,
    readonly name: string,
    readonly store: string,
    readonly work: string,
  ) {}

  /** `cluster up` (1 manager, 2 workers, `args` for the driver) while the image builds; httpd loaded. */
  async up(args: string[]): Promise<void> {
    const up = this.sw(['cluster', 'up', this.name, '--managers', '1', '--workers', '2', ...args]);
    await buildImage(this.sw);
    ok(await up);
    ok(await this.sw(['image', 'load', '--cluster', this.name, labImages.httpd]));
    this.docker = await clusterDockerFor(this.sw, this.name, this.work);
  }

  /** `lb controller install` of the test image, with `extra` flags (`--debug` first goes first). */
  install(...extra: string[]): Promise<Run> {
    const debug = extra[0] === '--debug' ? [extra.shift()!] : [];
    return this.sw([
      ...debug,
      'lb',
      'controller',
      'install',
      '--cluster',
      this.name,
      '--image',
      CONTROLLER_IMAGE,
      ...extra,
    ]);
  }

  status(): Promise<Json> {
    return controllerStatus(this.sw, this.name);
  }

  async logs(): Promise<string> {
    return ok(await this.docker('service logs --raw swarmup-lb-controller')).stdout;
  }

  async expectNoSwarmup(): Promise<void> {
    expect(await swarmupProcesses(this.store)).toEqual([]);
  }

  /** A global httpd publishing `port` in host mode, made with the docker CLI only. */
  async publish(name: string, port: number): Promise<void> {
    await this.expectNoSwarmup();
    ok(
      await this.docker(
        `service create -d --name ${name} --mode global -p mode=host,published=${port},target=80 ${labImages.httpd}`,
      ),
    );
  }

  /**
   * Promote `to`, drain the controller's node (the first manager): the controller runs on `to` with
   * the lease, and the drained task ended by itself on SIGTERM (exit 0, not killed after the grace
   * period) after saying so.
   */
  async drainControllerTo(to: string): Promise<void> {
    ok(await this.docker(`node promote ${to}`));
    const from = (await this.status()).task.node as string;
    expect(from).toBe(`${this.name}-manager-1`);
    await this.expectNoSwarmup();
    ok(await this.docker(`node update --availability drain ${from}`));
    await eventually(
      async () => {
        const s = await this.status();
        return s.task?.node === to && s.task.state === 'running' && s.lease?.holder === s.task.name;
      },
      WAIT,
      `the controller running on ${to} with the lease`,
    );
    const text = await this.logs();
    expect(text).toMatch(/SIGTERM: finishing the running sync, then stopping/);
    expect(text).toMatch(/stopped; lease released/);
    const ps = ok(
      await this.docker(`service ps --no-trunc --format '{{.ID}} {{.Node}}' swarmup-lb-controller`),
    ).stdout;
    const old = ps
      .split('\n')
      .map((l) => l.trim().split(' '))
      .find(([, n]) => n === from)?.[0];
    expect(old, ps).toBeDefined();
    const ended = ok(
      await this.docker(`inspect --format '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}}' ${old}`),
    );
    expect(ended.stdout.trim()).toBe('shutdown 0');
  }

  /** `cluster down`: the controller goes first, then nothing is left in the cloud, nor soon in the lab. */
  async downLeavesNothing(vms: string[], resourceCount: () => number): Promise<void> {
    expect(vms).toHaveLength(3);
    const r = ok(await this.sw(['cluster', 'down', this.name]));
    const at = r.stderr.indexOf('Removing service swarmup-lb-controller');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(r.stderr.indexOf('Removing machine'));
    expect(resourceCount()).toBe(0);
    // A deleted instance's machine goes a little later (the cloud releases it after the call).
    const left = async () => {
      const there: string[] = [];
      for (const vm of vms) if ((await labDocker(['container', 'inspect', vm])).code === 0) there.push(vm);
      return there;
    };
    await eventually(
      async () => (await left()).length === 0,
      WAIT,
      'the lab VMs of the deleted instances gone',
    );
  }
}

/**
 * Faults were injected on the call `calls` are of: they were answered `statuses` and then retried
 * with waits (never a hot loop: each at least `minGapMs`) that grow.
 */
export function expectBackoff(
  calls: Array<{ at: number; status: number }>,
  statuses: number[],
  minGapMs: number,
): void {
  expect(calls.map((e) => e.status)).toEqual(statuses);
  const gaps = calls.slice(1).map((e, i) => e.at - calls[i].at);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(minGapMs);
  expect(gaps[gaps.length - 1]).toBeGreaterThan(1.5 * gaps[0]);
}
