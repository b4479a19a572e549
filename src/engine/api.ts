import { request } from 'node:https';
import { UserError } from '../errors.js';
import { retryUntil } from '../util/async.js';

/** A Docker Engine API endpoint secured with mutual TLS. */
export interface EngineEndpoint {
  host: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
}

export interface EngineResponse {
  status: number;
  body: string;
}

export function engineRequest(
  ep: EngineEndpoint,
  method: string,
  path: string,
  timeoutMs = 10_000,
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: ep.host,
        port: ep.port,
        method,
        path,
        ca: ep.ca,
        cert: ep.cert,
        key: ep.key,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${ep.host}:${ep.port} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export async function engineVersion(ep: EngineEndpoint, timeoutMs = 10_000): Promise<string> {
  const r = await engineRequest(ep, 'GET', '/version', timeoutMs);
  if (r.status !== 200) throw new Error(`GET /version answered ${r.status}`);
  return (JSON.parse(r.body) as { Version: string }).Version;
}

/** Wait until the engine answers /_ping over TLS with our client certificate. */
export async function waitForEngine(ep: EngineEndpoint, deadlineMs = 90_000): Promise<void> {
  try {
    await retryUntil(
      async () => {
        const r = await engineRequest(ep, 'GET', '/_ping', 5_000);
        if (r.status !== 200) throw new Error(`/_ping answered ${r.status}`);
      },
      { deadlineMs, initialMs: 200, maxMs: 1_000 },
    );
  } catch (err) {
    throw new UserError(
      `the Docker Engine on ${ep.host}:${ep.port} did not answer over TLS: ${(err as Error).message}`,
    );
  }
}
