/**
 * What a swarm publishes and what a load balancer should forward, independent of where the balancer
 * runs (a local haproxy container now; GCE and Aliyun load balancers later).
 */

export type Protocol = 'tcp' | 'udp' | 'sctp';
/** `ingress`: every node answers on the port (routing mesh); `host`: only nodes running a task. */
export type PublishMode = 'ingress' | 'host';

/** One published port of a service. */
export interface PublishedPort {
  protocol: Protocol;
  publishedPort: number;
  targetPort: number;
  mode: PublishMode;
}

export interface SwarmService {
  id: string;
  name: string;
  ports: PublishedPort[];
}

export interface SwarmNodeInfo {
  id: string;
  hostname: string;
  /** The cluster machine this node is, when known (hosts may share a hostname). */
  machine?: string;
  role: 'manager' | 'worker';
  /** Status.State is `ready`. */
  ready: boolean;
  /** Spec.Availability is `active` (not `pause` or `drain`). */
  active: boolean;
  /** Where the load balancer reaches the node: its swarm address (the advertise address). */
  address: string;
}

/** A task whose desired and observed state are both `running`. */
export interface RunningTask {
  serviceId: string;
  nodeId: string;
}

/** What the swarm looks like right now, as far as load balancing is concerned. */
export interface SwarmSnapshot {
  services: SwarmService[];
  nodes: SwarmNodeInfo[];
  tasks: RunningTask[];
  /** Things the reader could not use (e.g. a node without an address), for the user to see. */
  warnings: string[];
  /** Some task the swarm wants running is not running yet: host-mode backends are about to change. */
  settling?: boolean;
}

export interface Backend {
  /** Node hostname (unique within the listener). */
  node: string;
  address: string;
}

/** One port the load balancer listens on and the nodes it forwards to. */
export interface Listener {
  protocol: Protocol;
  /** Port the load balancer listens on (= the swarm's published port). */
  port: number;
  /** Port on each node (for both publish modes the node answers on the published port). */
  backendPort: number;
  mode: PublishMode;
  /** Names of the services publishing the port (sorted). */
  services: string[];
  /** Sorted by node. */
  backends: Backend[];
}
