import type { Command } from 'commander';
import { UserError, oneLine } from '../errors.js';
import { engineRequest } from '../engine/api.js';
import { engineEndpoint, loadMachine, machineUrl } from '../machine/machine.js';
import type { Store } from '../store/store.js';
import { mapBounded, withTimeout } from '../util/async.js';
import { storeOf } from './common.js';
import { formatColumns } from '../ui/table.js';

/** One row of `ls`, with docker-machine's field names so `--format` templates carry over. */
export interface MachineRow {
  Name: string;
  Active: string;
  ActiveHost: boolean;
  DriverName: string;
  State: string;
  URL: string;
  Swarm: string;
  DockerVersion: string;
  Error: string;
  ResponseTime: string;
  Labels: string[];
}

async function describeEngine(m: Awaited<ReturnType<typeof loadMachine>>, timeoutMs: number) {
  const ep = await engineEndpoint(m);
  const r = await engineRequest(ep, 'GET', '/info', timeoutMs);
  if (r.status !== 200) throw new Error(`engine answered ${r.status}`);
  const i = JSON.parse(r.body) as {
    ServerVersion: string;
    Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
  };
  const s = i.Swarm;
  const swarm = s?.LocalNodeState === 'active' ? (s.ControlAvailable ? 'manager' : 'worker') : '';
  return { version: `v${i.ServerVersion}`, swarm };
}

/**
 * Query one machine: state, then (if running) its engine, all before `deadline` (the whole listing's
 * --timeout, not each machine's). Never throws: problems go in Error.
 */
export async function machineRow(store: Store, name: string, deadline: number): Promise<MachineRow> {
  const started = Date.now();
  const timeoutMs = Math.max(0, deadline - started);
  const left = () => Math.max(1, deadline - Date.now());
  const row = blankRow(name);
  try {
    const m = await loadMachine(store, name);
    row.DriverName = m.cfg.DriverName;
    row.Labels = m.cfg.HostOptions.EngineOptions.Labels;
    row.State = await withTimeout(m.driver.getState(), left(), 'timeout');
    if (row.State === 'Running') {
      row.URL = await machineUrl(m);
      row.ActiveHost = row.URL === process.env.DOCKER_HOST;
      row.Active = row.ActiveHost ? '*' : '-';
      const e = await withTimeout(describeEngine(m, left()), left(), 'timeout');
      row.DockerVersion = e.version;
      row.Swarm = e.swarm;
    }
  } catch (err) {
    if (oneLine(err) === 'timeout') {
      if (row.State === 'Error') row.State = 'Timeout';
      row.Error = `no answer within the ${Math.round(timeoutMs / 100) / 10} s left of --timeout`;
    } else {
      row.Error = oneLine(err);
    }
  }
  row.ResponseTime = `${Date.now() - started}ms`;
  return row;
}

type Filter = (r: MachineRow) => boolean;

/** docker-machine filters: repeats of one key are ORed, different keys ANDed. */
export function parseFilters(specs: string[]): Filter {
  const byKey = new Map<string, string[]>();
  for (const s of specs) {
    const m = /^([a-z]+)=(.*)$/.exec(s);
    if (m?.[1] === 'swarm') {
      throw new UserError(
        `invalid filter "${s}": swarm= matched Swarm classic masters; swarm mode's nodes are in "docker node ls" (or "swarmup cluster ls")`,
      );
    }
    if (!m || !['driver', 'state', 'name', 'label'].includes(m[1])) {
      throw new UserError(`invalid filter "${s}": use driver=, state=, name= (regex) or label=key=value`);
    }
    byKey.set(m[1], [...(byKey.get(m[1]) ?? []), m[2]]);
  }
  const tests: Filter[] = [...byKey].map(([key, values]) => {
    switch (key) {
      case 'driver':
        return (r) => values.some((v) => v.toLowerCase() === r.DriverName.toLowerCase());
      case 'state':
        return (r) => values.some((v) => v.toLowerCase() === r.State.toLowerCase());
      case 'name': {
        const res = values.map((v) => {
          try {
            return new RegExp(v);
          } catch {
            throw new UserError(`invalid name filter regex "${v}"`);
          }
        });
        return (r) => res.some((re) => re.test(r.Name));
      }
      default:
        return (r) => values.some((v) => r.Labels.includes(v));
    }
  });
  return (r) => tests.every((t) => t(r));
}

