/**
 * Certificates for Docker's mutual TLS, laid out like docker-machine's: one CA per store, one client
 * certificate, and one server certificate per machine.
 *
 * Keys are ECDSA P-256 generated natively by WebCrypto (milliseconds, where RSA-2048 in pure JS takes about a
 * second); certificates are built with @peculiar/x509 and inspected with node:crypto's X509Certificate.
 * A CA whose key is RSA or ECDSA P-384/P-521 (e.g. one adopted from docker-machine) can still sign.
 */
import { KeyObject, X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const subtle = webcrypto.subtle;
const DAY_MS = 86_400_000;
const BACKDATE_MS = 5 * 60_000;
const DEFAULT_VALIDITY_DAYS = 1080;
/** Names every server certificate carries, so `docker -H tcp://localhost:2376` works through a tunnel. */
const ALWAYS_SANS = ['localhost', '127.0.0.1'];

/** A certificate and its private key, both PEM (the key as PKCS#8, "-----BEGIN PRIVATE KEY-----"). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertOptions {
  commonName?: string;
  validityDays?: number;
}

export interface ServerCertOptions {
  commonName: string;
  /** IP addresses (v4 or v6) and DNS names; `localhost` and `127.0.0.1` are always added. */
  sans: string[];
  validityDays?: number;
}

export interface CertInfo {
  subject: string;
  issuer: string;
  sans: { dns: string[]; ip: string[] };
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  serialNumber: string;
  fingerprint256: string;
}

const { KeyUsageFlags: KU, ExtendedKeyUsage: EKU } = x509;

/** A self-signed CA: basicConstraints CA:true pathLen 0, keyUsage keyCertSign+cRLSign+digitalSignature. */
export async function createCA(opts: CertOptions = {}): Promise<PemPair> {
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(opts.validityDays);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName ?? 'swarmup CA'] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(KU.keyCertSign | KU.cRLSign | KU.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKey(keys.privateKey) };
}

/** The client certificate the docker CLI presents (extKeyUsage clientAuth). */
export async function createClientCert(ca: PemPair, opts: CertOptions = {}): Promise<PemPair> {
  return issue(ca, opts.commonName ?? 'swarmup client', opts.validityDays, [EKU.clientAuth], []);
}

/**
 * The Docker daemon's certificate: extKeyUsage serverAuth (and clientAuth, harmless, as docker-machine does),
 * with a SubjectAltName for each of `sans` (classified as IP or DNS), plus localhost and 127.0.0.1.
 */
export async function createServerCert(ca: PemPair, opts: ServerCertOptions): Promise<PemPair> {
  const names: x509.JsonGeneralName[] = normalizeSans(opts.sans).map((s) => ({
    type: isIP(s) ? 'ip' : 'dns',
    value: s,
  }));
  return issue(ca, opts.commonName, opts.validityDays, [EKU.serverAuth, EKU.clientAuth], names);
}

/** Facts about a certificate, read synchronously with node:crypto. */
export function certInfo(certPem: string): CertInfo {
  const c = new X509Certificate(certPem);
  const sans = parseSubjectAltName(c.subjectAltName);
  return {
    subject: c.subject,
    issuer: c.issuer,
    sans,
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    isCA: c.ca,
    serialNumber: c.serialNumber,
    fingerprint256: c.fingerprint256,
  };
}

/**
 * Whether an existing server certificate can be kept: issued (and signed) by this CA, covering every wanted
 * SAN (plus localhost and 127.0.0.1), already valid and not expiring within `minRemainingDays`.
 * Unparseable input yields false, so the caller simply regenerates.
 */
export function serverCertMatches(
  certPem: string,
  caPem: string,
  wantedSans: string[],
  minRemainingDays = 30,
): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    const now = Date.now();
    if (new Date(cert.validFrom).getTime() > now) return false;
    if (new Date(cert.validTo).getTime() - now < minRemainingDays * DAY_MS) return false;
    const have = parseSubjectAltName(cert.subjectAltName);
    const ips = new Set(have.ip);
    const dns = new Set(have.dns.map((d) => d.toLowerCase()));
    return normalizeSans(wantedSans).every((s) => (isIP(s) ? ips.has(s) : dns.has(s.toLowerCase())));
  } catch {
    return false;
  }
}

/** Whether the private key belongs to the certificate. */
export function verifyKeyPair(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------

async function issue(
  ca: PemPair,
  commonName: string,
  validityDays: number | undefined,
  extendedUsages: string[],
  sans: x509.JsonGeneralName[],
): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const { key: signingKey, algorithm: signingAlgorithm } = await importSigningKey(ca.keyPem);
  const keys = await generateKeys();
  const { notBefore, notAfter: wanted } = validity(validityDays);
  // A leaf never outlives its CA: clients would reject it anyway, and renewal checks stay honest.
  const notAfter = wanted > caCert.notAfter ? caCert.notAfter : wanted;
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KU.digitalSignature | KU.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    caSki
      ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId)
      : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [commonName] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKey(keys.privateKey) };
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** Import a CA's PEM private key for WebCrypto signing, whatever its type (ECDSA or RSA). */
async function importSigningKey(
  keyPem: string,
): Promise<{ key: webcrypto.CryptoKey; algorithm: { name: string; hash: string } }> {
  const keyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
  if (keyObject.asymmetricKeyType !== 'ec' || !curve) {
    throw new Error(`unsupported CA key type ${keyObject.asymmetricKeyType ?? 'unknown'}`);
  }
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve.namedCurve }, false, [
    'sign',
  ]);
  return { key, algorithm: { name: 'ECDSA', hash: curve.hash } };
}

function validity(days = DEFAULT_VALIDITY_DAYS): { notBefore: Date; notAfter: Date } {
  if (!(days > 0)) throw new Error(`certificate validity must be a positive number of days, not ${days}`);
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 16 random bytes, first byte 0x01..0x7f: positive, and exactly 16 bytes once DER-encoded. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex');
}

/** Trimmed, non-empty, deduplicated SANs with localhost/127.0.0.1 first; IPv6 in canonical short form. */
function normalizeSans(sans: string[]): string[] {
  const out = new Set<string>();
  for (const raw of [...ALWAYS_SANS, ...sans]) {
    const s = raw.trim();
    if (s !== '') out.add(canonicalIP(s) ?? s.toLowerCase());
  }
  return [...out];
}

/** An IP address in canonical form (IPv6 compressed, lowercase, zone dropped), or undefined for a name. */
function canonicalIP(s: string): string | undefined {
  const bare = s.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/**
 * Parse node's `subjectAltName` string: `DNS:a, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1`.
 * Values with special characters come JSON-quoted (`DNS:"a,b"`).
 */
function parseSubjectAltName(text: string | undefined): { dns: string[]; ip: string[] } {
  const result = { dns: [] as string[], ip: [] as string[] };
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of (text ?? '').matchAll(re)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    if (m[1] === 'DNS') result.dns.push(value);
    else if (m[1] === 'IP Address') result.ip.push(canonicalIP(value) ?? value);
  }
  return result;
}
