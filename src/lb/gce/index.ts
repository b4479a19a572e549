/**
 * `swarmup lb` for clusters of the google driver: a GCE network load balancer (reserved address,
 * firewall, HTTP health check, target pool, forwarding rules) in front of every published port.
 */
import type Docker from 'dockerode';
import { lastSegment, type Gce } from '../../cloud/gce/api.js';
import { connectGce } from '../../cloud/gce/connect.js';
import { ApiError, OperationError, describeApiError } from '../../cloud/gce/errors.js';
import { googlePlugin } from '../../../drivers/google/plugin.js';
import { settingsFromFlags, type GoogleSettings } from '../../../drivers/google/settings.js';
import { clusterMachines, reachableManager } from '../../cluster/access.js';
import { flagsFromEnv } from '../../cluster/destroy.js';
import { UserError, oneLine } from '../../errors.js';
import { engineClient } from '../../swarm/client.js';
import { info } from '../../util/log.js';
import { clusterLabels, type CloudLoadBalancer, type LbCommandOptions, type LbContext } from '../cloud.js';
import { desiredListeners } from '../desired.js';
import type { Listener, SwarmSnapshot } from '../model.js';
import { formatPlan, planToJSON } from '../plan.js';
import { readSwarm } from '../published.js';
import { watchCluster } from '../watch.js';
import { GceLbBackend, readHealthService, readLb, refuseForeign } from './backend.js';
import { HEALTH, desiredLb, lbNames } from './desired.js';
import type { CurrentLb } from './model.js';
import { applyLb, planLb, type LbPlan } from './plan.js';
import { rangeText } from './ranges.js';

interface Setup {
  settings: GoogleSettings;
  gce: Gce;
  region: string;
}

async function setup(ctx: LbContext): Promise<Setup> {
  if (ctx.record.Driver !== 'google')
    throw new UserError(`cluster "${ctx.cluster}" does not use the google driver`);
  const settings = settingsFromFlags(flagsFromEnv(googlePlugin, ctx.record.DriverOptions));
  const gce = await connectGce({ project: settings.project, endpoint: settings.endpoint });
  return { settings, gce, region: settings.region };
}

/** A Compute API failure as one line for the user. */
function gceFailure(what: string, err: unknown): UserError {
  if (err instanceof ApiError || err instanceof OperationError)
    return new UserError(`${what}: ${err.message}`);
  if (err instanceof UserError) return err;
  const f = describeApiError(err);
  return new UserError(`${what}: ${f.status ? `${f.status} ` : ''}${f.message}`);
}

/** Swarm node hostname → `zones/<z>/instances/<n>`, from the store (then by address, then by name). */
async function instanceResolver(ctx: LbContext, s: Setup) {
  const machines = await clusterMachines(ctx.store, ctx.cluster);
  const byName = new Map<string, string>();
  const byIp = new Map<string, string>();
  for (const m of machines) {
    const d = m.cfg.Driver;
    const path = `zones/${String(d.Zone ?? s.settings.zone)}/instances/${String(d.InstanceName ?? m.cfg.Name)}`;
    byName.set(m.cfg.Name, path);
    if (typeof d.InternalIPAddress === 'string') byIp.set(d.InternalIPAddress, path);
  }
  return {
    machines,
    resolve: (hostname: string, address: string): string | undefined =>
      byName.get(hostname) ??
      byIp.get(address) ??
      (/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(hostname)
        ? `zones/${s.settings.zone}/instances/${hostname}`
        : undefined),
  };
}

interface Computed {
  plan: LbPlan;
  current: CurrentLb;
  listeners: Listener[];
  instances: string[];
  warnings: string[];
  docker: Docker;
  manager: string;
}

