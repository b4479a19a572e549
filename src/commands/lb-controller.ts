/**
 * `swarmup lb controller install|status|rm|build|run`: flags in, text or JSON out. The work is in
 * src/lb/controller/ (install.ts on the operator's side, runtime.ts inside the cluster).
 */
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { CredentialChoice } from '../lb/controller/credentials.js';
import type { ControllerStatusReport } from '../lb/controller/install.js';
import { debug, info } from '../util/log.js';
import { storeOf } from './common.js';
import { targetOf } from './lb.js';
import { targetFlag } from '../lb/target.js';
import { formatColumns } from '../ui/table.js';

interface TargetOptions {
  cluster?: string;
  manager?: string;
}

interface InstallOpts extends TargetOptions {
  image?: string;
  credentials?: string;
  googleKeyFile?: string;
  resync?: string;
  wait?: boolean;
  json?: boolean;
}

function resyncSeconds(v: string | undefined): number {
  if (v === undefined) return 30;
  const n = Number(v.trim());
  if (!v.trim() || !Number.isInteger(n) || n < 0 || n > 86_400)
    throw new UserError(`--resync must be a whole number of seconds from 0 (never) to 86400, not "${v}"`);
  return n;
}

export async function install(o: InstallOpts, cmd: Command): Promise<void> {
  if (o.credentials !== undefined && o.credentials !== 'instance' && o.credentials !== 'secret')
    throw new UserError(`--credentials must be instance or secret, not "${o.credentials}"`);
  if (o.image !== undefined && !o.image.trim()) throw new UserError('--image must not be empty');
  const resyncS = resyncSeconds(o.resync);
  const t = await targetOf(o, storeOf(cmd));
  const [{ installController }, { defaultImage }] = await Promise.all([
    import('../lb/controller/install.js'),
    import('../lb/controller/image.js'),
  ]);
  const r = await installController(t, {
    image: o.image ?? defaultImage(),
    credentials: o.credentials as CredentialChoice | undefined,
    googleKeyFile: o.googleKeyFile,
    resyncS,
    log: info,
    waitMs: o.wait === false ? 0 : undefined,
  });
  const where = r.status?.task ? ` on ${r.status.task.node}` : '';
  const verb =
    r.action === 'unchanged' ? 'is already installed' : r.action === 'created' ? 'installed' : 'updated';
  const failed = r.status?.status?.ok === false ? r.status.status.lastError : undefined;
  if (o.json) process.stdout.write(JSON.stringify({ [t.kind]: t.name, ...r }, null, 2) + '\n');
  // It runs, but cannot do its work (credentials the cloud refuses, say): an error, said once.
  if (failed !== undefined)
    throw new UserError(
      `controller swarmup-lb-controller ${verb}${where}, but its sync fails: ${failed} (it retries; "swarmup lb controller status ${targetFlag(t)}" follows it)`,
    );
  if (o.json) return;
  info(
    `Controller swarmup-lb-controller ${verb}${where} (image ${r.image}, credentials: ${r.credentials})` +
      (r.status?.status?.summary ? `; load balancer: ${r.status.status.summary}` : ''),
  );
}

const ago = (iso: string | undefined) => {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return `${iso} (${s} s ago)`;
};

