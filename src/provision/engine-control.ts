// Start and stop a provisioned machine's supervised dockerd (hosts without systemd), for drivers
// whose machines reboot into a keepalive (docker containers, VirtualBox guests).
import type { CommandTransport } from '../driver/contract.js';
import { oneLine } from '../errors.js';
import { REMOTE } from './engine-config.js';
import { debug } from '../util/log.js';

/** Where the supervisor's pid is kept (templates/engine-start.sh writes it). */
const SUPERVISOR_PID = '/run/swarmup-dockerd-supervise.pid';

/**
 * Shell that sets `sup` to the supervisor's pid when it runs. A pid file that survived a restart may
 * name another process, and in a container that restarted pids are handed out from 1 again, in the
 * same order as before: the old supervisor's pid can be this very check's own helper processes. So the
 * pid is the supervisor's only when its whole command line is the supervisor's, `[sh] SUP` and nothing
 * else (a shell whose script mentions the path, or a `grep -x SUP` that happens to hold the pid, is
 * not it), compared in this shell after the read has finished. Shared by the relaunch and stop scripts
 * here and by templates/engine-start.sh.
 */
export function findSupervisor(pidFile = SUPERVISOR_PID, supervise = REMOTE.supervise): string {
  return `SUP=${supervise}; PIDF=${pidFile}
sup=$(cat "$PIDF" 2>/dev/null || true)
if [ -n "$sup" ]; then
  cmd=$(tr '\\0' '\\n' <"/proc/$sup/cmdline" 2>/dev/null || true)
  first=\${cmd%%"
"*}
  rest=\${cmd#*"
"}
  if [ "$cmd" != "$SUP" ]; then
    case "$first" in *sh) [ "$rest" = "$SUP" ] || sup= ;; *) sup= ;; esac
  fi
fi`;
}
const FIND_SUPERVISOR = findSupervisor();

/** A shell function `stop_dockerd`: stop every dockerd and wait (at most 60 s) until none is left. */
export const STOP_DOCKERD = `stop_dockerd() {
  pids=$(pidof dockerd || true)
  [ -z "$pids" ] && return 0
  kill $pids
  i=0
  while [ -n "$(pidof dockerd || true)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}`;

/**
 * After the container (re)boots only the keepalive runs. If the machine was provisioned, start
 * dockerd again under its supervisor and wait until it listens, so `start && docker ps` works.
 */
export async function relaunchEngine(
  t: CommandTransport,
  port: number,
  log: (m: string) => void,
): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const script = `${FIND_SUPERVISOR}
[ -x "$SUP" ] || exit 0
if [ -z "$sup" ]; then
  # Left by the engine that ran before the restart; dockerd refuses to start while they name a live pid.
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  setsid "$SUP" >/dev/null 2>&1 </dev/null &
  echo $! >"$PIDF"
fi
i=0
while [ $i -lt 600 ]; do
  grep -q ' [0-9A-F]*:${hex} [0-9A-F]*:0000 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null && exit 0
  sleep 0.1
  i=$((i + 1))
done
echo "dockerd is not listening on port ${port} after 60 s; see /var/log/swarmup-dockerd.log" >&2
exit 1`;
  try {
    const r = await t.exec(script, { timeoutMs: 90_000 });
    if (r.code !== 0) log(`Warning: ${oneLine(r.stderr || r.stdout)}`);
  } finally {
    await t.close();
  }
}

/** Stop the supervisor, then dockerd, so that it shuts its containers down cleanly. Best effort. */
export async function stopEngine(t: CommandTransport): Promise<void> {
  const script = `${FIND_SUPERVISOR}
[ -n "$sup" ] && kill "$sup" && rm -f "$PIDF"
pids=$(pidof dockerd 2>/dev/null) || exit 0
kill $pids
i=0
while [ -n "$(pidof dockerd 2>/dev/null)" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
exit 0`;
  try {
    await t.exec(script, { timeoutMs: 20_000 });
  } catch (err) {
    debug(`stopping dockerd before the container: ${oneLine(err)}`);
  } finally {
    await t.close();
  }
}
