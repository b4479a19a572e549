// The data plane of a started SLB listener: accept on the load balancer's loopback address, health-check
// the backends (TCP connect or HTTP GET; UDP: a probe datagram), forward to the healthy ones round-robin.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  serverId: string;
  /** Undefined while the instance has no address or is not Running: every health check fails. */
  ip?: string;
  port: number;
  weight: number;
}

export interface HealthConfig {
  enabled: boolean;
  type: 'tcp' | 'http';
  /** Port checked; the backend port when undefined. */
  port?: number;
  uri: string;
  domain: string;
  /** Accepted status classes: http_2xx, http_3xx, http_4xx, http_5xx. */
  httpCodes: string[];
  /** UDP listeners: the probe's payload (HealthCheckReq) and the answer a healthy backend sends (HealthCheckExp). */
  udpRequest?: string;
  udpExpect?: string;
  healthy: number;
  unhealthy: number;
  timeoutMs: number;
  intervalMs: number;
}

export type HealthStatus = 'normal' | 'abnormal' | 'unavailable';

interface HealthState {
  status: HealthStatus;
  ok: number;
  bad: number;
  busy: boolean;
}

function tcpCheck(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

function httpCheck(ip: string, port: number, cfg: HealthConfig): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: ip,
        port,
        path: cfg.uri,
        method: 'GET',
        timeout: cfg.timeoutMs,
        headers: { Host: cfg.domain || ip },
      },
      (res) => {
        res.resume();
        const cls = `http_${String(res.statusCode ?? 0)[0]}xx`;
        resolve(cfg.httpCodes.includes(cls));
      },
    );
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * The UDP check of a CLB UDP listener: one datagram (HealthCheckReq, else empty) from a connected
 * socket. With HealthCheckExp the backend is healthy only if it answers exactly that within the timeout.
 * Without it, an ICMP error within the timeout (port unreachable: nothing listens; host unreachable)
 * fails the check, and silence passes it, as on the real SLB. Linux rate-limits ICMP errors to other
 * hosts (not on loopback), so a closed port may sometimes look healthy there too: HealthCheckExp is the
 * reliable form.
 */
function udpCheck(ip: string, port: number, cfg: HealthConfig): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(cfg.udpExpect === undefined), cfg.timeoutMs);
    s.on('error', () => done(false));
    s.on('message', (msg) => {
      if (cfg.udpExpect !== undefined) done(msg.toString().replace(/\r?\n$/, '') === cfg.udpExpect);
    });
    s.connect(port, ip, () => s.send(Buffer.from(cfg.udpRequest ?? ''), (err) => err && done(false)));
  });
}

/** Health checking shared by the TCP and UDP forwarders. */
class HealthChecker {
  private states = new Map<string, HealthState>();
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private backends: () => Backend[],
    private config: () => HealthConfig,
    private probe: (ip: string, port: number, cfg: HealthConfig) => Promise<boolean>,
  ) {}

  start(): void {
    this.running = true;
    this.states.clear();
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.states.clear();
  }

  /** Forget state (health-check settings changed). */
  reset(): void {
    this.states.clear();
  }

  private tick(): void {
    if (!this.running) return;
    const cfg = this.config();
    const current = this.backends();
    const ids = new Set(current.map((b) => b.serverId));
    for (const id of this.states.keys()) if (!ids.has(id)) this.states.delete(id);
    if (cfg.enabled) for (const b of current) this.check(b, cfg);
    this.timer = setTimeout(() => this.tick(), Math.max(10, cfg.intervalMs));
  }

  private check(b: Backend, cfg: HealthConfig): void {
    let st = this.states.get(b.serverId);
    if (!st) {
      st = { status: 'unavailable', ok: 0, bad: 0, busy: false };
      this.states.set(b.serverId, st);
    }
    if (st.busy) return;
    st.busy = true;
    const port = cfg.port ?? b.port;
    const probe = b.ip ? this.probe(b.ip, port, cfg) : Promise.resolve(false);
    const state = st;
    void probe.then((ok) => {
      state.busy = false;
      if (!this.running || this.states.get(b.serverId) !== state) return;
      if (ok) {
        state.ok++;
        state.bad = 0;
        if (state.ok >= cfg.healthy) state.status = 'normal';
      } else {
        state.bad++;
        state.ok = 0;
        if (state.bad >= cfg.unhealthy) state.status = 'abnormal';
      }
    });
  }

  status(serverId: string): HealthStatus {
    if (!this.running || !this.config().enabled) return 'unavailable';
    return this.states.get(serverId)?.status ?? 'unavailable';
  }

  /** Backends that may take traffic: weight > 0 and healthy (or health checks off). */
  eligible(): Backend[] {
    const cfg = this.config();
    return this.backends().filter(
      (b) => b.weight > 0 && b.ip && (!cfg.enabled || this.states.get(b.serverId)?.status === 'normal'),
    );
  }
}

