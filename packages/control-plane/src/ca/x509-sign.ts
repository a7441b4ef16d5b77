/**
 * Certificate construction: node-forge builds the X.509 structure (TBSCertificate) and encodes
 * it, node:crypto signs it (native RSA signing is far faster than forge's pure-JS bignums).
 *
 * forge only models RSA subject keys, so the subject public key is spliced into the TBS as the
 * SubjectPublicKeyInfo DER that node:crypto exports: workload certificates can certify ECDSA
 * P-256 keys as well as RSA ones. The CA's own key is RSA (sha256WithRSAEncryption signatures).
 */
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** What goes into one certificate. */
export interface CertificateTemplate {
  /** Subject public key (RSA or EC). */
  publicKey: KeyObject;
  /** Subject distinguished name; empty for workload certificates (identity is in the SAN). */
  subject: forge.pki.CertificateField[];
  /** The issuer certificate, or undefined for a self-signed root. */
  issuer: forge.pki.Certificate | undefined;
  notBefore: Date;
  notAfter: Date;
  /** Extensions in forge's notation; subject/authority key identifiers are added here. */
  extensions: forge.pki.Extension[];
}

const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const OID_SUBJECT_KEY_ID = '2.5.29.14';

/** A random positive 128-bit serial number as hex (top bit cleared, first byte non-zero). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING, as a binary string. */
function keyIdentifier(spkiDer: Buffer): string {
  const spki = forge.asn1.fromDer(spkiDer.toString('binary'), { decodeBitStrings: false });
  const bits = (spki.value as forge.asn1.Asn1[])[1]?.value as string;
  return createHash('sha1').update(Buffer.from(bits.slice(1), 'binary')).digest().toString('binary');
}

function issuerKeyIdentifier(issuer: forge.pki.Certificate, issuerSpkiDer: Buffer): string {
  const ext = issuer.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  return ext?.subjectKeyIdentifier ? forge.util.hexToBytes(ext.subjectKeyIdentifier) : keyIdentifier(issuerSpkiDer);
}

/**
 * Builds and signs a certificate with `signingKey` (RSA, sha256WithRSAEncryption) and returns
 * it as PEM. The issuer name and authority key identifier come from `template.issuer`, or from
 * the certificate itself when it is self-signed. Throws a TypeError when `signingKey` is not RSA.
 */
export function signCertificate(template: CertificateTemplate, signingKey: KeyObject): string {
  if (signingKey.asymmetricKeyType !== 'rsa') throw new TypeError(`CA keys must be RSA, got ${signingKey.asymmetricKeyType}`);
  const signingSpki = createPublicKey(signingKey).export({ type: 'spki', format: 'der' });
  const subjectSpki = template.publicKey.export({ type: 'spki', format: 'der' });
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  // forge needs an RSA key object to build the TBS; the real SubjectPublicKeyInfo replaces it below.
  cert.publicKey = forge.pki.publicKeyFromPem(createPublicKey(signingKey).export({ type: 'spki', format: 'pem' }) as string);
  cert.validity.notBefore = template.notBefore;
  cert.validity.notAfter = template.notAfter;
  cert.setSubject(template.subject);
  cert.setIssuer(template.issuer === undefined ? template.subject : template.issuer.subject.attributes);
  const { asn1 } = forge;
  cert.setExtensions([
    ...template.extensions,
    { id: OID_SUBJECT_KEY_ID, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyIdentifier(subjectSpki)) },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: template.issuer === undefined ? keyIdentifier(subjectSpki) : issuerKeyIdentifier(template.issuer, signingSpki),
    },
  ]);
  cert.siginfo.algorithmOid = OID_SHA256_WITH_RSA;
  const tbs = forge.pki.getTBSCertificate(cert);
  (tbs.value as forge.asn1.Asn1[])[6] = asn1.fromDer(subjectSpki.toString('binary'), { decodeBitStrings: false });
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, signingKey);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID_SHA256_WITH_RSA).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`),
  ]);
  const b64 = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary').toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}
