import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic.js';
import type { MachineConfig } from '../store/machine-config.js';
import type { Store } from '../store/store.js';
import type { PemPair } from '../tls/certs.js';

export interface StoreCerts {
  ca: PemPair;
  client: PemPair;
}

const read = (p: string) => readFile(p, 'utf8');

async function readPair(cert: string, key: string): Promise<PemPair | undefined> {
  try {
    return { certPem: await read(cert), keyPem: await read(key) };
  } catch {
    return undefined;
  }
}

/**
 * The machine folder's copies of the CA and client certificate (DOCKER_CERT_PATH): `env`, `config`
 * and `cluster env` hand out this folder, so missing or unreadable files are an error here rather
 * than a TLS failure in docker later. Returns the folder.
 */
export async function requireClientCertFiles(store: Store, name: string): Promise<string> {
  const dir = store.machineDir(name);
  const bad: string[] = [];
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
    const ok = await stat(join(dir, f)).then(
      (s) => s.isFile() && s.size > 0,
      () => false,
    );
    if (!ok) bad.push(f);
  }
  if (bad.length) {
    throw new UserError(
      `machine "${name}" lacks ${bad.join(', ')} in ${dir}, so docker could not connect: run "swarmup regenerate-certs -f ${name}" to write them again`,
    );
  }
  return dir;
}

/** The store's CA and client certificate if they exist (reading only; nothing heavy is loaded). */
export async function readStoreCerts(store: Store): Promise<StoreCerts | undefined> {
  const d = store.certsDir;
  const ca = await readPair(join(d, 'ca.pem'), join(d, 'ca-key.pem'));
  const client = await readPair(join(d, 'cert.pem'), join(d, 'key.pem'));
  return ca && client ? { ca, client } : undefined;
}

/** The store's CA and client certificate, made once (under the store lock) and shared by all machines. */
export async function ensureStoreCerts(store: Store, regenerate = false): Promise<StoreCerts> {
  if (!regenerate) {
    const have = await readStoreCerts(store);
    if (have) return have;
  }
  await store.init();
  const { createCA, createClientCert } = await import('../tls/certs.js');
  const d = store.certsDir;
  return store.locked(async () => {
    const have = regenerate ? undefined : await readStoreCerts(store);
    if (have) return have;
    const ca = await createCA();
    const client = await createClientCert(ca, { commonName: 'swarmup client' });
    await writeFileAtomic(join(d, 'ca-key.pem'), ca.keyPem, 0o600);
    await writeFileAtomic(join(d, 'ca.pem'), ca.certPem, 0o644);
    await writeFileAtomic(join(d, 'key.pem'), client.keyPem, 0o600);
    await writeFileAtomic(join(d, 'cert.pem'), client.certPem, 0o644);
    return { ca, client };
  });
}

/**
 * The machine's server certificate: reused while it is from this CA, covers every wanted address and
 * is not close to expiry; otherwise made anew (an IP change is caught here, not by a TLS error later).
 * Client certificate copies are kept in the machine folder for DOCKER_CERT_PATH.
 */
export async function ensureServerCert(
  store: Store,
  cfg: MachineConfig,
  certs: StoreCerts,
  sans: string[],
  force = false,
): Promise<{ server: PemPair; regenerated: boolean }> {
  const { createServerCert, serverCertMatches } = await import('../tls/certs.js');
  const a = cfg.HostOptions.AuthOptions;
  const dir = store.machineDir(cfg.Name);
  await writeFileAtomic(join(dir, 'ca.pem'), certs.ca.certPem, 0o644);
  await writeFileAtomic(join(dir, 'cert.pem'), certs.client.certPem, 0o644);
  await writeFileAtomic(join(dir, 'key.pem'), certs.client.keyPem, 0o600);
  const existing = await readPair(store.abs(a.ServerCertPath), store.abs(a.ServerKeyPath));
  if (!force && existing && serverCertMatches(existing.certPem, certs.ca.certPem, sans)) {
    return { server: existing, regenerated: false };
  }
  const server = await createServerCert(certs.ca, { commonName: cfg.Name, sans });
  await writeFileAtomic(store.abs(a.ServerKeyPath), server.keyPem, 0o600);
  await writeFileAtomic(store.abs(a.ServerCertPath), server.certPem, 0o644);
  a.ServerCertSANs = sans;
  return { server, regenerated: true };
}