const COLUMNS: Array<[string, keyof MachineRow]> = [
  ['NAME', 'Name'],
  ['ACTIVE', 'Active'],
  ['DRIVER', 'DriverName'],
  ['STATE', 'State'],
  ['URL', 'URL'],
  ['SWARM', 'Swarm'],
  ['DOCKER', 'DockerVersion'],
  ['ERRORS', 'Error'],
];

/** Columns aligned like Go's tabwriter (minwidth 5, padding 3) as docker-machine printed them. */
export function formatTable(rows: MachineRow[]): string {
  return formatColumns(
    [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, k]) => String(r[k])))],
    5,
  );
}

export async function listRows(store: Store, timeoutSec: string): Promise<MachineRow[]> {
  const secs = Number(timeoutSec);
  if (!Number.isFinite(secs) || secs <= 0)
    throw new UserError(`invalid --timeout "${timeoutSec}": give seconds > 0`);
  const deadline = Date.now() + secs * 1000;
  const [names, interrupted] = await Promise.all([store.list(), store.interrupted()]);
  const rows = await mapBounded(names, 32, (n) => machineRow(store, n, deadline));
  return [...rows, ...interrupted.map(interruptedRow)].sort((a, b) =>
    a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0,
  );
}

/** A row for a machine nothing is known of yet: state Error until a query says otherwise. */
function blankRow(name: string): MachineRow {
  return {
    Name: name,
    Active: '-',
    ActiveHost: false,
    DriverName: '',
    State: 'Error',
    URL: '',
    Swarm: '',
    DockerVersion: 'Unknown',
    Error: '',
    ResponseTime: '',
    Labels: [],
  };
}

/** A name whose create was killed: its claim is left, no config. */
function interruptedRow(name: string): MachineRow {
  return {
    ...blankRow(name),
    Error: `interrupted create: "swarmup rm ${name}" removes it, a new create of ${name} takes it over`,
    ResponseTime: '0ms',
  };
}

export async function run(
  opts: { quiet?: boolean; filter: string[]; timeout: string; format?: string; json?: boolean },
  cmd: Command,
): Promise<void> {
  const filter = parseFilters(opts.filter);
  const store = storeOf(cmd);
  if (opts.quiet && opts.filter.length === 0) {
    const names = [...(await store.list()), ...(await store.interrupted())].sort();
    process.stdout.write(names.map((n) => `${n}\n`).join(''));
    return;
  }
  const rows = (await listRows(store, opts.timeout)).filter(filter);
  if (opts.quiet) {
    process.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
  } else if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  } else if (opts.format) {
    const { renderGoTemplate } = await import('../util/go-template.js');
    try {
      process.stdout.write(rows.map((r) => renderGoTemplate(opts.format!, r) + '\n').join(''));
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  } else {
    process.stdout.write(formatTable(rows));
  }
}

export async function active(opts: { timeout: string }, cmd: Command): Promise<void> {
  if (!process.env.DOCKER_HOST) throw new UserError('No active host found');
  const rows = await listRows(storeOf(cmd), opts.timeout);
  const hit = rows.find((r) => r.ActiveHost && r.State === 'Running');
  // docker-machine's words: a machine that did not answer might have been the active one.
  if (!hit && rows.some((r) => r.State === 'Timeout'))
    throw new UserError('Error getting active host: timeout');
  if (!hit) throw new UserError('No active host found');
  process.stdout.write(`${hit.Name}\n`);
}
