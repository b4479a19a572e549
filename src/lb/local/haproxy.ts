import { isIP } from 'node:net';
import type { Listener } from '../model.js';

/** Inside the load-balancer container. */
export const CONFIG_DIR = '/etc/swarmup-lb';
export const CONFIG_FILE = 'haproxy.cfg';
export const CONFIG_PATH = `${CONFIG_DIR}/${CONFIG_FILE}`;

/** What the local load balancer is configured to do; recorded as one JSON comment line in its config. */
export interface LocalState {
  version: 1;
  cluster: string;
  /** Address every listener binds on the host. */
  bind: string;
  /** TCP listeners only (haproxy proxies TCP). */
  listeners: Listener[];
}

const STATE_PREFIX = '# swarmup-lb-state: ';

/** haproxy names: letters, digits and `-_.:`. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.:-]/g, '_');

const hostPort = (addr: string, port: number) => (isIP(addr) === 6 ? `[${addr}]:${port}` : `${addr}:${port}`);

/**
 * haproxy.cfg for the state: TCP mode, one frontend per listener bound on `<bind>:<port>`, one
 * backend per listener with a TCP health check on every node. Logs (health changes, failed
 * connections, reloads) go to the container's stdout.
 */
export function renderConfig(state: LocalState): string {
  const lines = [
    `# Written by "swarmup lb sync --cluster ${state.cluster}". Edits are lost at the next sync.`,
    `${STATE_PREFIX}${JSON.stringify(state)}`,
    'global',
    '  log stdout format raw local0 info',
    '  # old workers finish their connections for at most this long after a reload',
    '  hard-stop-after 5m',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option dontlognull',
    '  option dontlog-normal',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  # a connection refused by one node is retried on another',
    '  retries 2',
    '  option redispatch',
    '  # TCP connect check every 2 s: down after 3 failures, up again after 2 successes',
    '  default-server inter 2s fall 3 rise 2',
  ];
  for (const l of state.listeners) {
    if (l.protocol !== 'tcp') continue;
    const name = `${l.protocol}-${l.port}`;
    lines.push(
      '',
      `# ${l.protocol}/${l.port}: ${l.services.join(', ')} (${l.mode} mode)`,
      `frontend ${name}`,
      `  bind ${hostPort(state.bind, l.port)}`,
      `  default_backend ${name}`,
      '',
      `backend ${name}`,
      '  balance roundrobin',
      ...l.backends.map((b) => `  server ${safeName(b.node)} ${hostPort(b.address, l.backendPort)} check`),
    );
  }
  return lines.join('\n') + '\n';
}

/** The state recorded in a config written by `renderConfig`; undefined when absent or unreadable. */
export function parseState(config: string): LocalState | undefined {
  const line = config.split('\n').find((l) => l.startsWith(STATE_PREFIX));
  if (!line) return undefined;
  try {
    const s = JSON.parse(line.slice(STATE_PREFIX.length)) as LocalState;
    if (s.version !== 1 || typeof s.bind !== 'string' || !Array.isArray(s.listeners)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/** `haproxy -c` answers 2 for a valid config without listeners, which master-worker mode runs fine. */
export function configCheckPassed(exitCode: number, output: string): boolean {
  return exitCode === 0 || (exitCode === 2 && /no listener/i.test(output));
}
