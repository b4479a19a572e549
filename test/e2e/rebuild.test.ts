/**
 * `swarmup cluster up NAME --rebuild-swarm`, as an operator would use it on a real local cluster
 * (docker driver, a dockerd in each node container): the swarm is started again on a manager, and its
 * overlay networks, configs, services and node labels are made in the new one; every machine joins it.
 * Then the same cut short by SIGKILL and finished by a plain `cluster up`, and a swarm holding a secret
 * (whose data the Engine never returns) refused with one line and left as it was. The quorum repair
 * takes the same path on its own when a restarted raft never leads; test/faults/repair-signals.test.ts
 * meets that case (seed 11111 does every run) and counts it (see docs/reliability.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { labImages, labUp } from '../lab/lab.js';
import { dockerUp, expectNodeIdsAreMachines, killAt, labEnv, memberNames } from '../faults/harness.js';
import { bash, parseEnv, swarmup, tempDir } from './helpers.js';

const CLUSTER = 'e2erb';
const MACHINES = memberNames(CLUSTER, 3, 1);
let store: string;
let work: string;
const kept = () => join(store, 'clusters', `${CLUSTER}.swarm-rebuild`);

async function clusterDocker(args: string) {
  const e = await swarmup(store, ['cluster', 'env', CLUSTER], labEnv());
  expect(e.code, e.stderr).toBe(0);
  return bash(`docker ${args}`, { ...parseEnv(e.stdout), DOCKER_CONFIG: work });
}

async function out(args: string): Promise<string> {
  const r = await clusterDocker(args);
  expect(r.code, `docker ${args}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

const clusterId = () => out(`info --format '{{.Swarm.Cluster.ID}}'`);

/** The workload the rebuild must carry over, checked by name in whatever swarm is there now. */
async function expectWorkload(): Promise<void> {
  expect(await out(`service ls --format '{{.Name}}'`)).toBe('web');
  const spec = JSON.parse(await out(`service inspect web --format '{{json .Spec}}'`)) as {
    Mode: { Replicated: { Replicas: number } };
    TaskTemplate: { Networks: { Target: string }[]; ContainerSpec: { Configs: { ConfigName: string }[] } };
  };
  expect(spec.Mode.Replicated.Replicas).toBe(2);
  expect(spec.TaskTemplate.ContainerSpec.Configs.map((c) => c.ConfigName)).toEqual(['appcfg']);
  const net = await out(
    `network inspect ${spec.TaskTemplate.Networks[0].Target} --format '{{.Name}} {{.Attachable}} {{index .Labels "team"}}'`,
  );
  expect(net).toBe('appnet true blue');
  expect(await out(`config inspect appcfg --format '{{printf "%s" .Spec.Data}}'`)).toBe('listen 80');
  expect(await out(`node inspect ${CLUSTER}-worker-1 --format '{{index .Spec.Labels "tier"}}'`)).toBe(
    'front',
  );
  // The tasks run again (host-mode port: the lab kernel has no IPVS for the routing mesh).
  for (let i = 0; ; i++) {
    const states = (await out(`service ps web --filter desired-state=running --format '{{.CurrentState}}'`))
      .split('\n')
      .filter((s) => s.startsWith('Running'));
    if (states.length === 2) break;
    expect(i, 'web has 2 running tasks').toBeLessThan(60);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-rebuild-');
  store = join(work, 'store');
  const r = await swarmup(store, dockerUp(CLUSTER, 3, 1), labEnv());
  expect(r.code, r.stderr).toBe(0);
  const load = await swarmup(store, ['image', 'load', '--cluster', CLUSTER, labImages.httpd], labEnv());
  expect(load.code, load.stderr).toBe(0);
  await out('network create -d overlay --attachable --label team=blue appnet');
  const cfg = await clusterDocker(`config create appcfg - <<< 'listen 80'`);
  expect(cfg.code, cfg.stderr).toBe(0);
  await out(
    `service create -d --name web --replicas 2 --network appnet --config source=appcfg,target=/etc/app.conf ` +
      `-p mode=host,published=8088,target=80 ${labImages.httpd}`,
  );
  await out(`node update --label-add tier=front ${CLUSTER}-worker-1`);
  await expectWorkload();
}, 300_000);

afterAll(async () => {
  await swarmup(store, ['cluster', 'down', CLUSTER, '--driver', 'docker'], labEnv());
});

describe('cluster up --rebuild-swarm', () => {
  it('a new swarm, the same networks, configs, services and node labels, every machine in it', async () => {
    const before = await clusterId();
    const r = await swarmup(store, ['cluster', 'up', CLUSTER, '--rebuild-swarm', '--json'], labEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ swarmRebuilt: true, initialized: true });
    expect(r.stderr).toMatch(
      /Rebuilding the swarm \(--rebuild-swarm\): 1 service\(s\), 1 network\(s\), 1 config\(s\) read from e2erb-manager-1 and kept in the store/,
    );
    expect(r.stderr).toMatch(/Rebuilt swarm: made 1 service\(s\), 1 network\(s\), 1 config\(s\)/);
    expect(await clusterId()).not.toBe(before);
    await expectNodeIdsAreMachines(MACHINES, 3);
    await expectWorkload();
    expect(existsSync(kept()), 'the kept contents are removed once made').toBe(false);
    // Nothing left to do: the next run changes nothing.
    const again = await swarmup(store, ['cluster', 'up', CLUSTER, '--json'], labEnv());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('The swarm is up to date');
    expect(JSON.parse(again.stdout)).toMatchObject({ swarmRebuilt: false, initialized: false });
  });

  it('SIGKILL once the contents are kept: a plain cluster up finishes the rebuild', async () => {
    const before = await clusterId();
    const k = await killAt(
      store,
      ['cluster', 'up', CLUSTER, '--rebuild-swarm'],
      { name: 'contents kept', line: /Rebuilding the swarm/, delayMs: 300 },
      'SIGKILL',
      labEnv(),
    );
    expect(k.landed, k.stderr).toBe(true);
    // Kept in the store, readable by its owner only, until the new swarm holds it.
    expect(statSync(kept()).mode & 0o777).toBe(0o600);
    const r = await swarmup(store, ['cluster', 'up', CLUSTER], labEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Rebuilt swarm: made \d service\(s\)/);
    expect(await clusterId()).not.toBe(before);
    await expectNodeIdsAreMachines(MACHINES, 3);
    await expectWorkload();
    expect(existsSync(kept())).toBe(false);
  });

  it('a swarm holding a secret is refused in one line, and nothing changes', async () => {
    const before = await clusterId();
    const s = await clusterDocker(`secret create db-password - <<< 'hunter2'`);
    expect(s.code, s.stderr).toBe(0);
    const r = await swarmup(store, ['cluster', 'up', CLUSTER, '--rebuild-swarm'], labEnv());
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/1 secret\(s\) \(db-password\) whose data cannot be read back/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('hunter2');
    expect(await clusterId()).toBe(before);
    expect(existsSync(kept())).toBe(false);
    await expectNodeIdsAreMachines(MACHINES, 3);
    await out('secret rm db-password');
  });
});