/** Read the swarm and the load balancer, and plan. Reads only. */
async function compute(ctx: LbContext, s: Setup, present: boolean): Promise<Computed> {
  const { machine, endpoint } = await reachableManager(ctx.store, ctx.cluster);
  const docker = engineClient(endpoint);
  const resolver = await instanceResolver(ctx, s);
  let snap: SwarmSnapshot;
  try {
    snap = await readSwarm(endpoint, async (hostnames) => {
      const out = new Map<string, string>();
      for (const m of resolver.machines) {
        if (hostnames.includes(m.cfg.Name) && typeof m.cfg.Driver.InternalIPAddress === 'string') {
          out.set(m.cfg.Name, m.cfg.Driver.InternalIPAddress);
        }
      }
      return out;
    });
  } catch (err) {
    throw new UserError(`cannot read the swarm from ${machine.cfg.Name}: ${oneLine(err)}`);
  }
  const warnings = [...snap.warnings];
  const services = snap.services.filter((x) => x.name !== HEALTH.service);
  const listeners = desiredListeners(services, snap.nodes, snap.tasks);
  const poolNodes = snap.nodes.filter((n) => n.ready && n.active);
  const instances: string[] = [];
  for (const n of poolNodes) {
    const path = resolver.resolve(n.hostname, n.address);
    if (path) instances.push(path);
    else warnings.push(`node ${n.hostname} is not a known instance of the cluster; it gets no traffic`);
  }
  const poolHosts = new Set(poolNodes.map((n) => n.hostname));
  for (const l of listeners) {
    if (l.mode !== 'host') continue;
    const on = l.backends.filter((b) => poolHosts.has(b.node)).length;
    if (on < poolHosts.size) {
      warnings.push(
        `${l.protocol}/${l.port} (${l.services.join(', ')}) is published in host mode on ${on} of ${poolHosts.size} pool nodes; the others refuse it: run the service in global mode or publish the port in ingress mode`,
      );
    }
  }
  let read;
  let healthService;
  try {
    [read, healthService] = await Promise.all([
      readLb(s.gce, s.region, ctx.cluster),
      readHealthService(docker),
    ]);
  } catch (err) {
    throw gceFailure('cannot read the load balancer', err);
  }
  const current: CurrentLb = { ...read.current, healthService };
  const storeId = await ctx.store.id();
  const d = desiredLb(
    {
      cluster: ctx.cluster,
      region: s.region,
      network: s.settings.network,
      listeners,
      instances,
      storeId,
      labels: { user: s.settings.labels, membership: clusterLabels(ctx.record) },
      health: { image: HEALTH.image ?? healthService?.image ?? HEALTH.defaultImage, port: HEALTH.port },
    },
    present,
  );
  const plan = planLb(d.desired, current, {
    region: s.region,
    portServices: d.portServices,
    skipped: d.skipped,
  });
  if (present) refuseForeign(read, plan, { project: s.gce.project, cluster: ctx.cluster });
  return { plan, current, listeners, instances, warnings, docker, manager: machine.cfg.Name };
}

function printPlan(o: LbCommandOptions, ctx: LbContext, s: Setup, c: Computed): void {
  if (o.json) {
    const out = {
      cluster: ctx.cluster,
      provider: 'gce',
      project: s.gce.project,
      region: s.region,
      address: c.current.address?.ip ?? null,
      dryRun: !!o.dryRun,
      warnings: c.warnings,
      ...planToJSON(c.plan),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const w of c.warnings) info(`Warning: ${w}`);
    process.stdout.write(formatPlan(c.plan));
  }
}

async function apply(s: Setup, c: Computed, log: (m: string) => void): Promise<void> {
  try {
    await applyLb(c.plan, new GceLbBackend(s.gce, s.region, c.docker), c.current, { log });
  } catch (err) {
    throw gceFailure('updating the load balancer failed (run "swarmup lb sync" again to finish)', err);
  }
}

/** One sync: plan, print, apply, then read everything again and check that nothing is left to do. */
async function syncOnce(
  o: LbCommandOptions,
  ctx: LbContext,
  s: Setup,
  quietWhenUnchanged: boolean,
): Promise<void> {
  const t0 = Date.now();
  const c = await compute(ctx, s, true);
  if (!(quietWhenUnchanged && c.plan.steps.length === 0)) printPlan(o, ctx, s, c);
  if (o.dryRun || c.plan.steps.length === 0) return;
  await apply(s, c, info);
  const after = await compute(ctx, s, true);
  if (after.plan.steps.length) {
    throw new UserError(
      `the load balancer is not in sync after the update: ${after.plan.steps.map((x) => `${x.op} ${x.kind} ${x.name}`).join(', ')}`,
    );
  }
  const rules = after.current.rules;
  info(
    `Load balancer of cluster "${ctx.cluster}" is in sync: ${after.current.address?.ip ?? '?'}, ` +
      `${rules.length} forwarding rule${rules.length === 1 ? '' : 's'} (${rules.map((r) => `${r.protocol}/${rangeText(r.range)}`).join(' ') || 'none'}), ` +
      `${after.current.pool?.instances.length ?? 0} instance(s) in the pool (${Date.now() - t0} ms)`,
  );
}

export async function sync(o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  if (!o.watch) return syncOnce(o, ctx, s, false);
  await watchCluster(ctx.store, ctx.cluster, o, () => syncOnce(o, ctx, s, true));
}

interface PoolMember {
  instance: string;
  health: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
}

