/**
 * Endpoints that accept a TCP connection and never answer: the local Docker Engine (docker driver
 * create, cluster up and cluster down), a generic host's SSH, a cloud API (the google and aliyunecs
 * drivers pointed at the silent listener instead of their emulators), and `ls --timeout` over
 * machines whose hosts are silent. Each must end with one line naming the endpoint and leave nothing.
 * SWARMUP_API_TIMEOUT=2 shortens the API deadline so the suite stays quick; the defaults are in
 * docs/reliability.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labUp } from '../lab/lab.js';
import { run, swarmup, tempDir } from '../e2e/helpers.js';
import { addFigures, expectRefusal, newFigures, silentListener } from './harness.js';

const figures = newFigures();
let work: string;
let store: string;
let silent: Awaited<ReturnType<typeof silentListener>>;
let endpoint: string;
const env = () => ({ DOCKER_HOST: `tcp://${endpoint}`, SWARMUP_API_TIMEOUT: '2' });

beforeAll(async () => {
  await labUp();
  work = await tempDir('swarmup-faults-');
  store = join(work, 'store');
  silent = await silentListener();
  endpoint = `127.0.0.1:${silent.port}`;
});

afterAll(async () => {
  await silent.close();
  addFigures('hung', figures);
});

const noMachines = async () => expect((await swarmup(store, ['ls', '-q'])).stdout).toBe('');

describe('a Docker Engine endpoint that never answers', () => {
  it('create --driver docker fails naming the endpoint and keeps no claim', async () => {
    figures.cases++;
    const r = await swarmup(store, ['create', '--driver', 'docker', 'flth-1'], env());
    expectRefusal(r, new RegExp(`the Docker Engine at tcp://${endpoint} gave no answer within 2 s`));
    await noMachines();
  });

  it('cluster up of a new cluster fails naming the endpoint and leaves nothing in the store', async () => {
    figures.cases++;
    const r = await swarmup(store, ['cluster', 'up', 'flth', '--driver', 'docker'], env());
    expectRefusal(r, new RegExp(`tcp://${endpoint} gave no answer within 2 s.*Nothing was left behind`));
    await noMachines();
    expect((await swarmup(store, ['cluster', 'ls', '--json'])).stdout.trim()).toBe('[]');
  });

  it('cluster down fails naming the endpoint', async () => {
    figures.cases++;
    const r = await swarmup(store, ['cluster', 'down', 'flth', '--driver', 'docker'], env());
    expectRefusal(
      r,
      new RegExp(`docker: cannot remove cluster flth: the Docker Engine at tcp://${endpoint} gave no answer`),
    );
  });
});

describe('SSH that never answers', () => {
  it('create --driver generic fails naming the host and port', async () => {
    figures.cases++;
    const key = join(work, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const r = await swarmup(store, [
      'create',
      '--driver',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      String(silent.port),
      '--generic-ssh-key',
      key,
      'flth-ssh',
    ]);
    expectRefusal(
      r,
      new RegExp(`cannot reach root@127\\.0\\.0\\.1:${silent.port} over SSH \\(no SSH handshake`),
    );
    await noMachines();
  });

  it('ls --timeout is one deadline for the whole listing of silent machines', async () => {
    // Forty generic machines, written by hand, whose SSH and engine ports are the silent listener:
    // more than ls queries at once (32), so a per-machine timeout would take two rounds.
    const ls = join(work, 'ls-store');
    for (let i = 1; i <= 40; i++) {
      const name = `flth-ls-${i}`;
      const dir = join(ls, 'machines', name);
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'config.json'),
        JSON.stringify({
          ConfigVersion: 1,
          Name: name,
          DriverName: 'generic',
          Driver: {
            MachineName: name,
            IPAddress: '127.0.0.1',
            SSHUser: 'root',
            SSHPort: silent.port,
            SSHKeyPath: 'id_ssh',
            EnginePort: silent.port,
          },
          HostOptions: {
            EngineOptions: {},
            AuthOptions: {
              CertDir: 'certs',
              ServerCertPath: `machines/${name}/server.pem`,
              ServerKeyPath: `machines/${name}/server-key.pem`,
            },
          },
          CreatedAt: new Date().toISOString(),
          Provisioned: true,
        }),
      );
    }
    figures.cases++;
    await swarmup(ls, ['regenerate-certs', '--client-certs', '-f', 'none-such']).catch(() => undefined);
    const r = await swarmup(ls, ['ls', '-t', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ Name: string; State: string; Error: string }>;
    expect(rows).toHaveLength(40);
    for (const row of rows)
      expect(row.Error, row.Name).toMatch(/no answer within the [\d.]+ s left of --timeout|no answer from/);
  });
});

describe('a cloud API that never answers', () => {
  it('google: create fails naming the endpoint', async () => {
    figures.cases++;
    const r = await swarmup(
      store,
      [
        'create',
        '--driver',
        'google',
        '--google-endpoint',
        `http://${endpoint}`,
        '--google-project',
        'flth-proj',
        '--google-zone',
        'us-central1-a',
        'flth-g',
      ],
      { SWARMUP_API_TIMEOUT: '2' },
    );
    expectRefusal(r, new RegExp(`no answer from http://${endpoint} within 2 s`));
    await noMachines();
  });

  it('aliyunecs: create fails naming the endpoint', async () => {
    figures.cases++;
    const r = await swarmup(
      store,
      [
        'create',
        '--driver',
        'aliyunecs',
        '--aliyunecs-api-endpoint',
        `http://${endpoint}`,
        '--aliyunecs-access-key-id',
        'flth',
        '--aliyunecs-access-key-secret',
        'flth',
        '--aliyunecs-region',
        'cn-hangzhou',
        'flth-a',
      ],
      { SWARMUP_API_TIMEOUT: '2' },
    );
    expectRefusal(
      r,
      new RegExp(`cannot reach the Aliyun API at http://${endpoint} for \\w+ \\(ETIMEDOUT\\)`),
    );
    await noMachines();
  });
});
