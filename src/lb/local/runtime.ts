import { isIP } from 'node:net';

/**
 * What the haproxy inside the load-balancer container is really doing: its master, its workers and
 * the TCP ports each worker listens on. Read from /proc inside the container (it shares the host's
 * network namespace, so /proc/net/tcp lists the host's sockets; the workers' socket inodes pick out
 * haproxy's own listeners).
 */

export interface WorkerInfo {
  pid: number;
  /** Start time in clock ticks since boot: the newest worker is the current one. */
  start: number;
  /** TCP ports the worker listens on, sorted. */
  ports: number[];
}

export interface RuntimeState {
  masterPid?: number;
  /** Oldest first; after a reload the old workers finish their connections without listening. */
  workers: WorkerInfo[];
  /** TCP sockets other processes on the host listen on. */
  others: { address: string; port: number }[];
}

/** POSIX sh: `P <stat line>` per haproxy process, `S <pid> <inode>` per socket, then `N` and the tables. */
export const PROBE_SCRIPT = [
  'for p in /proc/[0-9]*; do',
  '  { read -r s < "$p/stat"; } 2>/dev/null || continue',
  '  case "$s" in *"(haproxy) "*) ;; *) continue ;; esac',
  '  echo "P $s"',
  '  ls -l "$p/fd" 2>/dev/null | sed -n "s/.*socket:\\[\\([0-9]*\\)\\].*/S ${p#/proc/} \\1/p"',
  'done',
  'echo N',
  'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null',
  'true',
].join('\n');

/** Parse the probe's output. */
export function parseProbe(out: string): RuntimeState {
  const procs = new Map<number, { ppid: number; start: number }>();
  const sockets = new Map<number, Set<string>>();
  const listening = new Map<string, { address: string; port: number }>(); // by inode
  let tables = false;
  for (const line of out.split('\n')) {
    if (!tables) {
      if (line === 'N') tables = true;
      else if (line.startsWith('P ')) {
        const pid = parseInt(line.slice(2), 10);
        const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
        procs.set(pid, { ppid: parseInt(rest[1], 10), start: parseInt(rest[19], 10) });
      } else if (line.startsWith('S ')) {
        const [, pid, inode] = line.split(' ');
        const set = sockets.get(Number(pid)) ?? new Set<string>();
        set.add(inode);
        sockets.set(Number(pid), set);
      }
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0]) || f[3] !== '0A') continue; // 0A = LISTEN
    const [hex, port] = f[1].split(':');
    listening.set(f[9], { address: decodeAddress(hex), port: parseInt(port, 16) });
  }
  const masterPid = [...procs].find(([, p]) => !procs.has(p.ppid))?.[0];
  const workers = [...procs]
    .filter(([, p]) => masterPid !== undefined && p.ppid === masterPid)
    .map(([pid, p]) => ({
      pid,
      start: p.start,
      ports: [
        ...new Set(
          [...(sockets.get(pid) ?? [])]
            .map((i) => listening.get(i)?.port)
            .filter((x): x is number => x !== undefined),
        ),
      ].sort((a, b) => a - b),
    }))
    .sort((a, b) => a.start - b.start || a.pid - b.pid);
  const ours = new Set([...sockets.values()].flatMap((set) => [...set]));
  const others = [...listening].filter(([inode]) => !ours.has(inode)).map(([, l]) => l);
  return { masterPid, workers, others };
}

/** /proc/net/tcp{,6} address: IPv4 as one little-endian word, IPv6 as four. */
export function decodeAddress(hex: string): string {
  const bytes = (word: string) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16));
  if (hex.length === 8) return bytes(hex).join('.');
  const b = (hex.match(/.{8}/g) ?? []).flatMap(bytes);
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
  return canonicalIP(groups.join(':'));
}

/** One spelling per address (IPv6 compressed and lower-case). */
export function canonicalIP(addr: string): string {
  return isIP(addr) === 6 ? new URL(`http://[${addr}]/`).hostname.slice(1, -1) : addr;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * Ports that another process on the host already listens on where haproxy would bind `bind`:
 * the same address, or a wildcard on either side. haproxy would fail to (re)load on them.
 */
export function portsTaken(r: RuntimeState, bind: string, ports: readonly number[]): string[] {
  const want = canonicalIP(bind);
  return ports.flatMap((port) =>
    r.others
      .filter(
        (o) => o.port === port && (o.address === want || WILDCARDS.has(o.address) || WILDCARDS.has(want)),
      )
      .map((o) => `${o.address.includes(':') ? `[${o.address}]` : o.address}:${port}`),
  );
}

/** The worker that took over last. */
export const currentWorker = (r: RuntimeState): WorkerInfo | undefined => r.workers[r.workers.length - 1];

/** TCP ports haproxy listens on now (any worker). */
export const listeningPorts = (r: RuntimeState): Set<number> => new Set(r.workers.flatMap((w) => w.ports));
