/**
 * A swarm made by hand, as the classic walkthroughs make one: machines already made with
 * `swarmup create`, then the docker CLI through `swarmup env` (`docker swarm init` on the manager,
 * `docker swarm join` on the others), the lab httpd image loaded from the lab engine (no registry
 * here), and a global httpd publishing `port` in host mode on every node.
 */
import { labDockerHost, labImages } from '../lab/lab.js';
import { bash, eventually, parseEnv, type Run } from './helpers.js';

export interface HandSwarm {
  /** The docker CLI against a machine; throws with its stderr when it fails. */
  docker(machine: string, args: string): Promise<string>;
}

export async function handMadeSwarm(o: {
  /** swarmup with the test's store and environment. */
  sw: (args: string[]) => Promise<Run>;
  /** A scratch directory (DOCKER_CONFIG). */
  work: string;
  manager: string;
  workers: string[];
  port: number;
  /** `--advertise-addr` of the manager; default: let `docker swarm init` pick its only address. */
  advertise?: (manager: string) => Promise<string>;
}): Promise<HandSwarm> {
  const envs: Record<string, Record<string, string>> = {};
  const docker = async (m: string, args: string) => {
    const r = await bash(`docker ${args}`, { ...envs[m], DOCKER_CONFIG: o.work });
    if (r.code !== 0) throw new Error(`docker ${args} on ${m}: ${r.stderr}`);
    return r.stdout.trim();
  };
  for (const m of [o.manager, ...o.workers]) {
    const env = await o.sw(['env', m]);
    if (env.code !== 0) throw new Error(`env ${m}: ${env.stderr}`);
    envs[m] = parseEnv(env.stdout);
    const load = await bash(`DOCKER_HOST=${labDockerHost} docker save ${labImages.httpd} | docker load`, {
      ...envs[m],
      DOCKER_CONFIG: o.work,
    });
    if (load.code !== 0) throw new Error(`image load on ${m}: ${load.stderr}`);
  }
  const addr = o.advertise ? await o.advertise(o.manager) : undefined;
  await docker(o.manager, `swarm init${addr ? ` --advertise-addr ${addr}` : ''}`);
  const ip = addr ?? (await docker(o.manager, `info --format '{{.Swarm.NodeAddr}}'`));
  const token = await docker(o.manager, 'swarm join-token -q worker');
  for (const w of o.workers) await docker(w, `swarm join --token ${token} ${ip}:2377`);
  await docker(
    o.manager,
    `service create -d --name web --mode global -p mode=host,published=${o.port},target=80 ${labImages.httpd}`,
  );
  const n = 1 + o.workers.length;
  await eventually(
    async () =>
      (await docker(o.manager, `service ls --format '{{.Name}} {{.Replicas}}'`)).includes(`web ${n}/${n}`),
    90_000,
    `web on all ${n} nodes`,
  );
  return { docker };
}

/** The internal address a machine's swarm advertises (from `swarmup inspect`). */
export const internalIp = (sw: (args: string[]) => Promise<Run>) => async (m: string) =>
  JSON.parse((await sw(['inspect', m])).stdout).Driver.InternalIPAddress as string;
