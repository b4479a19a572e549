import { UserError } from '../errors.js';
import type { Backend, Listener, PublishedPort, RunningTask, SwarmNodeInfo, SwarmService } from './model.js';

/** Identity of a listener: a load balancer has at most one per protocol and port. */
export const listenerKey = (l: { protocol: string; port: number }): string => `${l.protocol}/${l.port}`;

/** Listeners sort by port, then protocol: tcp/53 < udp/53 < tcp/80. */
export function compareListeners(
  a: { protocol: string; port: number },
  b: { protocol: string; port: number },
) {
  return a.port - b.port || a.protocol.localeCompare(b.protocol);
}

const compareBackends = (a: Backend, b: Backend) =>
  a.node.localeCompare(b.node, undefined, { numeric: true }) || a.address.localeCompare(b.address);

/** Same listener in every field that matters to a load balancer (backends compared as sets). */
export function sameListener(a: Listener, b: Listener): boolean {
  const key = (bs: Backend[]) => [...bs].sort(compareBackends).map((x) => `${x.node}=${x.address}`);
  return (
    a.protocol === b.protocol &&
    a.port === b.port &&
    a.backendPort === b.backendPort &&
    a.mode === b.mode &&
    JSON.stringify([...a.services].sort()) === JSON.stringify([...b.services].sort()) &&
    JSON.stringify(key(a.backends)) === JSON.stringify(key(b.backends))
  );
}

/**
 * Backend name per node: the machine it is, else its hostname; made unique with the node ID when two
 * nodes share one (hosts are often all called `ubuntu`).
 */
function backendNames(nodes: SwarmNodeInfo[]): Map<string, string> {
  const base = (n: SwarmNodeInfo) => n.machine ?? n.hostname;
  const count = new Map<string, number>();
  for (const n of nodes) count.set(base(n), (count.get(base(n)) ?? 0) + 1);
  return new Map(
    nodes.map((n) => [n.id, count.get(base(n))! > 1 ? `${base(n)}-${n.id.slice(0, 12)}` : base(n)]),
  );
}

/**
 * The listeners a load balancer in front of the swarm should have: one per published protocol/port.
 * - ingress ports go to every node that is Ready and Active (drained or paused nodes leave);
 * - host ports go only to Ready nodes that run a task of the service right now;
 * - a port published by two services is an error naming both (swarm allows it for host mode).
 * Host-mode ports without a fixed published port (0: a random port per task) are not balanced.
 */
export function desiredListeners(
  services: SwarmService[],
  nodes: SwarmNodeInfo[],
  tasks: RunningTask[],
): Listener[] {
  const names = backendNames(nodes);
  const backend = (n: SwarmNodeInfo): Backend => ({ node: names.get(n.id)!, address: n.address });
  const ingressBackends = nodes.filter((n) => n.ready && n.active).map(backend);
  const nodesRunning = new Map<string, Set<string>>();
  for (const t of tasks) {
    const set = nodesRunning.get(t.serviceId) ?? new Set<string>();
    set.add(t.nodeId);
    nodesRunning.set(t.serviceId, set);
  }

  const claims = new Map<string, { service: SwarmService; port: PublishedPort }>();
  const out: Listener[] = [];
  for (const svc of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const p of svc.ports) {
      if (!p.publishedPort) continue;
      const key = listenerKey({ protocol: p.protocol, port: p.publishedPort });
      const prior = claims.get(key);
      if (prior) {
        if (prior.service.id !== svc.id) {
          throw new UserError(
            `published port ${key} is claimed by two services: "${prior.service.name}" and "${svc.name}"`,
          );
        }
        if (prior.port.mode !== p.mode || prior.port.targetPort !== p.targetPort) {
          throw new UserError(
            `service "${svc.name}" publishes ${key} twice (${prior.port.mode} → ${prior.port.targetPort}, ${p.mode} → ${p.targetPort})`,
          );
        }
        continue;
      }
      claims.set(key, { service: svc, port: p });
      const running = nodesRunning.get(svc.id) ?? new Set<string>();
      const backends =
        p.mode === 'ingress'
          ? ingressBackends
          : nodes.filter((n) => n.ready && running.has(n.id)).map(backend);
      out.push({
        protocol: p.protocol,
        port: p.publishedPort,
        backendPort: p.publishedPort,
        mode: p.mode,
        services: [svc.name],
        backends: [...backends].sort(compareBackends),
      });
    }
  }
  return out.sort(compareListeners);
}
