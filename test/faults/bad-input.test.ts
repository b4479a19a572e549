/**
 * A corpus of bad input: names, numbers, files and stores edited by hand (paths that climb out of the
 * store, a ContainerId that names someone else's container, files that are directories). Every case
 * must end with one line saying what is wrong, a non-zero exit, no stack trace, and the store exactly
 * as it was (and nothing written outside it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { labDocker, labImages, labUp } from '../lab/lab.js';
import { sh, swarmup, tempDir } from '../e2e/helpers.js';
import { bin } from '../e2e/helpers.js';
import { addFigures, expectRefusal, labEnv, newFigures, snapshot } from './harness.js';

const figures = newFigures();
let work: string;
let store: string;
const M = 'fltb-m1';
const FOREIGN = 'fltb-foreign';

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-faults-');
  store = join(work, 'store');
  const made = await swarmup(
    store,
    ['create', '--driver', 'docker', '--docker-image', labImages.node, M],
    labEnv(),
  );
  expect(made.code, made.stderr).toBe(0);
  await labDocker(['rm', '-f', FOREIGN]);
  const f = await labDocker(['run', '-d', '--name', FOREIGN, labImages.httpd]);
  expect(f.code, f.stderr).toBe(0);
});

afterAll(async () => {
  await swarmup(store, ['rm', '-f', '-y', M], labEnv());
  await labDocker(['rm', '-f', FOREIGN]);
  addFigures('bad-input', figures);
});

/** Run `args` against `s` and check the refusal and that the store did not change. */
async function refused(
  args: string[],
  why: RegExp,
  o: { env?: NodeJS.ProcessEnv; input?: string; s?: string } = {},
) {
  figures.cases++;
  const s = o.s ?? store;
  const before = await snapshot(s);
  const r = await sh(
    process.execPath,
    [bin, ...args],
    { ...labEnv(), SWARMUP_STORAGE_PATH: s, ...o.env },
    o.input,
  );
  expectRefusal(r, why);
  expect(await snapshot(s), `the store changed after: swarmup ${args.join(' ')}`).toEqual(before);
}

const BAD_CLUSTER = /^Invalid cluster name ".*": use 1-40 lowercase letters/;
const BAD_MACHINE = /^Invalid machine name ".*": use 1-63 letters/;

describe('names', () => {
  const clusterNames = [
    '(',
    '../x',
    'a/../../..',
    'UPPER',
    'x'.repeat(41),
    'a\nb',
    '-lead',
    'a..b',
    '*',
    '.',
  ];
  // Names starting with "-" are passed after "--" (before it, they are options and refused as such).
  for (const n of clusterNames) {
    it(`cluster down ${JSON.stringify(n)}`, () => refused(['cluster', 'down', '--', n], BAD_CLUSTER));
  }
  it('cluster down -lead (an unknown option)', () =>
    refused(['cluster', 'down', '-lead'], /unknown option '-lead'/));
  it('cluster up ../x', () => refused(['cluster', 'up', '../x', '--driver', 'docker'], BAD_CLUSTER));
  it('cluster status (', () => refused(['cluster', 'status', '('], BAD_CLUSTER));
  it('cluster env ..', () => refused(['cluster', 'env', '..'], BAD_CLUSTER));
  it('cluster scale ( --workers 1', () => refused(['cluster', 'scale', '(', '--workers', '1'], BAD_CLUSTER));
  it('lb status --cluster ../..', () => refused(['lb', 'status', '--cluster', '../..'], BAD_CLUSTER));
  it('image load --cluster ( img', () =>
    refused(['image', 'load', '--cluster', '(', 'busybox'], BAD_CLUSTER));

  const machineNames = ['h4x..y', '-bad', 'a/b', '..', 'x'.repeat(64), 'a_b', 'a.-b', 'ünï', 'a b'];
  for (const n of machineNames) {
    it(`create ${JSON.stringify(n)}`, () => refused(['create', '--driver', 'docker', '--', n], BAD_MACHINE));
  }
  for (const verb of [
    'rm -y',
    'inspect',
    'status',
    'env',
    'url',
    'regenerate-certs -f',
    'provision',
    'start',
  ]) {
    it(`${verb} ../etc`, () => refused([...verb.split(' '), '../etc'], BAD_MACHINE));
  }
});