/** Health of each pool member from targetPools.getHealth; UNKNOWN where the API cannot tell. */
async function poolHealth(s: Setup, pool: string, instances: string[]): Promise<PoolMember[]> {
  return Promise.all(
    instances.map(async (i): Promise<PoolMember> => {
      try {
        const h = await s.gce.call(`health of ${i}`, (opts) =>
          s.gce.targetPools.getHealth(
            {
              project: s.gce.project,
              region: s.region,
              targetPool: pool,
              instanceReferenceResource: { instance: s.gce.url(i) },
            },
            opts,
          ),
        );
        const st = h.healthStatus?.[0]?.healthState;
        return { instance: i, health: st === 'HEALTHY' || st === 'UNHEALTHY' ? st : 'UNKNOWN' };
      } catch {
        return { instance: i, health: 'UNKNOWN' };
      }
    }),
  );
}

export async function status(o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  let current: CurrentLb;
  try {
    current = (await readLb(s.gce, s.region, ctx.cluster)).current;
  } catch (err) {
    throw gceFailure('cannot read the load balancer', err);
  }
  let pending: number | undefined;
  let swarmError: string | undefined;
  try {
    pending = (await compute(ctx, s, true)).plan.steps.length;
  } catch (err) {
    swarmError = oneLine(err);
  }
  const members = current.pool ? await poolHealth(s, current.pool.name, current.pool.instances) : [];
  const healthy = members.filter((m) => m.health === 'HEALTHY').length;
  const known = members.some((m) => m.health !== 'UNKNOWN');
  const rules = current.rules.map((r) => ({
    name: r.name,
    protocol: r.protocol,
    ports: rangeText(r.range),
    address: r.ip,
  }));
  if (o.json) {
    const out = {
      cluster: ctx.cluster,
      provider: 'gce',
      project: s.gce.project,
      region: s.region,
      address: current.address?.ip ?? null,
      rules,
      targetPool: current.pool ? { name: current.pool.name, members } : null,
      healthCheck: current.healthCheck ?? null,
      firewalls: current.firewalls.map((f) => ({
        name: f.name,
        allowed: f.allowed,
        sourceRanges: f.sourceRanges,
      })),
      healthyBackends: known ? healthy : null,
      inSync: pending === undefined ? null : pending === 0,
      pendingChanges: pending ?? null,
      ...(swarmError ? { swarmError } : {}),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const lines: string[] = [];
  if (!current.address && !current.pool && rules.length === 0) {
    lines.push(
      `No load balancer for cluster "${ctx.cluster}" in ${s.region} (run "swarmup lb sync --cluster ${ctx.cluster}").`,
    );
  } else {
    lines.push(
      `Address:      ${current.address ? `${current.address.ip} (${current.address.name}, ${s.region})` : 'none'}`,
    );
    lines.push(`Rules:        ${rules.map((r) => `${r.protocol}/${r.ports}`).join(' ') || 'none'}`);
    if (current.healthCheck) {
      const h = current.healthCheck;
      lines.push(
        `Health check: HTTP :${h.port}${h.requestPath} every ${h.checkIntervalSec} s (service ${HEALTH.service})`,
      );
    }
    lines.push(
      `Backends:     ${members.length} in target pool ${current.pool?.name ?? '-'}` +
        (known ? `, ${healthy} healthy` : ' (health not reported by the API)'),
    );
    for (const m of members) lines.push(`  ${lastSegment(m.instance).padEnd(30)} ${m.health}`);
  }
  if (swarmError) lines.push(`Swarm: not compared (${swarmError})`);
  else if (pending === 0) lines.push('In sync with the swarm.');
  else
    lines.push(
      `${pending} change${pending === 1 ? '' : 's'} pending: run "swarmup lb sync --cluster ${ctx.cluster}".`,
    );
  process.stdout.write(lines.join('\n') + '\n');
}

export async function rm(_o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  let c: Computed | undefined;
  try {
    c = await compute(ctx, s, false);
  } catch (err) {
    // Without a manager the health service goes with the swarm; the cloud resources go anyway.
    info(`Note: ${oneLine(err)}; removing the cloud resources only`);
  }
  if (!c) {
    const { removeClusterLoadBalancer } = await import('./teardown.js');
    const gone = await removeClusterLoadBalancer(s.gce, s.region, ctx.cluster, info);
    info(
      gone.length
        ? `Removed ${gone.join(', ')}.`
        : `No load balancer for cluster "${ctx.cluster}"; nothing to remove.`,
    );
    return;
  }
  if (c.plan.steps.length === 0) {
    info(
      `No load balancer for cluster "${ctx.cluster}" (${lbNames(ctx.cluster).address}); nothing to remove.`,
    );
    return;
  }
  process.stdout.write(formatPlan(c.plan));
  await apply(s, c, info);
  info(`Removed the load balancer of cluster "${ctx.cluster}".`);
}

const lb: CloudLoadBalancer = { sync, status, rm };
export default lb;
