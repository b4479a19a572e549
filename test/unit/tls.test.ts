import { X509Certificate, createPrivateKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certInfo,
  createCA,
  createClientCert,
  createServerCert,
  serverCertMatches,
  verifyKeyPair,
  type PemPair,
} from '../../src/tls/certs.js';

const DAY = 86_400_000;

let ca: PemPair;
let otherCa: PemPair;
let client: PemPair;
let server: PemPair;
const SANS = ['10.0.0.5', 'node1.example.com', '2001:db8::1', '', '10.0.0.5'];

beforeAll(async () => {
  ca = await createCA();
  otherCa = await createCA({ commonName: 'someone else' });
  client = await createClientCert(ca);
  server = await createServerCert(ca, { commonName: 'node1', sans: SANS });
});

describe('createCA', () => {
  it('is a self-signed CA with the expected extensions', () => {
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.subject).toBe('CN=swarmup CA');
    expect(c.checkIssued(c)).toBe(true);
    expect(c.verify(c.publicKey)).toBe(true);
    expect(c.publicKey.asymmetricKeyType).toBe('ec');
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ca.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/);

    const p = new x509.X509Certificate(ca.certPem);
    const bc = p.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.critical).toBe(true);
    expect(bc.pathLength).toBe(0);
    const ku = p.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.critical).toBe(true);
    const { keyCertSign, cRLSign, digitalSignature } = x509.KeyUsageFlags;
    expect(ku.usages).toBe(keyCertSign | cRLSign | digitalSignature);
    expect(p.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('has a backdated notBefore, the default 1080-day validity and a positive 16-byte serial', () => {
    const info = certInfo(ca.certPem);
    const now = Date.now();
    // X.509 times have one-second resolution.
    expect(now - info.notBefore.getTime()).toBeGreaterThanOrEqual(5 * 60_000 - 1000);
    expect(now - info.notBefore.getTime()).toBeLessThan(6 * 60_000);
    expect(Math.round((info.notAfter.getTime() - now) / DAY)).toBe(1080);
    expect(info.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(info.serialNumber).not.toMatch(/^00/);
    expect(info.isCA).toBe(true);
    expect(info.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('honours commonName and validityDays, and gives each CA a fresh key and serial', async () => {
    const c = await createCA({ commonName: 'Acme, Inc. CA', validityDays: 10 });
    const info = certInfo(c.certPem);
    expect(info.subject).toBe('CN=Acme\\, Inc. CA');
    expect(Math.round((info.notAfter.getTime() - Date.now()) / DAY)).toBe(10);
    expect(info.serialNumber).not.toBe(certInfo(ca.certPem).serialNumber);
    expect(c.keyPem).not.toBe(ca.keyPem);
  });

  it('rejects a non-positive validity', async () => {
    await expect(createCA({ validityDays: 0 })).rejects.toThrow(/positive/);
  });
});

describe('createClientCert', () => {
  it('chains to the CA and is for client authentication only', () => {
    const c = new X509Certificate(client.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(false);
    expect(c.subject).toBe('CN=swarmup client');
    expect(c.issuer).toBe('CN=swarmup CA');
    expect(c.checkIssued(caCert)).toBe(true);
    expect(c.verify(caCert.publicKey)).toBe(true);
    expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(c.subjectAltName).toBeUndefined();
  });

  it('carries an authorityKeyIdentifier equal to the CA subjectKeyIdentifier', () => {
    const p = new x509.X509Certificate(client.certPem);
    const caSki = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)!;
    expect(p.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki.keyId);
    const bc = p.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(false);
    expect(
      p.getExtension(x509.KeyUsagesExtension)!.usages & x509.KeyUsageFlags.digitalSignature,
    ).toBeTruthy();
  });

  it('does not chain to another CA', () => {
    const c = new X509Certificate(client.certPem);
    const other = new X509Certificate(otherCa.certPem);
    expect(c.checkIssued(other)).toBe(false);
    expect(c.verify(other.publicKey)).toBe(false);
  });
});

describe('createServerCert', () => {
  it('classifies SANs as IP or DNS, dedupes, drops empties and adds localhost/127.0.0.1', () => {
    const c = new X509Certificate(server.certPem);
    const san = c.subjectAltName!;
    expect(san).toContain('IP Address:10.0.0.5');
    expect(san).toContain('IP Address:127.0.0.1');
    expect(san).toContain('IP Address:2001:DB8:0:0:0:0:0:1');
    expect(san).toContain('DNS:node1.example.com');
    expect(san).toContain('DNS:localhost');
    expect(san).not.toContain('DNS:10.0.0.5');
    expect(san.match(/10\.0\.0\.5/g)).toHaveLength(1);
    expect(san.split(', ')).toHaveLength(5);

    const info = certInfo(server.certPem);
    expect(info.sans.ip.sort()).toEqual(['10.0.0.5', '127.0.0.1', '2001:db8::1']);
    expect(info.sans.dns.sort()).toEqual(['localhost', 'node1.example.com']);
    expect(info.subject).toBe('CN=node1');
    expect(info.issuer).toBe('CN=swarmup CA');
    expect(info.isCA).toBe(false);
  });

  it('normalizes IPv6 spellings, brackets, zones, case and whitespace', async () => {
    const sans = ['[::1]', '::ffff:10.0.0.1', 'fe80::1%eth0', ' Node2.Example.COM ', '0:0:0:0:0:0:0:1'];
    const c = await createServerCert(ca, { commonName: 'n2', sans });
    const info = certInfo(c.certPem);
    expect(info.sans.ip.sort()).toEqual(['127.0.0.1', '::1', '::ffff:a00:1', 'fe80::1']);
    expect(info.sans.dns.sort()).toEqual(['localhost', 'node2.example.com']);
    expect(new X509Certificate(c.certPem).checkIP('::ffff:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(serverCertMatches(c.certPem, ca.certPem, sans)).toBe(true);
    expect(serverCertMatches(c.certPem, ca.certPem, ['::ffff:a00:1', 'node2.example.com'])).toBe(true);
  });

  it('is for server and client authentication and verifies against the CA', () => {
    const c = new X509Certificate(server.certPem);
    expect(c.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(c.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(c.verify(new X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    expect(c.checkHost('node1.example.com')).toBe('node1.example.com');
    expect(c.checkIP('10.0.0.5')).toBe('10.0.0.5');
  });

  it('never outlives its CA', async () => {
    const shortCa = await createCA({ validityDays: 3 });
    const leaf = await createServerCert(shortCa, { commonName: 'x', sans: [] });
    expect(certInfo(leaf.certPem).notAfter.getTime()).toBe(certInfo(shortCa.certPem).notAfter.getTime());
  });

  it('can be signed by an RSA CA (e.g. one adopted from docker-machine)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const { subtle } = webcrypto;
    const priv = await subtle.importKey(
      'pkcs8',
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      alg,
      false,
      ['sign'],
    );
    const pub = await subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), alg, true, [
      'verify',
    ]);
    const rsaCaCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=legacy',
      keys: { privateKey: priv, publicKey: pub },
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const rsaCa = {
      certPem: rsaCaCert.toString('pem'),
      keyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    };
    const leaf = await createServerCert(rsaCa, { commonName: 'n', sans: ['10.1.1.1'] });
    expect(serverCertMatches(leaf.certPem, rsaCa.certPem, ['10.1.1.1'])).toBe(true);
  });
});

describe('serverCertMatches', () => {
  it('accepts a certificate that is still right', () => {
    expect(serverCertMatches(server.certPem, ca.certPem, ['10.0.0.5', 'node1.example.com'])).toBe(true);
    expect(serverCertMatches(server.certPem, ca.certPem, [])).toBe(true);
    expect(serverCertMatches(server.certPem, ca.certPem, ['NODE1.example.com', '2001:DB8:0::1', ''])).toBe(
      true,
    );
  });

  it('rejects a certificate from another CA', () => {
    expect(serverCertMatches(server.certPem, otherCa.certPem, ['10.0.0.5'])).toBe(false);
  });

  it('rejects a certificate missing a wanted SAN', () => {
    expect(serverCertMatches(server.certPem, ca.certPem, ['10.0.0.6'])).toBe(false);
    expect(serverCertMatches(server.certPem, ca.certPem, ['node2.example.com'])).toBe(false);
    expect(serverCertMatches(server.certPem, ca.certPem, ['10.0.0.5', '::2'])).toBe(false);
  });

  it('rejects a certificate lacking localhost', async () => {
    const bare = await issueWithoutLocalhost();
    expect(serverCertMatches(bare, ca.certPem, ['10.0.0.5'])).toBe(false);
  });

  it('rejects a certificate about to expire', async () => {
    const short = await createServerCert(ca, { commonName: 'n', sans: ['10.0.0.5'], validityDays: 10 });
    expect(serverCertMatches(short.certPem, ca.certPem, ['10.0.0.5'])).toBe(false);
    expect(serverCertMatches(short.certPem, ca.certPem, ['10.0.0.5'], 5)).toBe(true);
  });

  it('rejects garbage instead of throwing', () => {
    expect(serverCertMatches('not a cert', ca.certPem, [])).toBe(false);
    expect(serverCertMatches(server.certPem, '', [])).toBe(false);
  });
});

describe('verifyKeyPair', () => {
  it('matches each key with its own certificate only', () => {
    expect(verifyKeyPair(ca.certPem, ca.keyPem)).toBe(true);
    expect(verifyKeyPair(client.certPem, client.keyPem)).toBe(true);
    expect(verifyKeyPair(server.certPem, server.keyPem)).toBe(true);
    expect(verifyKeyPair(server.certPem, client.keyPem)).toBe(false);
    expect(verifyKeyPair(server.certPem, 'garbage')).toBe(false);
  });
});

describe('a real mutual-TLS handshake', () => {
  interface Ctx {
    port: number;
    /** CNs of the client certificates the server accepted. */
    peers: string[];
    /** Resolves with the server's next handshake failure. */
    nextClientError: () => Promise<NodeJS.ErrnoException>;
  }

  async function withServer(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
    const peers: string[] = [];
    const srv = tls.createServer(
      {
        cert: server.certPem,
        key: server.keyPem,
        ca: [ca.certPem],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        peers.push(String(socket.getPeerCertificate().subject.CN));
        socket.end('hello\n');
      },
    );
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const nextClientError = async () => (await once(srv, 'tlsClientError'))[0] as NodeJS.ErrnoException;
    try {
      await fn({ port: (srv.address() as AddressInfo).port, peers, nextClientError });
    } finally {
      srv.close();
    }
  }

  /** Connect and read until the connection closes: what was read, and the client-side error if any. */
  function talk(options: tls.ConnectionOptions): Promise<{ data: string; error?: NodeJS.ErrnoException }> {
    return new Promise((resolve) => {
      const socket = tls.connect(options);
      let data = '';
      let error: NodeJS.ErrnoException | undefined;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', (err) => (error = err));
      socket.on('close', () => resolve({ data, error }));
    });
  }

  const local = (port: number, extra: tls.ConnectionOptions = {}): tls.ConnectionOptions => ({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: [ca.certPem],
    ...extra,
  });

  it('succeeds with the client certificate, and the server sees its CN', async () => {
    await withServer(async ({ port, peers }) => {
      const { data, error } = await talk(local(port, { cert: client.certPem, key: client.keyPem }));
      expect(error).toBeUndefined();
      expect(data).toBe('hello\n');
      expect(peers).toEqual(['swarmup client']);
    });
  });

  it('also verifies the server by IP address (no SNI)', async () => {
    await withServer(async ({ port }) => {
      const { data, error } = await talk({
        host: '127.0.0.1',
        port,
        ca: [ca.certPem],
        cert: client.certPem,
        key: client.keyPem,
      });
      expect(error).toBeUndefined();
      expect(data).toBe('hello\n');
    });
  });

  it('rejects a client without a certificate', async () => {
    await withServer(async ({ port, peers, nextClientError }) => {
      const serverError = nextClientError();
      const { data } = await talk(local(port));
      expect((await serverError).code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
      expect(data).toBe('');
      expect(peers).toEqual([]);
    });
  });

  it('rejects a client whose certificate comes from another CA', async () => {
    const stranger = await createClientCert(otherCa);
    await withServer(async ({ port, peers }) => {
      // With TLS 1.3 node verifies the client after OpenSSL's handshake and just drops the connection.
      const { data } = await talk(local(port, { cert: stranger.certPem, key: stranger.keyPem }));
      expect(data).toBe('');
      expect(peers).toEqual([]);
    });
  });

  it('makes a client trusting a different CA reject the server', async () => {
    await withServer(async ({ port, peers }) => {
      const { data, error } = await talk(
        local(port, { ca: [otherCa.certPem], cert: client.certPem, key: client.keyPem }),
      );
      // The server sends its CA along, so OpenSSL reports the untrusted self-signed root.
      expect(error?.code).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
      expect(data).toBe('');
      expect(peers).toEqual([]);
    });
  });
});

/** A server certificate signed by `ca` whose SANs lack localhost/127.0.0.1 (as a foreign tool might make). */
async function issueWithoutLocalhost(): Promise<string> {
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' }),
    alg,
    false,
    ['sign'],
  );
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=bare',
    issuer: 'CN=swarmup CA',
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '10.0.0.5' }])],
  });
  return cert.toString('pem');
}
