// OAuth 2.0 for the emulator when it checks credentials (`auth: 'required'`), as Google does it:
// service-account keys it makes (RSA 2048, the JSON key-file format, token_uri = the emulator's
// /token), the JWT-bearer exchange there (RFC 7523: RS256 assertion signed by the key, iss = the
// account, aud = token_uri, at most an hour long), access tokens for instances from the metadata
// server (metadata.ts), and the API's answers to a missing, unknown, expired or under-scoped token.
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { GceError } from './errors.js';

export const SCOPES = {
  compute: 'https://www.googleapis.com/auth/compute',
  computeRead: 'https://www.googleapis.com/auth/compute.readonly',
  cloudPlatform: 'https://www.googleapis.com/auth/cloud-platform',
};

/** Who a token speaks for: a service-account key, or an instance's service account. */
export interface Principal {
  kind: 'key' | 'instance';
  email: string;
  /** The instance (kind instance). */
  instance?: string;
  scopes: string[];
}

export const principalName = (p: Principal) =>
  p.kind === 'key' ? `key:${p.email}` : `instance:${p.instance} (${p.email})`;

/** A service-account key file, as the IAM API hands it out. */
export interface ServiceAccountKeyJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

/** The API's authentication errors carry `status` and where the credential was expected. */
class AuthError extends GceError {
  constructor(
    status: number,
    message: string,
    reason: string,
    private readonly itemMessage: string,
    private readonly rpcStatus: string,
    private readonly located: boolean,
  ) {
    super(status, message, reason);
  }

  override body() {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [
          {
            message: this.itemMessage,
            domain: 'global',
            reason: this.reason,
            ...(this.located ? { location: 'Authorization', locationType: 'header' } : {}),
          },
        ],
        status: this.rpcStatus,
      },
    };
  }
}

const SEE = 'See https://developers.google.com/identity/sign-in/web/devconsole-project.';

export const loginRequired = () =>
  new AuthError(
    401,
    `Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. ${SEE}`,
    'required',
    'Login Required.',
    'UNAUTHENTICATED',
    true,
  );

export const invalidCredentials = () =>
  new AuthError(
    401,
    `Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. ${SEE}`,
    'authError',
    'Invalid Credentials',
    'UNAUTHENTICATED',
    true,
  );

export const insufficientScopes = () =>
  new AuthError(
    403,
    'Request had insufficient authentication scopes.',
    'insufficientPermissions',
    'Insufficient Permission',
    'PERMISSION_DENIED',
    false,
  );

/** An OAuth token-endpoint error (`{"error": ..., "error_description": ...}`, HTTP 400). */
export interface OAuthAnswer {
  status: number;
  body: Record<string, unknown>;
}

const oauthError = (error: string, description: string): OAuthAnswer => ({
  status: 400,
  body: { error, error_description: description },
});

const b64json = (part: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

interface Key {
  id: string;
  email: string;
  publicKeyPem: string;
  revoked: boolean;
}

export class GceAuth {
  private readonly keys = new Map<string, Key>();
  private readonly tokens = new Map<string, { p: Principal; expiresAt: number }>();

  constructor(
    private readonly project: string,
    /** Where keys send their assertions (the emulator's endpoint + /token). */
    private readonly tokenUri: () => string,
    private readonly ttlS = 3600,
  ) {}

  /** A new key of `email` (default: a service account of the project), as its JSON key file. */
  createKey(email = `swarmup-lb@${this.project}.iam.gserviceaccount.com`): ServiceAccountKeyJson {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const id = randomBytes(20).toString('hex');
    this.keys.set(id, {
      id,
      email,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      revoked: false,
    });
    return {
      type: 'service_account',
      project_id: this.project,
      private_key_id: id,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUri(),
    };
  }

  /** A deleted key: its assertions are refused, tokens it got stop working. */
  revokeKey(id: string): void {
    const k = this.keys.get(id);
    if (!k) return;
    k.revoked = true;
    for (const [t, v] of this.tokens) if (v.p.kind === 'key' && v.p.email === k.email) this.tokens.delete(t);
  }

  /** An access token for `p`. */
  issue(p: Principal): { access_token: string; expires_in: number; token_type: 'Bearer' } {
    const token = `ya29.emu-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { p, expiresAt: Date.now() + this.ttlS * 1000 });
    return { access_token: token, expires_in: this.ttlS, token_type: 'Bearer' };
  }

  /** Whom a token was issued to (undefined: unknown). */
  principalOf(token: string): Principal | undefined {
    return this.tokens.get(token)?.p;
  }

  /** POST /token: the JWT-bearer grant. */
  exchange(form: URLSearchParams): OAuthAnswer {
    const grant = form.get('grant_type');
    if (grant !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return oauthError('unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    const jwt = form.get('assertion') ?? '';
    const parts = jwt.split('.');
    const header = parts.length === 3 ? b64json(parts[0]) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]) : undefined;
    if (!header || !claims) return oauthError('invalid_request', 'Invalid JWT: could not be decoded.');
    if (header.alg !== 'RS256') return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const key =
      (typeof header.kid === 'string' ? this.keys.get(header.kid) : undefined) ??
      [...this.keys.values()].find((k) => k.email === claims.iss && !header.kid);
    if (!key || key.revoked || key.email !== claims.iss)
      return oauthError('invalid_grant', 'Invalid grant: account not found');
    const ok = createVerify('RSA-SHA256')
      .update(`${parts[0]}.${parts[1]}`)
      .verify(createPublicKey(key.publicKeyPem), Buffer.from(parts[2], 'base64url'));
    if (!ok) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp - iat > 3600 || iat > now + 300 || exp < now)
      return oauthError(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    if (claims.aud !== this.tokenUri())
      return oauthError('invalid_grant', 'Invalid JWT: Failed audience check.');
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter(Boolean) : [];
    if (!scopes.length)
      return oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    return { status: 200, body: this.issue({ kind: 'key', email: key.email, scopes }) };
  }

  /** The principal of an API request, or the API's refusal. */
  check(authorization: string | undefined, method: string): Principal {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) throw loginRequired();
    const t = this.tokens.get(m[1]);
    if (!t || t.expiresAt <= Date.now()) throw invalidCredentials();
    const may =
      t.p.scopes.includes(SCOPES.compute) ||
      t.p.scopes.includes(SCOPES.cloudPlatform) ||
      (method === 'GET' && t.p.scopes.includes(SCOPES.computeRead));
    if (!may) throw insufficientScopes();
    return t.p;
  }
}
