// The ECS instance metadata service (http://100.100.100.200/latest/...), as an instance sees it: the
// caller is the running instance whose private address the request comes from (the lab VM behind
// it). An instance with a RAM role gets STS credentials for it at
// /latest/meta-data/ram/security-credentials/<role> (the role's name at .../security-credentials/);
// the hardened mode's token (PUT /latest/api/token) is honoured when sent. The API side (index.ts)
// accepts an STS key only with its SecurityToken, until it expires.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { slbTime } from './ids.js';

export interface StsCredential {
  secret: string;
  token: string;
  expiresAt: number;
  role: string;
  instance: string;
}

/** STS credentials handed out for instances' RAM roles. */
export class StsIssuer {
  private readonly creds = new Map<string, StsCredential>();

  constructor(private readonly ttlS: number) {}

  issue(role: string, instance: string) {
    const id = `STS.${randomBytes(15)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')}`;
    const now = Date.now();
    const c: StsCredential = {
      secret: randomBytes(30).toString('base64url').slice(0, 40),
      token: `CAIS${randomBytes(96).toString('base64')}`,
      expiresAt: now + this.ttlS * 1000,
      role,
      instance,
    };
    this.creds.set(id, c);
    return {
      AccessKeyId: id,
      AccessKeySecret: c.secret,
      SecurityToken: c.token,
      Expiration: slbTime(c.expiresAt),
      LastUpdated: slbTime(now),
      Code: 'Success',
    };
  }

  get(id: string): StsCredential | undefined {
    return this.creds.get(id);
  }
}

export interface MetadataInstance {
  id: string;
  ramRole?: string;
}

export interface EcsMetadata {
  /** `http://host:port`: SWARMUP_ALIYUN_METADATA_ENDPOINT for the instances. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startEcsMetadata(
  host: string,
  port: number,
  d: {
    instanceByIp(ip: string): MetadataInstance | undefined;
    sts: StsIssuer;
    onIssue(role: string, instance: string): void;
  },
): Promise<EcsMetadata> {
  const tokens = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metadata');
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const inst = d.instanceByIp(ip);
    if (!inst) return send(404, `no instance has the address ${ip}`);
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT') return send(405, 'Method Not Allowed');
      const ttl = Number(req.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, 'Bad Request');
      const t = randomBytes(32).toString('base64url');
      tokens.set(t, Date.now() + ttl * 1000);
      return send(200, t);
    }
    if (req.method !== 'GET') return send(405, 'Method Not Allowed');
    const given = req.headers['x-aliyun-ecs-metadata-token'];
    if (typeof given === 'string' && !((tokens.get(given) ?? 0) > Date.now()))
      return send(401, 'Unauthorized');
    const base = '/latest/meta-data/ram/security-credentials/';
    if (url.pathname === '/latest/meta-data/instance-id') return send(200, inst.id);
    if (url.pathname === base) return inst.ramRole ? send(200, inst.ramRole) : send(404, 'Not Found');
    if (url.pathname.startsWith(base)) {
      const role = decodeURIComponent(url.pathname.slice(base.length));
      if (!inst.ramRole || role !== inst.ramRole) return send(404, 'Not Found');
      d.onIssue(role, inst.id);
      return send(200, JSON.stringify(d.sts.issue(role, inst.id)), 'application/json');
    }
    return send(404, 'Not Found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    endpoint: `http://${host}:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
