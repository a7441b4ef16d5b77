/**
 * PKCS#10 certificate signing requests as the CA receives them: parsed and
 * signature-checked with node-forge.
 */
import forge from 'node-forge';
import { MeshError } from '@weft/xds-client';

/** A CSR whose self-signature verified. */
export interface ParsedCsr {
  /** The public key to certify. */
  publicKey: forge.pki.PublicKey;
  /** URI SANs requested in the extensionRequest attribute. */
  uriSans: string[];
  /** DNS SANs requested (Weft ignores them; reported for error messages). */
  dnsSans: string[];
}

/**
 * Parses a PEM CSR and checks its self-signature (proof that the requester holds the private
 * key). Throws a MeshError `WEFT_ERR_CERT_INVALID` when the text is not a CSR, the key is not
 * RSA (the CA issues RSA-2048 workload certificates), or the signature does not verify.
 */
export function parseCsr(pem: string): ParsedCsr {
  let csr: forge.pki.CertificationRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (err) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `CSR is not a PEM PKCS#10 request with an RSA key: ${(err as Error).message}`, {
      cause: err, details: { reason: 'malformed' },
    });
  }
  let verified = false;
  try {
    verified = csr.verify();
  } catch {
    verified = false;
  }
  if (!verified || csr.publicKey === null) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', 'CSR signature does not verify with its own public key', { details: { reason: 'bad-signature' } });
  }
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  const ext = csr.getAttribute({ name: 'extensionRequest' })?.extensions ?? [];
  for (const e of ext) {
    if (e.name !== 'subjectAltName') continue;
    for (const alt of e.altNames ?? []) {
      if (alt.type === 6 && alt.value !== undefined) uriSans.push(alt.value);
      if (alt.type === 2 && alt.value !== undefined) dnsSans.push(alt.value);
    }
  }
  return { publicKey: csr.publicKey, uriSans, dnsSans };
}
