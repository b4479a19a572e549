/**
 * `swarmup lb sync|status|rm` for clusters of the aliyunecs driver: an Aliyun SLB in front of every
 * published port. Loaded only for such clusters (src/lb/cloud.ts).
 */
import { aliyunClient, requireCredentials, type AliyunClient } from '../../cloud/aliyun/client.js';
import { aliyunecsPlugin } from '../../../drivers/aliyunecs/plugin.js';
import { targetFrom } from '../../../drivers/aliyunecs/settings.js';
import { describeHealthStatus } from '../../cloud/aliyun/slb.js';
import { parseUserTags } from '../../cloud/aliyun/tags.js';
import { flagsFromEnv } from '../../cluster/destroy.js';
import type { FlagValues } from '../../driver/contract.js';
import { UserError, oneLine } from '../../errors.js';
import { formatColumns } from '../../ui/table.js';
import { info } from '../../util/log.js';
import { clusterLabels, type LbCommandOptions, type LbContext } from '../cloud.js';
import { desiredListeners, listenerKey } from '../desired.js';
import type { SwarmSnapshot } from '../model.js';
import { formatPlan, planToJSON } from '../plan.js';
import { watchCluster } from '../watch.js';
import { applySlb } from './apply.js';
import { isOwned, planSlb, type ClusterInstance, type SlbCurrent, type SlbPlan } from './plan.js';
import { clusterInstances, readCurrent, scopeOf, type SlbScope } from './read.js';
import { removeClusterLoadBalancer } from './remove.js';
import { readClusterSwarm } from '../cluster-swarm.js';

export { removeClusterLoadBalancer } from './remove.js';

export interface Setup {
  c: AliyunClient;
  scope: SlbScope;
  flags: FlagValues;
}

/** The cluster's flags (saved ones, then the environment), a client, and where its SLB and group are. */
export async function setup(ctx: Pick<LbContext, 'cluster' | 'record'>): Promise<Setup> {
  if (ctx.record.Driver !== 'aliyunecs') {
    throw new UserError(`cluster "${ctx.cluster}" does not use the aliyunecs driver`);
  }
  const flags = flagsFromEnv(aliyunecsPlugin, ctx.record.DriverOptions);
  const c = await aliyunClient(targetFrom(flags), requireCredentials(flags));
  return { c, scope: scopeOf(ctx.cluster, flags), flags };
}

const listFlag = (v: FlagValues[string]) => (Array.isArray(v) ? v : v ? [String(v)] : []);
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

interface Cloud {
  current: SlbCurrent;
  instances: ClusterInstance[];
}

/** The SLB, its listeners and backends, the rules and the cluster's instances. Reads only. */
async function readCloud(s: Setup, cluster: string): Promise<Cloud> {
  const [current, instances] = await Promise.all([readCurrent(s.c, s.scope), clusterInstances(s.c, cluster)]);
  return { current, instances };
}

function plan(ctx: Pick<LbContext, 'cluster'>, s: Setup, snap: SwarmSnapshot, cloud: Cloud): SlbPlan {
  return planSlb({
    cluster: ctx.cluster,
    desired: desiredListeners(snap.services, snap.nodes, snap.tasks),
    nodes: snap.nodes,
    instances: cloud.instances,
    current: cloud.current,
    adoptId: s.scope.adoptId,
  });
}

export async function sync(o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  if (!o.watch) return syncOnce(o, ctx, s, false);
  await watchCluster(ctx.store, ctx.cluster, o, () => syncOnce(o, ctx, s, true));
}

/** Where a sync prints: the plan (stdout) and progress (stderr). */
export interface SyncOutput {
  out: (text: string) => void;
  log: (msg: string) => void;
}

const stdio: SyncOutput = { out: (t) => process.stdout.write(t), log: info };

async function syncOnce(o: LbCommandOptions, ctx: LbContext, s: Setup, quietWhenUnchanged: boolean) {
  const snap = await readClusterSwarm(ctx.store, ctx.cluster, !!o.json || quietWhenUnchanged);
  await syncSnapshot(o, ctx, s, snap, quietWhenUnchanged);
}

/**
 * One sync for the swarm as `snap` shows it: plan, print, apply, then read the cloud again and check
 * that nothing is left to do. A plan without steps makes no mutating call.
 */
