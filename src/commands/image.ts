import type { Command } from 'commander';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { clusterMachines } from '../cluster/access.js';
import { requireClusterRecord } from '../cluster/record.js';
import { UserError, oneLine } from '../errors.js';
import { loadImageFile } from '../engine/images.js';
import { engineEndpoint } from '../machine/machine.js';
import { newEngineClient } from '../swarm/client.js';
import { info } from '../util/log.js';
import { forEachMachine, storeOf } from './common.js';

/** `docker save` from the local engine into a file, once for all nodes. */
function saveImages(images: string[], file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['save', '-o', file, ...images], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new UserError(`cannot run docker: ${e.message}`)));
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new UserError(`docker save failed: ${err.trim()}`)),
    );
  });
}

export async function load(
  images: string[],
  o: { cluster: string; parallel: number },
  cmd: Command,
): Promise<void> {
  const store = storeOf(cmd);
  await requireClusterRecord(store, o.cluster);
  const machines = await clusterMachines(store, o.cluster);
  if (machines.length === 0) throw new UserError(`Cluster "${o.cluster}" has no machines`);
  const dir = await mkdtemp(join(tmpdir(), 'swarmup-images-'));
  try {
    const file = join(dir, 'images.tar');
    info(`Saving ${images.join(', ')} from the local engine...`);
    await saveImages(images, file);
    const size = (await stat(file)).size;
    info(`Loading ${(size / 1e6).toFixed(1)} MB into ${machines.length} node(s)...`);
    const byName = new Map(machines.map((m) => [m.cfg.Name, m]));
    await forEachMachine([...byName.keys()], async (n) => {
      // Its own client without an idle timeout: a node may be silent for long while it loads a big image.
      const docker = newEngineClient(await engineEndpoint(byName.get(n)!));
      try {
        await loadImageFile(docker, file);
      } catch (err) {
        throw new UserError(`${n}: loading images failed: ${oneLine(err)}`);
      }
      info(`${n}: loaded`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
