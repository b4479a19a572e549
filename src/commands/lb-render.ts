/** Text and JSON for `swarmup lb`, from the data the reconcile loop and the backends return. */
import type { HelperHealth, InSync, LbStatus } from '../lb/backend.js';
import type { Backend } from '../lb/model.js';
import { helperFailure } from '../lb/reconcile.js';
import { targetFlag, type LbTarget } from '../lb/target.js';
import { formatColumns } from '../ui/table.js';

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const owner = (t: LbTarget) => `${t.kind} "${t.name}"`;

/** The line a sync that changed something (or an SLB already in sync) ends with. */
export function inSyncLine(t: LbTarget, s: InSync, ms: number): string {
  switch (s.provider) {
    case 'local':
      return (
        `Load balancer ${s.container} is in sync: ${plural(s.listeners, 'listener')} on ${s.bind}` +
        ` (${s.action}${s.readyMs !== undefined ? `, haproxy ready in ${s.readyMs} ms` : ''}; ${ms} ms in all)`
      );
    case 'gce':
      return (
        `Load balancer of ${owner(t)} is in sync: ${s.address ?? '?'}, ` +
        `${plural(s.rules.length, 'forwarding rule')} (${s.rules.join(' ') || 'none'}), ` +
        `${s.instances} instance(s) in the pool (${ms} ms)`
      );
    case 'slb':
      return `Load balancer ${s.id} (${s.address ?? 'no address'}) is in sync: ${plural(s.listeners, 'listener')} (${ms} ms)`;
  }
}

/** What `lb rm` says at the end. */
export function removedLine(
  t: LbTarget,
  provider: LbStatus['provider'],
  gone: string[],
  planned: boolean,
): string {
  if (provider === 'local') {
    const name = `swarmup-lb-${t.name}`;
    return gone.length
      ? `Removed load balancer container ${name}.`
      : `No load balancer container ${name}; nothing to remove.`;
  }
  if (!gone.length) return `No load balancer for ${owner(t)}; nothing to remove.`;
  if (planned) return `Removed the load balancer of ${owner(t)}.`;
  return provider === 'slb' ? `Removed: ${gone.join(', ')}.` : `Removed ${gone.join(', ')}.`;
}

/** Status fields only the text shows. */
const TEXT_ONLY = new Set(['containerName', 'engine', 'addressName', 'healthService', 'memberNames']);

export function statusJSON(t: LbTarget, s: LbStatus): Record<string, unknown> {
  const details = Object.fromEntries(Object.entries(s.details).filter(([k]) => !TEXT_ONLY.has(k)));
  return {
    [t.kind]: t.name,
    ...details,
    ...(s.health ? { healthService: s.health } : {}),
    inSync: s.pending === undefined ? null : s.pending === 0,
    pendingChanges: s.pending ?? null,
    ...(s.swarmError ? { swarmError: s.swarmError } : {}),
  };
}

function compareLine(t: LbTarget, s: LbStatus): string {
  if (s.swarmError) return `Swarm: not compared (${s.swarmError})`;
  if (s.pending === 0) return 'In sync with the swarm.';
  return `${plural(s.pending!, 'change')} pending: run "swarmup lb sync ${targetFlag(t)}".`;
}

function healthLine(h: HelperHealth): string | undefined {
  if (h.failed > 0) return `Health service: ${helperFailure(h).replace(/^health service: /, '')}`;
  return undefined;
}

interface LocalRow {
  listener: string;
  mode: string;
  services: string[];
  backends: Backend[];
  listening: boolean;
}

function localText(d: Record<string, unknown>): string[] {
  const c = d.container as { name: string; status: string; image: string; startedAt: string } | null;
  if (!c) return [`No load balancer container (${String(d.containerName)}) on ${String(d.engine)}.`];
  const rows = d.listeners as LocalRow[];
  const lines = [
    `Container: ${c.name} (${c.status}, image ${c.image}, started ${c.startedAt})`,
    `Bind:      ${(d.bind as string | null) ?? 'unknown (config missing or unreadable)'}`,
  ];
  if (rows.length === 0) lines.push('Listeners: none');
  else {
    const table = [
      ['LISTENER', 'MODE', 'SERVICES', 'LISTENING', 'BACKENDS'],
      ...rows.map((r) => [
        r.listener,
        r.mode,
        r.services.join(','),
        r.listening ? 'yes' : 'NO',
        r.backends.map((b) => `${b.node}=${b.address}`).join(' ') || '-',
      ]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const row of table)
      lines.push(
        row
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      );
  }
  return lines;
}

function gceText(t: LbTarget, d: Record<string, unknown>): string[] {
  const rules = d.rules as Array<{ protocol: string; ports: string }>;
  const pool = d.targetPool as { name: string; members: Array<{ health: string }> } | null;
  const hc = d.healthCheck as { port: number; requestPath: string; checkIntervalSec: number } | null;
  if (!d.address && !pool && rules.length === 0) {
    return [
      `No load balancer for ${owner(t)} in ${String(d.region)} (run "swarmup lb sync ${targetFlag(t)}").`,
    ];
  }
  const members = pool?.members ?? [];
  const names = d.memberNames as string[];
  const lines = [
    `Address:      ${d.address ? `${String(d.address)} (${String(d.addressName)}, ${String(d.region)})` : 'none'}`,
    `Rules:        ${rules.map((r) => `${r.protocol}/${r.ports}`).join(' ') || 'none'}`,
  ];
  if (hc) {
    lines.push(
      `Health check: HTTP :${hc.port}${hc.requestPath} every ${hc.checkIntervalSec} s (service ${String(d.healthService)})`,
    );
  }
  lines.push(
    `Backends:     ${members.length} in target pool ${pool?.name ?? '-'}` +
      (d.healthyBackends !== null
        ? `, ${String(d.healthyBackends)} healthy`
        : ' (health not reported by the API)'),
  );
  members.forEach((m, i) => lines.push(`  ${names[i].padEnd(30)} ${m.health}`));
  return lines;
}

interface SlbRow {
  listener: string;
  owned: boolean;
  status: string | null;
  backendPort: number | null;
  backends: Array<{ server: string; node: string | null; health: string }>;
}

function slbText(t: LbTarget, d: Record<string, unknown>): string[] {
  const lb = d.loadBalancer as {
    id: string;
    name: string | null;
    address: string | null;
    adopted: boolean;
  } | null;
  if (!lb) return [`No load balancer for ${owner(t)}.`];
  const backends = d.backends as Array<{ server: string; node: string | null }>;
  const rows = d.listeners as SlbRow[];
  const lines = [
    `Load balancer: ${lb.id} (${lb.name ?? '-'})${lb.adopted ? ', adopted (--aliyunecs-slb-id)' : ''}`,
    `Address:       ${lb.address ?? '-'}`,
    `Backends:      ${backends.map((b) => b.node ?? b.server).join(' ') || 'none'}`,
  ];
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
  return lines;
}

export function statusText(t: LbTarget, s: LbStatus): string {
  const lines =
    s.provider === 'local'
      ? localText(s.details)
      : s.provider === 'gce'
        ? gceText(t, s.details)
        : slbText(t, s.details);
  const h = s.health && healthLine(s.health);
  if (h) lines.push(h);
  lines.push(compareLine(t, s));
  return lines.join('\n') + '\n';
}