function statusText(t: { kind: string; name: string }, r: ControllerStatusReport): string {
  if (!r.service)
    return `No load-balancer controller in the swarm of ${t.kind} "${t.name}" (install one with "swarmup lb controller install --${t.kind} ${t.name}").\n`;
  const s = r.status;
  const rows = [
    [
      'Service:',
      `${r.service.id.slice(0, 12)} ${r.service.replicas} running, image ${r.service.image}${r.service.updateState ? `, update ${r.service.updateState}` : ''}`,
    ],
    [
      'Task:',
      r.task
        ? `${r.task.name} on ${r.task.node}: ${r.task.state}${r.task.error ? ` (${r.task.error})` : ''}`
        : 'none',
    ],
    ['Credentials:', r.service.credentials],
    ['Lease:', r.lease?.holder ? `${r.lease.holder} until ${r.lease.expires ?? '?'}` : 'free'],
    ['Last sync:', s?.lastSync ? `${ago(s.lastSync)}: ${s.ok ? 'ok' : 'FAILED'}` : 'none yet'],
  ];
  if (s?.lastError && s.ok === false)
    rows.push(['Last error:', `${s.lastError} (${s.failures ?? 1} in a row)`]);
  if (s?.lastChange)
    rows.push([
      'Last change:',
      `${ago(s.lastChange)}: ${s.plan ? `${s.plan.create} created, ${s.plan.update} updated, ${s.plan.delete} deleted` : ''}`,
    ]);
  if (s?.summary) rows.push(['Balancer:', s.summary]);
  return formatColumns(rows);
}

export async function status(o: TargetOptions & { json?: boolean }, cmd: Command): Promise<void> {
  const t = await targetOf(o, storeOf(cmd));
  const { controllerStatusOf } = await import('../lb/controller/install.js');
  const r = await controllerStatusOf(t);
  process.stdout.write(
    o.json ? JSON.stringify({ [t.kind]: t.name, ...r }, null, 2) + '\n' : statusText(t, r),
  );
}

export async function rm(o: TargetOptions, cmd: Command): Promise<void> {
  const t = await targetOf(o, storeOf(cmd));
  const { removeControllerOf } = await import('../lb/controller/install.js');
  const gone = await removeControllerOf(t, info);
  info(
    gone.length
      ? `Removed the load-balancer controller of ${t.kind} "${t.name}" (${gone.join(', ')}); the load balancer stays: "lb sync" keeps it from here.`
      : `No load-balancer controller in the swarm of ${t.kind} "${t.name}"; nothing to remove.`,
  );
}

export async function build(o: { base?: string; tag?: string }, cmd: Command): Promise<void> {
  if (o.base !== undefined && !o.base.trim()) throw new UserError('--base must not be empty');
  const [{ buildControllerImage, defaultImage }, { hostEngine }] = await Promise.all([
    import('../lb/controller/image.js'),
    import('../engine/host.js'),
  ]);
  const tag = o.tag ?? defaultImage();
  // This host's engine, as for a local load balancer: never a machine the environment points at.
  const engine = hostEngine({ storeRoot: storeOf(cmd).root, recorded: [] });
  const r = await buildControllerImage({ base: o.base ?? 'node:20-bookworm-slim', tag, engine, log: info });
  process.stdout.write(`${tag}\n`);
  info(`Built ${tag} (${r.id.slice(7, 19)}); "lb controller install" loads it into the swarm's nodes.`);
}

/** The controller's process inside the cluster (the image's entrypoint). */
export async function run(): Promise<void> {
  const [{ parseConfig, CONFIG_ENV }, { dropPrivileges, runController }, { CONTROLLER }] = await Promise.all([
    import('../lb/controller/config.js'),
    import('../lb/controller/runtime.js'),
    import('../lb/controller/spec.js'),
  ]);
  const line = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
  const config = parseConfig(process.env[CONFIG_ENV]);
  const who = dropPrivileges(CONTROLLER.socket);
  const stop = new AbortController();
  const onSignal = (sig: string) => () => {
    if (stop.signal.aborted) return;
    line(`${sig}: finishing the running sync, then stopping`);
    stop.abort();
  };
  process.once('SIGTERM', onSignal('SIGTERM'));
  process.once('SIGINT', onSignal('SIGINT'));
  line(who);
  await runController({
    config,
    engine: { socketPath: CONTROLLER.socket },
    me: process.env.SWARMUP_CONTROLLER_TASK || `controller-${process.pid}`,
    node: process.env.SWARMUP_CONTROLLER_NODE || 'local',
    log: line,
    detail: debug,
    signal: stop.signal,
  });
}
