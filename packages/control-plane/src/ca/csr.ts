/**
 * PKCS#10 certificate signing requests (RFC 2986) as the CA receives them: decoded with
 * node-forge's ASN.1 reader, the self-signature checked with node:crypto, so RSA and ECDSA
 * P-256 requests are both accepted.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { MeshError } from '@weft/xds-client';

/** A CSR whose self-signature verified. */
export interface ParsedCsr {
  /** The public key to certify (RSA ≥ 2048 bits or EC P-256). */
  publicKey: KeyObject;
  /** URI SANs requested in the extensionRequest attribute. */
  uriSans: string[];
  /** DNS SANs requested (Weft ignores them). */
  dnsSans: string[];
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
};

type Node = forge.asn1.Asn1;
const children = (n: Node | undefined): Node[] => (Array.isArray(n?.value) ? n.value : []);
const bytes = (n: Node | undefined): string => (typeof n?.value === 'string' ? n.value : '');

function invalid(message: string, reason: string, cause?: unknown): never {
  throw new MeshError('WEFT_ERR_CERT_INVALID', message, { cause, details: { reason } });
}

/**
 * Parses a PEM CSR and checks its self-signature (proof that the requester holds the private
 * key). Throws a MeshError `WEFT_ERR_CERT_INVALID` (`details.reason`: `malformed`,
 * `unsupported-key`, `bad-signature`) when the text is not a CSR, the key is neither RSA ≥ 2048
 * nor EC P-256, or the signature does not verify.
 */
export function parseCsr(pem: string): ParsedCsr {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (m === null) invalid('CSR is not a PEM "CERTIFICATE REQUEST" block', 'malformed');
  let root: Node;
  try {
    root = forge.asn1.fromDer(Buffer.from(m![1]!.replace(/\s+/g, ''), 'base64').toString('binary'), { decodeBitStrings: false });
  } catch (err) {
    return invalid(`CSR is not valid DER: ${(err as Error).message}`, 'malformed', err);
  }
  const [info, sigAlg, sigBits] = children(root);
  const [version, , spki, attributes] = children(info);
  if (info === undefined || spki === undefined || sigAlg === undefined || sigBits === undefined || version === undefined) {
    invalid('CSR structure is not CertificationRequest { info, algorithm, signature }', 'malformed');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(forge.asn1.toDer(spki!).getBytes(), 'binary'), format: 'der', type: 'spki' });
  } catch (err) {
    return invalid(`CSR public key cannot be read: ${(err as Error).message}`, 'malformed', err);
  }
  const details = publicKey.asymmetricKeyDetails ?? {};
  const isRsa = publicKey.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048;
  const isP256 = publicKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1';
  if (!isRsa && !isP256) {
    invalid(`CSR key ${publicKey.asymmetricKeyType}${details.namedCurve ? ` ${details.namedCurve}` : ''}${details.modulusLength ? ` ${details.modulusLength}` : ''} is not supported (RSA ≥ 2048 or EC P-256)`, 'unsupported-key');
  }
  const algOid = forge.asn1.derToOid(bytes(children(sigAlg)[0]));
  const hash = SIGNATURE_HASH[algOid] ?? invalid(`CSR signature algorithm ${algOid} is not supported`, 'unsupported-key');
  const infoDer = Buffer.from(forge.asn1.toDer(info!).getBytes(), 'binary');
  const signature = Buffer.from(bytes(sigBits).slice(1), 'binary');
  let isValid = false;
  try {
    isValid = verify(hash, infoDer, publicKey!, signature);
  } catch {
    isValid = false;
  }
  if (!isValid) invalid('CSR signature does not verify with its own public key', 'bad-signature');
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  for (const attr of children(attributes)) {
    const [type, values] = children(attr);
    if (forge.asn1.derToOid(bytes(type)) !== OID_EXTENSION_REQUEST) continue;
    for (const ext of children(children(values)[0])) {
      const parts = children(ext);
      if (forge.asn1.derToOid(bytes(parts[0])) !== OID_SUBJECT_ALT_NAME) continue;
      const names = forge.asn1.fromDer(bytes(parts[parts.length - 1]));
      for (const name of children(names)) {
        if (name.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && name.type === 6) uriSans.push(bytes(name));
        if (name.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && name.type === 2) dnsSans.push(bytes(name));
      }
    }
  }
  return { publicKey: publicKey!, uriSans, dnsSans };
}
