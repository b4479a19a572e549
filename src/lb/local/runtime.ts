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
  const listening = new Map<string, number>(); // inode → port
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
    listening.set(f[9], parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16));
  }
  const masterPid = [...procs].find(([, p]) => !procs.has(p.ppid))?.[0];
  const workers = [...procs]
    .filter(([, p]) => masterPid !== undefined && p.ppid === masterPid)
    .map(([pid, p]) => ({
      pid,
      start: p.start,
      ports: [
        ...new Set(
          [...(sockets.get(pid) ?? [])].map((i) => listening.get(i)).filter((x): x is number => x !== undefined),
        ),
      ].sort((a, b) => a - b),
    }))
    .sort((a, b) => a.start - b.start || a.pid - b.pid);
  return { masterPid, workers };
}

/** The worker that took over last. */
export const currentWorker = (r: RuntimeState): WorkerInfo | undefined => r.workers[r.workers.length - 1];

/** TCP ports haproxy listens on now (any worker). */
export const listeningPorts = (r: RuntimeState): Set<number> => new Set(r.workers.flatMap((w) => w.ports));
