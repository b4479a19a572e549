export {
  certInfo,
  createCA,
  createClientCert,
  createServerCert,
  serverCertMatches,
  verifyKeyPair,
  type CertInfo,
  type CertOptions,
  type PemPair,
  type ServerCertOptions,
} from './certs.js';
