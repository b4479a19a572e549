// The GCE metadata server (http://169.254.169.254/computeMetadata/v1/...), as an instance sees it:
// the caller is the instance whose address the request comes from (the lab VM behind it), every
// request needs `Metadata-Flavor: Google` and every answer carries it. An instance with a service
// account gets access tokens for it with the instance's scopes; one without gets 404 there, as on
// GCE. Clients find it through GCE_METADATA_HOST (google-auth-library, gcp-metadata).
import http from 'node:http';
import type { Principal } from './auth.js';

export interface MetadataInstance {
  name: string;
  zone: string;
  id: string;
  serviceAccounts: Array<{ email: string; scopes: string[] }>;
}

export interface MetadataDeps {
  project: string;
  /** The instance whose network address `ip` is. */
  instanceByIp(ip: string): MetadataInstance | undefined;
  issue(p: Principal): { access_token: string; expires_in: number; token_type: string };
  /** Each token handed out (for the emulator's auth log). */
  onToken(p: Principal, instance: string): void;
}

export interface MetadataServer {
  /** `host:port`, the value of GCE_METADATA_HOST. */
  host: string;
  stop(): Promise<void>;
}

const PREFIX = '/computeMetadata/v1/';

/** `default` is the instance's first service account; GCE also answers to its e-mail. */
function account(i: MetadataInstance, which: string) {
  const sa = i.serviceAccounts[0];
  if (!sa) return undefined;
  return which === 'default' || which === sa.email ? sa : undefined;
}

function answer(
  i: MetadataInstance,
  path: string,
  q: URLSearchParams,
  d: MetadataDeps,
): [number, string, string] {
  const text = (s: string): [number, string, string] => [200, 'application/text', s];
  const notFound: [number, string, string] = [404, 'text/html', 'Not Found'];
  switch (path) {
    case 'instance':
    case 'instance/':
      return text('attributes/\nhostname\nid\nname\nservice-accounts/\nzone\n');
    case 'instance/name':
    case 'instance/hostname':
      return text(i.name);
    case 'instance/id':
      return text(i.id);
    case 'instance/zone':
      return text(`projects/${d.project}/zones/${i.zone}`);
    case 'project/project-id':
      return text(d.project);
    case 'instance/service-accounts':
    case 'instance/service-accounts/':
      return text(i.serviceAccounts.length ? `default/\n${i.serviceAccounts[0].email}/\n` : '');
  }
  const m = /^instance\/service-accounts\/([^/]+)\/(email|scopes|token)$/.exec(path);
  const sa = m ? account(i, m[1]) : undefined;
  if (!m || !sa) return notFound;
  if (m[2] === 'email') return text(sa.email);
  if (m[2] === 'scopes') return text(sa.scopes.join('\n') + '\n');
  // A token for fewer scopes may be asked for (?scopes=a,b); never for more than the instance has.
  const asked = (q.get('scopes') ?? '').split(',').filter(Boolean);
  const scopes = asked.length ? asked.filter((s) => sa.scopes.includes(s)) : sa.scopes;
  const p: Principal = { kind: 'instance', email: sa.email, instance: i.name, scopes };
  d.onToken(p, i.name);
  return [200, 'application/json', JSON.stringify(d.issue(p))];
}

export async function startMetadataServer(
  host: string,
  port: number,
  d: MetadataDeps,
): Promise<MetadataServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metadata');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'Metadata-Flavor': 'Google',
        'content-type': type,
        server: 'Metadata Server for VM',
      });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/html', 'Method Not Allowed');
    if (req.headers['metadata-flavor'] !== 'Google')
      return send(403, 'text/html', 'Missing Metadata-Flavor:Google header.');
    if (!url.pathname.startsWith(PREFIX)) return send(404, 'text/html', 'Not Found');
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const inst = d.instanceByIp(ip);
    // Only an instance reaches the real server (it is link-local to each VM).
    if (!inst) return send(404, 'text/html', `Not Found (no instance has the address ${ip})`);
    const [status, type, body] = answer(inst, url.pathname.slice(PREFIX.length), url.searchParams, d);
    send(status, type, body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    host: `${host}:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