describe('numbers', () => {
  const up = ['cluster', 'up', 'fltb', '--driver', 'docker'];
  it('--workers 100000', () =>
    refused([...up, '--workers', '100000'], /100001 nodes is more than the limit of 100: pass --max-nodes/));
  it('--managers 9', () => refused([...up, '--managers', '9'], /--managers 9: at most 7/));
  it('--managers 2', () => refused([...up, '--managers', '2'], /use an odd number of managers/));
  it('--managers 0', () => refused([...up, '--managers', '0'], /at least one manager/));
  it('--workers -1', () => refused([...up, '--workers', '-1'], /expected a whole number/));
  it('--parallel 0', () => refused([...up, '--parallel', '0'], /--parallel 0: give at least 1/));
  it('--timeout 5x', () => refused([...up, '--timeout', '5x', '--managers', '1'], /invalid --timeout "5x"/));
  it('--rebuild-swarm of a cluster that does not exist', () =>
    refused(
      [...up, '--rebuild-swarm'],
      /^Cluster "fltb" does not exist: --rebuild-swarm rebuilds the swarm/,
    ));
  it('--ttl 3y', () => refused([...up, '--ttl', '3y'], /invalid --ttl "3y"/));
  it('--max-nodes abc', () => refused([...up, '--max-nodes', 'abc'], /expected a whole number/));
  it('--wait-lock 5q', () => refused([...up, '--wait-lock', '5q'], /invalid --wait-lock "5q"/));
  it('SWARMUP_MAX_NODES=abc', () =>
    refused(up, /invalid SWARMUP_MAX_NODES "abc"/, { env: { SWARMUP_MAX_NODES: 'abc' } }));
  it('a label of 2000 characters', () =>
    refused([...up, '--label', `k=${'v'.repeat(2000)}`], /cluster label "k" is too long/));
  it('65 engine labels', () =>
    refused(
      [...up, ...Array.from({ length: 65 }, (_, i) => ['--engine-label', `k${i}=v`]).flat()],
      /65 engine labels: at most 64/,
    ));
  for (const port of ['99999', '0', 'abc', '-1']) {
    it(`--generic-ssh-port ${port}`, () =>
      refused(
        [
          'create',
          '--driver',
          'generic',
          '--generic-ip-address',
          '127.0.0.1',
          '--generic-ssh-key',
          '/dev/null',
          '--generic-ssh-port',
          port,
          'fltb-p',
        ],
        /--generic-ssh-port <n>' argument .* is invalid\. expected (1 to 65535|a whole number)/,
      ));
  }
  it('ls -t 0', () => refused(['ls', '-t', '0'], /invalid --timeout "0"/));
  it('SWARMUP_API_TIMEOUT=-1', () =>
    refused(['create', '--driver', 'docker', 'fltb-t'], /invalid SWARMUP_API_TIMEOUT "-1"/, {
      env: { SWARMUP_API_TIMEOUT: '-1' },
    }));
});

