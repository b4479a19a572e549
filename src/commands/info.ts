import type { Command } from 'commander';
import { join } from 'node:path';
import { UserError, hostNotRunning } from '../errors.js';
import { engineVersion } from '../engine/api.js';
import { requireClientCertFiles } from '../machine/certs.js';
import { engineEndpoint, loadMachine, machineUrl, type Machine } from '../machine/machine.js';
import { swarmupVersion } from '../version.js';
import { forEachMachine, nameOr, namesOr, storeOf } from './common.js';
import { classicSwarm } from './classic-swarm.js';

/** The machine, checked to be running (url/env/version/config need a live engine address). */
export async function runningMachine(cmd: Command, name: string | undefined): Promise<Machine> {
  const m = await loadMachine(storeOf(cmd), nameOr(name));
  if ((await m.driver.getState()) !== 'Running') throw hostNotRunning();
  return m;
}

export async function ip(names: string[], _o: unknown, cmd: Command): Promise<void> {
  const list = namesOr(names);
  const ips = new Map<string, string>();
  await forEachMachine(list, async (n) => {
    const m = await loadMachine(storeOf(cmd), n);
    ips.set(n, await m.driver.getIP());
  });
  for (const n of list) process.stdout.write(`${ips.get(n)}\n`);
}

export async function url(name: string | undefined, _o: unknown, cmd: Command): Promise<void> {
  process.stdout.write(`${await machineUrl(await runningMachine(cmd, name))}\n`);
}

export async function status(name: string | undefined, _o: unknown, cmd: Command): Promise<void> {
  const m = await loadMachine(storeOf(cmd), nameOr(name));
  process.stdout.write(`${await m.driver.getState()}\n`);
}

export async function config(
  name: string | undefined,
  file: string | undefined,
  o: { driver?: string; swarm?: boolean },
  cmd: Command,
): Promise<void> {
  if (o.swarm) throw classicSwarm('--swarm', 'config');
  // "config init" and "config schema" are about cluster files, unless a machine has that name.
  if ((name === 'init' || name === 'schema') && !(await storeOf(cmd).exists(name))) {
    const { SAMPLE_CLUSTER_FILE, SAMPLE_HOSTS_CLUSTER_FILE } = await import('../cluster/spec.js');
    const { clusterSchema } = await import('../cluster/cluster-schema.js');
    const { findDriver } = await import('../driver/registry.js');
    const hosts = o.driver !== undefined && findDriver(o.driver).inventory !== undefined;
    const sample = hosts ? SAMPLE_HOSTS_CLUSTER_FILE : SAMPLE_CLUSTER_FILE;
    const text = name === 'init' ? sample : JSON.stringify(clusterSchema, null, 2) + '\n';
    if (!file || file === '-') {
      process.stdout.write(text);
      return;
    }
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, text, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(
        err.code === 'EEXIST' ? `${file} already exists` : `cannot write ${file}: ${err.message}`,
      );
    });
    process.stderr.write(`Wrote ${file}; edit it, then: swarmup cluster up -f ${file}\n`);
    return;
  }
  const m = await runningMachine(cmd, name);
  const dir = await requireClientCertFiles(m.store, m.cfg.Name);
  process.stdout.write(
    [
      '--tlsverify',
      `--tlscacert="${join(dir, 'ca.pem')}"`,
      `--tlscert="${join(dir, 'cert.pem')}"`,
      `--tlskey="${join(dir, 'key.pem')}"`,
      `-H=${await machineUrl(m)}`,
    ].join('\n') + '\n',
  );
}

export async function version(name: string | undefined, _o: unknown, cmd: Command): Promise<void> {
  if (!name) {
    process.stdout.write(`swarmup version ${swarmupVersion()}\n`);
    return;
  }
  const m = await runningMachine(cmd, name);
  process.stdout.write(`${await engineVersion(await engineEndpoint(m))}\n`);
}
