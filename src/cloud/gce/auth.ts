/**
 * Which credentials the Compute API gets, in this order:
 * - `instance`: the VM's own service account, through the metadata server (the in-cluster load
 *   balancer controller on a GCE VM; `GCE_METADATA_HOST` points the library at another server, e.g.
 *   an emulator's). The VM needs the compute scope (or cloud-platform).
 * - `key`: a service-account key file (`GOOGLE_APPLICATION_CREDENTIALS`, or the controller's swarm
 *   secret): a JWT signed with the key is exchanged for an access token at the key's own `token_uri`.
 * - otherwise Application Default Credentials for the real API, and none for a plain-http endpoint
 *   (an emulator that does not check credentials).
 * Nothing here logs a token or a key.
 */
import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as Gal from 'google-auth-library';
import { UserError, oneLine } from '../../errors.js';
import { apiAnswerMs } from '../../util/deadlines.js';

export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
/** Scopes a VM's service account needs for the load balancer (either one). */
export const LB_SCOPES = [COMPUTE_SCOPE, 'https://www.googleapis.com/auth/cloud-platform'];

export type GceCredentials =
  | { kind: 'instance' }
  /** `fromEnv`: named by GOOGLE_APPLICATION_CREDENTIALS, which may also hold a user's own credentials. */
  | { kind: 'key'; file: string; fromEnv?: boolean }
  | { kind: 'default' };

let chosen: GceCredentials | undefined;

/** Use these credentials for every connection this process makes from now on (the controller; undefined: the default order). */
export function useGceCredentials(c: GceCredentials | undefined): void {
  chosen = c;
}

/** The credentials a connection uses: the chosen ones, else a key file named by the environment. */
export function gceCredentials(): GceCredentials {
  if (chosen) return chosen;
  const file = process.env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
  return file ? { kind: 'key', file, fromEnv: true } : { kind: 'default' };
}

/** The fields of a service-account key swarmup reads. */
export interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
  project_id?: string;
}

/** Parse a key file's text; errors name the file, never its content. */
export function parseServiceAccountKey(text: string, where: string): ServiceAccountKey {
  let k: Partial<ServiceAccountKey> & { type?: string };
  try {
    k = JSON.parse(text) as typeof k;
  } catch {
    throw new UserError(`${where} is not a JSON service-account key`);
  }
  if (k.type !== 'service_account')
    throw new UserError(`${where} is not a service-account key (type "${String(k.type)}")`);
  for (const f of ['client_email', 'private_key', 'token_uri'] as const) {
    if (typeof k[f] !== 'string' || !k[f]) throw new UserError(`${where} has no ${f}`);
  }
  return k as ServiceAccountKey;
}

export async function readServiceAccountKey(file: string): Promise<ServiceAccountKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(
      `cannot read the service-account key ${file}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`,
    );
  }
  return parseServiceAccountKey(text, file);
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A JWT bearer assertion (RFC 7523) for the key's token endpoint, valid for an hour. */
export function signedAssertion(key: ServiceAccountKey, scope: string, nowS = Math.floor(Date.now() / 1000)) {
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, scope, aud: key.token_uri, iat: nowS, exp: nowS + 3600 };
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(unsigned).sign(key.private_key);
  return `${unsigned}.${b64url(sig)}`;
}

/** Exchange the key for an access token at its token_uri. */
export async function exchangeKey(
  key: ServiceAccountKey,
  scope = COMPUTE_SCOPE,
): Promise<{ access_token: string; expiry_date: number }> {
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: signedAssertion(key, scope),
  });
  let res: Response;
  try {
    res = await fetch(key.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(apiAnswerMs()),
    });
  } catch (err) {
    throw new UserError(`cannot reach the token endpoint ${key.token_uri}: ${oneLine(err)}`);
  }
  const text = await res.text();
  let data: { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    data = {};
  }
  if (!res.ok || !data.access_token) {
    const why = data.error
      ? `${data.error}${data.error_description ? `: ${data.error_description}` : ''}`
      : `HTTP ${res.status}`;
    throw new UserError(
      `the service-account key of ${key.client_email} was refused at ${key.token_uri} (${why})`,
    );
  }
  return { access_token: data.access_token, expiry_date: Date.now() + (data.expires_in ?? 3600) * 1000 };
}

type AuthLike = { request: (o: Record<string, unknown>) => Promise<{ data: unknown }> };

/** The auth client for a connection to `protocol` (http: an emulator). */
export async function gceAuthClient(gal: typeof Gal, protocol: 'http' | 'https'): Promise<AuthLike> {
  const c = gceCredentials();
  if (c.kind === 'instance') return new gal.Compute() as unknown as AuthLike;
  const isKey = async (file: string) =>
    /"type"\s*:\s*"service_account"/.test(await readFile(file, 'utf8').catch(() => ''));
  // GOOGLE_APPLICATION_CREDENTIALS may name a user's gcloud credentials: those go to the library.
  if (c.kind === 'key' && (!c.fromEnv || (await isKey(c.file)))) {
    const key = await readServiceAccountKey(c.file);
    const client = new gal.OAuth2Client();
    client.refreshHandler = () => exchangeKey(key);
    // The first token now: a refused key fails the connection with one line, not the first call.
    client.setCredentials(await exchangeKey(key));
    return client as unknown as AuthLike;
  }
  if (protocol === 'http') return new gal.PassThroughClient() as unknown as AuthLike;
  try {
    const ga = new gal.GoogleAuth({ scopes: [COMPUTE_SCOPE] });
    return (await ga.getClient()) as unknown as AuthLike;
  } catch (err) {
    throw new UserError(
      `no Google credentials: ${(err as Error).message.split('\n')[0]} (run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS)`,
    );
  }
}