export async function syncSnapshot(
  o: LbCommandOptions,
  ctx: Pick<LbContext, 'cluster' | 'record'>,
  s: Setup,
  snap: SwarmSnapshot,
  quietWhenUnchanged = false,
  io: SyncOutput = stdio,
): Promise<void> {
  const t0 = Date.now();
  const cloud = await readCloud(s, ctx.cluster);
  const p = plan(ctx, s, snap, cloud);
  const warnings = [...snap.warnings, ...p.warnings];
  const unchanged = p.plan.steps.length === 0;
  const quiet = quietWhenUnchanged && unchanged;
  const json = (lb = cloud.current.lb) => ({
    cluster: ctx.cluster,
    provider: 'slb',
    region: s.c.regionId,
    loadBalancer: lb ? { id: lb.id, address: lb.address ?? null, adopted: lb.adopted } : null,
    dryRun: !!o.dryRun,
    warnings,
    ...planToJSON(p.plan),
  });
  if (!quiet && !o.json) {
    for (const w of warnings) io.log(`Warning: ${w}`);
    io.out(formatPlan(p.plan));
  }
  if (o.dryRun || unchanged) {
    if (o.json && !quiet) io.out(JSON.stringify(json(), null, 2) + '\n');
    else if (cloud.current.lb && !o.dryRun && !quietWhenUnchanged)
      io.log(inSyncLine(cloud.current.lb, p, t0));
    return;
  }
  let lb;
  try {
    lb = await applySlb(s.c, cloud.current.lb, p, cloud.current.securityGroupId, {
      cluster: ctx.cluster,
      labels: clusterLabels(ctx.record),
      user: parseUserTags(listFlag(s.flags['aliyunecs-tag'])),
      log: o.json ? () => undefined : io.log,
    });
  } catch (err) {
    throw new UserError(`updating the load balancer failed (run "lb sync" again to finish): ${oneLine(err)}`);
  }
  const left = plan(ctx, s, snap, await readCloud(s, ctx.cluster)).plan.steps;
  if (left.length) {
    throw new UserError(
      `the load balancer is not in sync after the update: ${left.map((x) => `${x.op} ${x.kind} ${x.name}`).join(', ')}`,
    );
  }
  if (o.json) io.out(JSON.stringify(json(lb), null, 2) + '\n');
  else io.log(inSyncLine(lb, p, t0));
}

function inSyncLine(lb: { id: string; address?: string }, p: SlbPlan, t0: number): string {
  const n = p.listeners.create.length + p.listeners.update.length + p.kept;
  return (
    `Load balancer ${lb.id} (${lb.address ?? 'no address'}) is in sync: ${plural(n, 'listener')}` +
    ` (${Date.now() - t0} ms)`
  );
}

export async function status(o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  const cloud = await readCloud(s, ctx.cluster);
  const { current } = cloud;
  const lb = current.lb;
  // Compare with the swarm when a manager answers; the SLB's own state is shown either way.
  let pending: number | undefined;
  let swarmError: string | undefined;
  try {
    pending = plan(ctx, s, await readClusterSwarm(ctx.store, ctx.cluster, true), cloud).plan.steps.length;
  } catch (err) {
    swarmError = oneLine(err);
  }
  const health = lb ? await describeHealthStatus(s.c, lb.id) : [];
  const names = new Map(cloud.instances.map((i) => [i.id, i.name]));
  const nameOf = (id: string) => names.get(id) ?? id;
  const backends = [...current.backends].sort((a, b) =>
    nameOf(a).localeCompare(nameOf(b), undefined, { numeric: true }),
  );
  const rows = current.listeners.map((l) => ({
    listener: listenerKey({ protocol: l.protocol, port: l.port }),
    owned: isOwned(l.description, ctx.cluster),
    status: l.status ?? null,
    backendPort: l.backendPort ?? null,
    description: l.description,
    backends: health
      .filter(
        (h) =>
          Number(h.ListenerPort ?? l.port) === l.port &&
          (!h.Protocol || h.Protocol.toLowerCase() === l.protocol),
      )
      .map((h) => ({ server: h.ServerId, node: names.get(h.ServerId) ?? null, health: h.ServerHealthStatus }))
      .sort((a, b) => nameOf(a.server).localeCompare(nameOf(b.server), undefined, { numeric: true })),
  }));
  if (o.json) {
    const out = {
      cluster: ctx.cluster,
      provider: 'slb',
      loadBalancer: lb
        ? { id: lb.id, name: lb.name ?? null, address: lb.address ?? null, adopted: lb.adopted }
        : null,
      listeners: rows,
      backends: backends.map((id) => ({ server: id, node: names.get(id) ?? null })),
      inSync: pending === undefined ? null : pending === 0,
      pendingChanges: pending ?? null,
      ...(swarmError ? { swarmError } : {}),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const lines: string[] = [];
  if (!lb) lines.push(`No load balancer for cluster "${ctx.cluster}".`);
  else {
    lines.push(
      `Load balancer: ${lb.id} (${lb.name ?? '-'})${lb.adopted ? ', adopted (--aliyunecs-slb-id)' : ''}`,
    );
    lines.push(`Address:       ${lb.address ?? '-'}`);
    lines.push(`Backends:      ${backends.map(nameOf).join(' ') || 'none'}`);
    if (rows.length === 0) lines.push('Listeners:     none');
    else {
      const table = formatColumns([
        ['LISTENER', 'STATUS', 'OWNER', 'BACKEND PORT', 'HEALTH'],
        ...rows.map((r) => [
          r.listener,
          r.status ?? '-',
          r.owned ? 'swarmup' : 'other',
          r.backendPort === null ? '-' : String(r.backendPort),
          r.backends.map((b) => `${b.node ?? b.server}=${b.health}`).join(' ') || '-',
        ]),
      ]);
      lines.push(table.trimEnd());
    }
  }
  if (swarmError) lines.push(`Swarm: not compared (${swarmError})`);
  else if (pending === 0) lines.push('In sync with the swarm.');
  else lines.push(`${plural(pending!, 'change')} pending: run "swarmup lb sync --cluster ${ctx.cluster}".`);
  process.stdout.write(lines.join('\n') + '\n');
}

export async function rm(_o: LbCommandOptions, ctx: LbContext): Promise<void> {
  const s = await setup(ctx);
  const gone = await removeClusterLoadBalancer(s.c, s.scope, info);
  info(
    gone.length
      ? `Removed: ${gone.join(', ')}.`
      : `No load balancer for cluster "${ctx.cluster}"; nothing to remove.`,
  );
}
