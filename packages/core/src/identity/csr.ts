/**
 * PKCS#10 certificate signing requests (RFC 2986) for workload keys: empty subject, one URI
 * SAN (the SPIFFE ID) in an extensionRequest attribute, signed ecdsa-with-SHA256 (EC P-256
 * keys) or sha256WithRSAEncryption (RSA keys).
 */
import { sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, contextTag, nullValue, octetString, oid, sequence, set, smallInteger, tlv } from './der.ts';

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** A CSR in both encodings. */
export interface WorkloadCsr {
  /** PEM text, what `IstioCertificateRequest.csr` carries. */
  pem: string;
  /** DER bytes; renewals sign these with the current key. */
  der: Buffer;
}

/**
 * Builds a CSR for `spiffeId` over the key pair. Throws a TypeError when the key is neither RSA
 * nor EC (the mesh CA certifies RSA ≥ 2048 and EC P-256 keys).
 */
export function createWorkloadCsr(privateKey: KeyObject, publicKey: KeyObject, spiffeId: string): WorkloadCsr {
  const keyType = privateKey.asymmetricKeyType;
  if (keyType !== 'rsa' && keyType !== 'ec') throw new TypeError(`workload keys must be EC or RSA, got ${keyType}`);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const san = sequence(tlv(0x86, Buffer.from(spiffeId, 'ascii'))); // GeneralNames { uniformResourceIdentifier [6] }
  // The subject is empty, so RFC 5280 wants the SAN extension critical.
  const extensions = sequence(sequence(oid(OID_SUBJECT_ALT_NAME), boolean(true), octetString(san)));
  const attributes = contextTag(0, sequence(oid(OID_EXTENSION_REQUEST), set(extensions)), true);
  const info = sequence(smallInteger(0), sequence(), spki, attributes);
  const signature = sign('sha256', info, privateKey);
  // ECDSA algorithm identifiers carry no parameters; RSA ones carry NULL (RFC 5758, RFC 4055).
  const algorithm = keyType === 'ec' ? sequence(oid(OID_ECDSA_WITH_SHA256)) : sequence(oid(OID_SHA256_WITH_RSA), nullValue());
  const der = sequence(info, algorithm, bitString(signature));
  const body = der.toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return { pem: `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`, der };
}
