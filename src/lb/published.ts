import { managerClient, type ManagerEngine } from './engine.js';
import type {
  Protocol,
  PublishedPort,
  PublishMode,
  RunningTask,
  SwarmNodeInfo,
  SwarmService,
  SwarmSnapshot,
} from './model.js';

/* Just the fields we read from the Engine API's /services, /nodes and /tasks. */
interface RawPort {
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}
interface RawService {
  ID: string;
  Spec?: { Name?: string; EndpointSpec?: { Ports?: RawPort[] } };
  Endpoint?: { Ports?: RawPort[] };
}
interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> | null };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string };
}
interface RawTask {
  ServiceID?: string;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string };
}

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

function parsePort(p: RawPort): PublishedPort | undefined {
  const protocol = (p.Protocol || 'tcp').toLowerCase();
  if (!PROTOCOLS.includes(protocol) || !p.PublishedPort) return undefined;
  return {
    protocol: protocol as Protocol,
    publishedPort: p.PublishedPort,
    targetPort: p.TargetPort ?? 0,
    mode: (p.PublishMode === 'host' ? 'host' : 'ingress') as PublishMode,
  };
}

/**
 * Services and their published ports. The live `Endpoint.Ports` win (they hold the ports swarm
 * assigned to ingress ports published without a number); the spec is the fallback.
 */
export function parseServices(raw: readonly RawService[]): SwarmService[] {
  return raw.map((s) => ({
    id: s.ID,
    name: s.Spec?.Name ?? s.ID,
    ports: (s.Endpoint?.Ports ?? s.Spec?.EndpointSpec?.Ports ?? [])
      .map(parsePort)
      .filter((p): p is PublishedPort => p !== undefined),
  }));
}

const usable = (addr: string | undefined): addr is string => !!addr && addr !== '0.0.0.0' && addr !== '::';

/** `10.0.0.5:2377` or `[fd00::5]:2377` → the host part. */
function hostOf(hostPort: string | undefined): string | undefined {
  if (!hostPort) return undefined;
  const m = /^\[(.*)\]:\d+$/.exec(hostPort) ?? /^(.*):\d+$/.exec(hostPort);
  return m ? m[1] : hostPort;
}

/**
 * Nodes with the address a load balancer reaches them at: the swarm address (`Status.Addr`, the
 * advertise address), else the manager address, else `fallback(hostname)` (e.g. the machine's
 * internal IP from the store). A node without any address is kept out of every backend set.
 */
export function parseNodes(
  raw: readonly RawNode[],
  fallback: (hostname: string) => string | undefined = () => undefined,
): { nodes: SwarmNodeInfo[]; warnings: string[] } {
  const warnings: string[] = [];
  const nodes = raw.map((n): SwarmNodeInfo => {
    const hostname = n.Description?.Hostname || n.ID;
    const addr = [n.Status?.Addr, hostOf(n.ManagerStatus?.Addr), fallback(hostname)].find(usable);
    const ready = n.Status?.State === 'ready';
    if (!addr && ready) warnings.push(`node ${hostname} has no usable address; it gets no traffic`);
    const machine = n.Spec?.Labels?.['swarmup.machine'];
    return {
      id: n.ID,
      hostname,
      ...(machine ? { machine } : {}),
      role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
      ready: ready && !!addr,
      active: (n.Spec?.Availability ?? 'active') === 'active',
      address: addr ?? '',
    };
  });
  return { nodes, warnings };
}

/** Task states on the way to running: the swarm has not settled while a task is in one. */
const STARTING = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
]);

/** Is a task the swarm wants running still on its way there? */
export function settling(raw: readonly RawTask[]): boolean {
  return raw.some((t) => t.DesiredState === 'running' && STARTING.has(t.Status?.State ?? ''));
}

/** Tasks that are running now (desired and observed state). */
export function parseTasks(raw: readonly RawTask[]): RunningTask[] {
  return raw
    .filter((t) => t.DesiredState === 'running' && t.Status?.State === 'running' && t.ServiceID && t.NodeID)
    .map((t) => ({ serviceId: t.ServiceID!, nodeId: t.NodeID! }));
}

/**
 * Read services, nodes and running tasks from a swarm manager (three calls, in parallel).
 * `resolve` is asked only for nodes whose swarm address is unusable (e.g. `0.0.0.0`), with their
 * hostnames, and answers hostname → address (e.g. the machines' internal IPs from the store).
 */
export async function readSwarm(
  manager: ManagerEngine,
  resolve?: (hostnames: string[]) => Promise<Map<string, string>>,
): Promise<SwarmSnapshot> {
  const docker = managerClient(manager);
  const [services, nodes, tasks] = await Promise.all([
    docker.listServices() as Promise<RawService[]>,
    docker.listNodes() as Promise<RawNode[]>,
    docker.listTasks({ filters: { 'desired-state': ['running'] } }) as Promise<RawTask[]>,
  ]);
  const missing = nodes
    .filter((n) => !usable(n.Status?.Addr) && !usable(hostOf(n.ManagerStatus?.Addr)))
    .map((n) => n.Description?.Hostname || n.ID);
  const known = missing.length && resolve ? await resolve(missing) : new Map<string, string>();
  const parsed = parseNodes(nodes, (h) => known.get(h));
  return {
    services: parseServices(services),
    nodes: parsed.nodes,
    tasks: parseTasks(tasks),
    warnings: parsed.warnings,
    settling: settling(tasks),
  };
}
