/**
 * Which credentials the controller gets, decided at install. Never a value in the service spec:
 * - GCE: the VMs' own service account through the metadata server when every machine of the swarm
 *   has one with the compute (or cloud-platform) scope; otherwise a service-account key
 *   (`--google-key-file`, else `GOOGLE_APPLICATION_CREDENTIALS`) as a swarm secret.
 * - Aliyun: the instances' RAM role (`--aliyunecs-ram-role` at create) through the instance
 *   metadata when every machine has it; otherwise the AccessKey id and secret as two swarm secrets.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { isRamRole, requireCredentials } from '../../cloud/aliyun/client.js';
import { LB_SCOPES, readServiceAccountKey } from '../../cloud/gce/auth.js';
import { UserError, oneLine } from '../../errors.js';
import { mapBounded } from '../../util/async.js';
import { cloudOf, providerFor } from '../backends.js';
import type { LbTarget } from '../target.js';
import type { ControllerCredentials } from './config.js';
import { LEASE } from './lease.js';
import { CONTROLLER, type SecretRef } from './spec.js';

export type CredentialChoice = 'instance' | 'secret';

export interface CredentialPlan {
  credentials: ControllerCredentials;
  /** Swarm secrets to make: what they hold goes nowhere else. */
  secrets: Array<{ purpose: string; file: string; content: string }>;
}

const secretPath = (file: string) => `${CONTROLLER.secretDir}/${file}`;

/** Machines of the swarm whose instance has no service account with a compute scope. */
async function withoutComputeScope(t: LbTarget): Promise<string[]> {
  const a = await cloudOf(t);
  if (a.provider !== 'gce') return [];
  const g = a.gce;
  const missing = await mapBounded(await t.machines(), 8, async (m) => {
    const path = a.instanceOf(m.state).path; // zones/<z>/instances/<n>
    const [, zone, , instance] = path.split('/');
    const i = await g.call(`instance ${instance}`, (o) =>
      g.instances.get({ project: g.project, zone, instance }, o),
    );
    const scopes = (i.serviceAccounts ?? []).flatMap((sa) => sa.scopes ?? []);
    return scopes.some((s) => LB_SCOPES.includes(s)) ? undefined : m.name;
  });
  return missing.filter((n): n is string => !!n);
}

/** Decide the credentials (reads the machines' instances for GCE). */
export async function planCredentials(
  t: LbTarget,
  o: { choice?: CredentialChoice; googleKeyFile?: string },
): Promise<CredentialPlan> {
  const machines = await t.machines();
  if (providerFor(t.driver) === 'gce') {
    const lacking = o.choice === 'secret' ? ['(not asked)'] : await withoutComputeScope(t);
    if (lacking.length === 0 && machines.length > 0)
      return { credentials: { kind: 'instance' }, secrets: [] };
    if (o.choice === 'instance') {
      throw new UserError(
        `--credentials instance: ${lacking.join(', ')} ha${lacking.length === 1 ? 's' : 've'} no service account with the compute scope (create the VMs with --google-scopes ${LB_SCOPES[0]})`,
      );
    }
    const file = o.googleKeyFile ?? process.env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
    if (!file) {
      throw new UserError(
        `the controller needs Compute API credentials: VMs made with --google-scopes ${LB_SCOPES[0]} lend it their service account; otherwise give a service-account key with --google-key-file or GOOGLE_APPLICATION_CREDENTIALS (kept as a swarm secret)`,
      );
    }
    const key = await readServiceAccountKey(file);
    return {
      credentials: { kind: 'key', file: secretPath('google-key.json') },
      secrets: [{ purpose: 'google-key', file: 'google-key.json', content: JSON.stringify(key) }],
    };
  }
  // Aliyun
  const roles = new Set(machines.map((m) => (m.state as { RamRoleName?: string }).RamRoleName ?? ''));
  const role = roles.size === 1 ? [...roles][0] : '';
  if (o.choice !== 'secret' && role && machines.length > 0)
    return { credentials: { kind: 'ram-role', role }, secrets: [] };
  if (o.choice === 'instance') {
    throw new UserError(
      `--credentials instance: the instances need one RAM role (create them with --aliyunecs-ram-role); they have ${[...roles].map((r) => r || 'none').join(', ')}`,
    );
  }
  const c = requireCredentials(t.flags);
  if (isRamRole(c)) {
    throw new UserError(
      'the controller needs an AccessKey (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET) unless the instances have a RAM role (--aliyunecs-ram-role)',
    );
  }
  return {
    credentials: {
      kind: 'access-key',
      idFile: secretPath('aliyun-access-key-id'),
      secretFile: secretPath('aliyun-access-key-secret'),
    },
    secrets: [
      { purpose: 'aliyun-access-key-id', file: 'aliyun-access-key-id', content: c.accessKeyId },
      { purpose: 'aliyun-access-key-secret', file: 'aliyun-access-key-secret', content: c.accessKeySecret },
    ],
  };
}

const PURPOSE = 'swarmup.lb-controller.secret';
const SALT = 'swarmup.lb-controller.salt';
const DIGEST = 'swarmup.lb-controller.sha256';

interface RawSecret {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
}

const digest = (salt: string, content: string) =>
  createHash('sha256').update(salt).update(content).digest('hex');

/** The controller's secrets on the swarm. */
export async function controllerSecrets(docker: Docker): Promise<RawSecret[]> {
  return (await docker.listSecrets({ filters: { label: [LEASE.owner] } })) as RawSecret[];
}

/**
 * A secret holding `content` for `purpose`: an existing one when its salted digest matches (a
 * re-install changes nothing), else a new one. The content is never logged nor labelled.
 */
export async function ensureSecret(
  docker: Docker,
  s: CredentialPlan['secrets'][number],
  existing: RawSecret[],
): Promise<SecretRef> {
  for (const e of existing) {
    const l = e.Spec.Labels ?? {};
    if (l[PURPOSE] === s.purpose && l[SALT] && l[DIGEST] === digest(l[SALT], s.content))
      return { id: e.ID, name: e.Spec.Name, file: s.file };
  }
  const salt = randomBytes(16).toString('hex');
  const name = `${CONTROLLER.service}-${s.purpose}-${randomBytes(4).toString('hex')}`;
  try {
    const r = (await docker.createSecret({
      Name: name,
      Labels: { [LEASE.owner]: '1', [PURPOSE]: s.purpose, [SALT]: salt, [DIGEST]: digest(salt, s.content) },
      Data: Buffer.from(s.content).toString('base64'),
    })) as { id?: string; ID?: string };
    return { id: r.id ?? r.ID ?? '', name, file: s.file };
  } catch (err) {
    throw new UserError(`cannot make the swarm secret ${name}: ${oneLine(err)}`);
  }
}

/** Remove the controller's secrets except `keep` (ids); a secret still in use stays. */
export async function pruneSecrets(docker: Docker, keep: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const s of await controllerSecrets(docker)) {
    if (keep.includes(s.ID)) continue;
    try {
      await docker.getSecret(s.ID).remove();
      gone.push(s.Spec.Name);
    } catch {
      // in use by a task still stopping: the next install or rm removes it
    }
  }
  return gone;
}