describe('files', () => {
  it('a cluster file that does not exist', () =>
    refused(['cluster', 'up', '-f', join(work, 'none.yaml')], /cannot read .*none\.yaml: it does not exist/));
  it('a cluster file that is a directory', () =>
    refused(['cluster', 'up', '-f', work], /it is not a regular file/));
  it('a cluster file of 2 MiB', async () => {
    const big = join(work, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    await refused(['cluster', 'up', '-f', big], /big\.yaml is larger than 1024 KiB/);
  });
  it('2 MiB on stdin', () =>
    refused(['cluster', 'up', '-f', '-'], /stdin is larger than 1024 KiB/, {
      input: 'y'.repeat(2 * 1024 * 1024),
    }));
  it('binary garbage', async () => {
    const bad = join(work, 'garbage.yaml');
    await writeFile(bad, Buffer.from([0, 1, 2, 255, 254, 0x7b, 0x5b]));
    await refused(['cluster', 'up', '-f', bad], /garbage\.yaml/);
  });
  const file = (spec: string) =>
    `apiVersion: swarmup.io/v1alpha1\nkind: Cluster\nmetadata: {name: fltb}\nspec: ${spec}\n`;
  it('a cluster file asking for 99999 workers (past the schema)', async () => {
    const f = join(work, 'many.yaml');
    await writeFile(f, file('{driver: docker, managers: 1, workers: 99999}'));
    await refused(['cluster', 'up', '-f', f], /many\.yaml: spec\.workers must be <= 200/);
  });
  it('a cluster file asking for 150 workers (past the default limit)', async () => {
    const f = join(work, 'many2.yaml');
    await writeFile(f, file('{driver: docker, managers: 1, workers: 150}'));
    await refused(
      ['cluster', 'up', '-f', f],
      /151 nodes is more than the limit of 100: pass --max-nodes 151/,
    );
  });
  it('a cluster file whose driver port is out of range', async () => {
    const f = join(work, 'port.yaml');
    await writeFile(
      f,
      'apiVersion: swarmup.io/v1alpha1\nkind: Cluster\nmetadata: {name: fltb}\nspec:\n  driver: generic\n  driverOptions: {generic-ip-address: 127.0.0.1, generic-ssh-key: /dev/null, generic-ssh-port: 99999}\n',
    );
    await refused(['cluster', 'up', '-f', f], /invalid --generic-ssh-port 99999: expected 1 to 65535/);
  });
});

describe('stores edited by hand', () => {
  const cfgPath = () => join(store, 'machines', M, 'config.json');
  type Cfg = { HostOptions: { AuthOptions: Record<string, string> }; Driver: Record<string, unknown> };
  async function editConfig(edit: (c: Cfg) => void): Promise<() => Promise<void>> {
    const original = await readFile(cfgPath(), 'utf8');
    const c = JSON.parse(original) as Cfg;
    edit(c);
    await writeFile(cfgPath(), JSON.stringify(c, null, 2));
    return () => writeFile(cfgPath(), original);
  }

  it('regenerate-certs -f does not write a ServerCertPath outside the store', async () => {
    const outside = join(work, 'outside');
    await mkdir(outside, { recursive: true });
    const restore = await editConfig((c) => {
      c.HostOptions.AuthOptions.ServerCertPath = '../outside/server.pem';
      c.HostOptions.AuthOptions.ServerKeyPath = '../outside/server-key.pem';
    });
    await refused(
      ['regenerate-certs', '-f', M],
      /AuthOptions\.ServerCertPath "\.\.\/outside\/server\.pem" points outside/,
    );
    expect(existsSync(join(outside, 'server.pem'))).toBe(false);
    expect(existsSync(join(outside, 'server-key.pem'))).toBe(false);
    await restore();
  });

  it('an absolute ServerKeyPath is refused', async () => {
    const restore = await editConfig(
      (c) => (c.HostOptions.AuthOptions.ServerKeyPath = join(work, 'abs-key.pem')),
    );
    await refused(
      ['regenerate-certs', '-f', M],
      /AuthOptions\.ServerKeyPath ".*abs-key\.pem" points outside/,
    );
    expect(existsSync(join(work, 'abs-key.pem'))).toBe(false);
    await restore();
  });

  it('an SSHKeyPath that climbs out of the machine folder is refused', async () => {
    const restore = await editConfig((c) => (c.Driver.SSHKeyPath = '../../../../etc/shadow'));
    await refused(['status', M], /Driver\.SSHKeyPath "\.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow" points outside/);
    await restore();
  });

  it('rm -y does not remove a container a stored ContainerId prefix resolves to unless its labels are ours', async () => {
    const id = (await labDocker(['inspect', '-f', '{{.Id}}', FOREIGN])).stdout.trim();
    const restore = await editConfig((c) => (c.Driver.ContainerId = id.slice(0, 6)));
    await refused(['rm', '-y', M], /is not machine fltb-m1 of this store .*left alone/);
    expect((await labDocker(['inspect', '-f', '{{.State.Running}}', FOREIGN])).stdout.trim()).toBe('true');
    await restore();
  });

  it('a config.json that is a directory', async () => {
    const dir = join(store, 'machines', 'fltb-dir');
    await mkdir(join(dir, 'config.json'), { recursive: true });
    await refused(
      ['status', 'fltb-dir'],
      /cannot read .*fltb-dir\/config\.json: it is a directory, not a file/,
    );
    await rm(dir, { recursive: true });
  });

  it("a config.json whose Name is another machine's", async () => {
    const dir = join(store, 'machines', 'fltb-twin');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), await readFile(cfgPath()));
    await refused(
      ['rm', '-y', 'fltb-twin'],
      /is corrupt: its Name "fltb-m1" is not the machine's name "fltb-twin"/,
    );
    await rm(dir, { recursive: true });
  });

  it('a machine folder that is a symbolic link out of the store', async () => {
    const elsewhere = join(work, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    const c = JSON.parse(await readFile(cfgPath(), 'utf8'));
    c.Name = 'fltb-link';
    await writeFile(join(elsewhere, 'config.json'), JSON.stringify(c));
    await symlink(elsewhere, join(store, 'machines', 'fltb-link'));
    await refused(['regenerate-certs', '-f', 'fltb-link'], /the machine directory .* points outside/);
    expect(existsSync(join(elsewhere, 'server.pem'))).toBe(false);
    await rm(join(store, 'machines', 'fltb-link'));
  });

  it('a corrupt cluster record', async () => {
    await mkdir(join(store, 'clusters'), { recursive: true });
    await writeFile(join(store, 'clusters', 'fltb.json'), '{"Name": "fltb", ');
    await refused(['cluster', 'status', 'fltb'], /clusters\/fltb\.json is corrupt/);
    await writeFile(
      join(store, 'clusters', 'fltb.json'),
      JSON.stringify({ Name: 'other', Driver: 'docker', Managers: 1, Workers: 0 }),
    );
    await refused(['cluster', 'env', 'fltb'], /clusters\/fltb\.json is corrupt: it must hold Name "fltb"/);
    await rm(join(store, 'clusters', 'fltb.json'));
  });

  it('a storage path that is a regular file', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'not a store\n');
    await refused(['ls'], /the storage path .*a-file is not a directory/, { s: file });
  });

  it('a storage path under /proc', () =>
    refused(['cluster', 'up', 'fltb', '--driver', 'docker'], /cannot create \/proc\/self\/fltb-store/, {
      s: '/proc/self/fltb-store/x',
    }));

  it('env of a machine whose certificate copies are missing', async () => {
    const key = join(store, 'machines', M, 'key.pem');
    const saved = await readFile(key);
    await rm(key);
    await refused(
      ['env', M],
      /machine "fltb-m1" lacks key\.pem in .*: run "swarmup regenerate-certs -f fltb-m1"/,
    );
    await writeFile(key, saved, { mode: 0o600 });
  });

  it('a cluster locked by a process on another host', async () => {
    await mkdir(join(store, 'clusters'), { recursive: true });
    const lock = join(store, 'clusters', 'fltb.lock');
    await writeFile(lock, `777 not-${hostname()} cluster up\n`);
    await refused(
      ['cluster', 'down', 'fltb'],
      /cluster "fltb" is being changed by pid 777 on not-.* \(cluster up\).*delete/,
    );
    await rm(lock);
  });
});