export interface Forwarder {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(serverId: string): HealthStatus;
  resetHealth(): void;
  /** Connections (TCP) or datagrams (UDP) forwarded so far. */
  forwarded(): number;
}

export class TcpForwarder implements Forwarder {
  private server?: Server;
  private sockets = new Set<Socket>();
  private health: HealthChecker;
  private rr = 0;
  private count = 0;

  constructor(
    private address: string,
    private port: number,
    backends: () => Backend[],
    health: () => HealthConfig,
  ) {
    this.health = new HealthChecker(backends, health, (ip, port, cfg) =>
      cfg.type === 'http' ? httpCheck(ip, port, cfg) : tcpCheck(ip, port, cfg.timeoutMs),
    );
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.address, port: this.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.health.start();
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const pool = this.health.eligible();
    if (pool.length === 0) {
      client.resetAndDestroy();
      return;
    }
    const b = pool[this.rr++ % pool.length];
    this.count++;
    const upstream = connect({ host: b.ip, port: b.port });
    this.sockets.add(upstream);
    upstream.once('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async stop(): Promise<void> {
    this.health.stop();
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  status(serverId: string): HealthStatus {
    return this.health.status(serverId);
  }

  resetHealth(): void {
    this.health.reset();
  }

  forwarded(): number {
    return this.count;
  }
}

/**
 * UDP: datagrams from each client address go to one healthy backend (round-robin when the session
 * starts; see udpCheck); replies come back from the listener's socket. Sessions expire after 60 s idle.
 */
export class UdpForwarder implements Forwarder {
  private socket?: UdpSocket;
  private sessions = new Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout }>();
  private health: HealthChecker;
  private rr = 0;
  private count = 0;

  constructor(
    private address: string,
    private port: number,
    backends: () => Backend[],
    health: () => HealthConfig,
  ) {
    this.health = new HealthChecker(backends, health, udpCheck);
  }

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.address, port: this.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket = socket;
    this.health.start();
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      const pool = this.health.eligible();
      if (pool.length === 0) return;
      const b = pool[this.rr++ % pool.length];
      const upstream = createSocket('udp4');
      upstream.on('message', (reply) => {
        this.socket?.send(reply, rinfo.port, rinfo.address);
        this.touch(key);
      });
      upstream.on('error', () => this.endSession(key));
      upstream.connect(b.port, b.ip);
      session = { upstream, timer: setTimeout(() => this.endSession(key), 60_000) };
      this.sessions.set(key, session);
      upstream.once('connect', () => upstream.send(msg));
    } else {
      try {
        session.upstream.send(msg);
      } catch {
        // not connected yet: drop, like a lossy network
      }
    }
    this.count++;
    this.touch(key);
  }

  private touch(key: string): void {
    const s = this.sessions.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => this.endSession(key), 60_000);
  }

  private endSession(key: string): void {
    const s = this.sessions.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    s.upstream.close();
    this.sessions.delete(key);
  }

  async stop(): Promise<void> {
    this.health.stop();
    for (const key of [...this.sessions.keys()]) this.endSession(key);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  status(serverId: string): HealthStatus {
    return this.health.status(serverId);
  }

  resetHealth(): void {
    this.health.reset();
  }

  forwarded(): number {
    return this.count;
  }
}
