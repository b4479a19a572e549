// Forwarding rules carry real TCP traffic: one listener per port of the rule's range on the rule's
// loopback address; each connection goes to the next healthy instance of the target pool
// (round-robin), same destination port, like a target-pool network load balancer. No healthy
// instance: the connection is closed at once.
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Listener {
  ip: string;
  ports: [number, number];
  servers: Server[];
  sockets: Set<Socket>;
  next: number;
}

export class DataPlane {
  private rules = new Map<string, Listener>();

  /** Listen on ip:first..last; `backends()` gives the healthy instance IPs at connection time. */
  async open(key: string, ip: string, ports: [number, number], backends: () => string[]): Promise<void> {
    await this.close(key);
    const l: Listener = { ip, ports, servers: [], sockets: new Set(), next: 0 };
    this.rules.set(key, l);
    try {
      for (let port = ports[0]; port <= ports[1]; port++) {
        const server = createServer({ allowHalfOpen: true }, (client) =>
          this.forward(l, client, port, backends),
        );
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: ip, port, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        l.servers.push(server);
      }
    } catch (err) {
      await this.close(key);
      throw err;
    }
  }

  private forward(l: Listener, client: Socket, port: number, backends: () => string[]): void {
    const ips = backends();
    if (!ips.length) {
      client.destroy();
      return;
    }
    const target = ips[l.next++ % ips.length];
    const upstream = connect({ host: target, port, allowHalfOpen: true });
    l.sockets.add(client);
    l.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      l.sockets.delete(client);
      l.sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(key: string): Promise<void> {
    const l = this.rules.get(key);
    if (!l) return;
    this.rules.delete(key);
    for (const s of l.sockets) s.destroy();
    await Promise.all(l.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.rules.keys()].map((k) => this.close(k)));
  }

  snapshot(): Record<string, { ip: string; ports: string; listening: number }> {
    return Object.fromEntries(
      [...this.rules].map(([k, l]) => [
        k,
        { ip: l.ip, ports: `${l.ports[0]}-${l.ports[1]}`, listening: l.servers.length },
      ]),
    );
  }
}
