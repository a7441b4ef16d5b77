/**
 * Certificate construction: node-forge builds the X.509 structure (TBSCertificate), node:crypto
 * signs it (native RSA signing is ~50x faster than forge's pure-JS bignum code).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** What goes into one certificate. */
export interface CertificateTemplate {
  /** Subject public key (RSA; forge cannot carry other key types). */
  publicKey: forge.pki.PublicKey;
  /** Subject distinguished name; empty for workload certificates (identity is in the SAN). */
  subject: forge.pki.CertificateField[];
  /** The issuer certificate, or undefined for a self-signed root. */
  issuer: forge.pki.Certificate | undefined;
  notBefore: Date;
  notAfter: Date;
  /** Extensions in forge's notation; subject/authority key identifiers are added here. */
  extensions: forge.pki.Extension[];
}

/** A random positive 128-bit serial number as hex (top bit cleared, first byte non-zero). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * Builds and signs a certificate with `signingKey` (RSA, sha256WithRSAEncryption) and returns
 * it as PEM. The issuer name and authority key identifier come from `template.issuer`, or from
 * the certificate itself when it is self-signed.
 */
export function signCertificate(template: CertificateTemplate, signingKey: KeyObject): string {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  cert.publicKey = template.publicKey;
  cert.validity.notBefore = template.notBefore;
  cert.validity.notAfter = template.notAfter;
  cert.setSubject(template.subject);
  cert.setIssuer(template.issuer === undefined ? template.subject : template.issuer.subject.attributes);
  const issuerKeyId = (template.issuer ?? cert).generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    ...template.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuerKeyId },
  ]);
  const oid = forge.pki.oids['sha256WithRSAEncryption'] as string;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  cert.md = forge.md.sha256.create();
  const tbs = forge.asn1.toDer(forge.pki.getTBSCertificate(cert)).getBytes();
  cert.signature = sign('sha256', Buffer.from(tbs, 'binary'), signingKey).toString('binary');
  return forge.pki.certificateToPem(cert);
}
