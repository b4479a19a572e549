/**
 * The user's session, in one bash: a docker-driver cluster made on the lab engine, the shell pointed at
 * its manager with `eval "$(swarmup cluster env ...)"`, then `lb sync` and `cluster down` from that same
 * shell. Both must act on the engine the cluster's machines were made on (recorded in their state), not
 * on the manager the environment names now: the load balancer lands on the lab engine, and `cluster down`
 * exits 0 leaving nothing labelled with the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { labDocker, labDockerHost, labImages, labUp } from '../lab/lab.js';
import { scriptShell, tempDir, type Run } from './helpers.js';

const CLUSTER = 'evd-e2e';
const PORT = 18473;
let work: string;
let store: string;
let line: (l: string) => Promise<Run>;

async function labelled(kind: 'ps -a' | 'network ls' | 'volume ls'): Promise<string[]> {
  const r = await labDocker([...kind.split(' '), '-q', '--filter', `label=swarmup.cluster=${CLUSTER}`]);
  return r.stdout.split('\n').filter(Boolean);
}

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-envdown-');
  store = join(work, 'store');
  line = await scriptShell(work, {
    DOCKER_HOST: labDockerHost,
    SWARMUP_STORAGE_PATH: store,
    DOCKER_CONFIG: join(work, '.docker'),
  });
  await line(`swarmup cluster down ${CLUSTER}`);
});

afterAll(async () => {
  await line(`swarmup cluster down ${CLUSTER}`);
});

describe('cluster down and lb sync from a shell pointed at the cluster', () => {
  it('acts on the engine that hosts the machines, exits 0 and leaves nothing behind', async () => {
    // One shell, as the user types it; each step prints its exit code.
    const r = await line(
      [
        `swarmup cluster up ${CLUSTER} --driver docker --docker-image ${labImages.node} --managers 1 --workers 0 >/dev/null`,
        'echo "up=$?"',
        `eval "$(swarmup cluster env ${CLUSTER})"`,
        'echo "host=$DOCKER_HOST"',
        `docker node ls --format '{{.Hostname}} {{.ManagerStatus}}'`,
        `docker service create -d --name web -p ${PORT}:80 ${labImages.httpd} >/dev/null 2>&1`,
        'echo "service=$?"',
        `swarmup lb sync --cluster ${CLUSTER} --lb-image ${labImages.haproxy} >/dev/null`,
        'echo "sync=$?"',
        // Where the load balancer is: on the lab engine, not on the manager the shell points at.
        `echo "lab-lb=$(DOCKER_HOST=${labDockerHost} DOCKER_TLS_VERIFY= DOCKER_CERT_PATH= docker ps -q --filter name=swarmup-lb-${CLUSTER} | wc -l)"`,
        `echo "manager-lb=$(docker ps -aq --filter name=swarmup-lb-${CLUSTER} | wc -l)"`,
        `swarmup lb status --cluster ${CLUSTER} --json | grep -c '"status": "running"'`,
        `swarmup cluster down ${CLUSTER}`,
        'echo "down=$?"',
        // The shell goes on: swarmup still answers (the machine DOCKER_CERT_PATH names is gone).
        'swarmup ls -q; echo "ls=$?"',
        'swarmup cluster ls; echo "cluster-ls=$?"',
      ].join('\n'),
    );
    const out = r.stdout;
    expect(out, r.stderr).toContain('up=0\n');
    expect(out).toMatch(/^host=tcp:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toContain(`${CLUSTER}-manager-1 Leader\n`);
    expect(out, r.stderr).toContain('service=0\n');
    expect(out, r.stderr).toContain('sync=0\n');
    expect(out).toContain('lab-lb=1\n');
    expect(out).toContain('manager-lb=0\n');
    expect(out).toMatch(/^1$/m);
    expect(r.stderr).not.toMatch(/ENOENT|ca\.pem|could not be removed/);
    expect(out, r.stderr).toContain('down=0\n');
    expect(r.stderr).toContain(`Removing load balancer container swarmup-lb-${CLUSTER}...`);
    expect(out).toContain('ls=0\n');
    expect(out).toContain('cluster-ls=0\n');
    expect(await labelled('ps -a')).toEqual([]);
    expect(await labelled('network ls')).toEqual([]);
    expect(await labelled('volume ls')).toEqual([]);
  });
});
