/**
 * Verification of a workload certificate chain against the mesh trust bundle, in process
 * (node:crypto X509Certificate). The SDK checks what the CA returns with it; adapters may use
 * it for peers they did not verify through TLS.
 */
import { X509Certificate } from 'node:crypto';
import { MeshError } from '@weft/xds-client';
import { parseSpiffeId, spiffeUrisOf } from './spiffe-id.ts';

/** Splits a PEM text holding one or more certificates into one PEM string each. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** Options of {@link verifyCertificateChain}. */
export interface ChainPolicy {
  /** The mesh trust domain. */
  trustDomain: string;
  /** When set, the leaf must carry exactly this SPIFFE ID. */
  expectedSpiffeId?: string;
  /** Instant of the check, ms since the epoch; now by default. */
  nowMs?: number;
}

/** What a successful verification established. */
export interface VerifiedCertificate {
  spiffeId: string;
  notBeforeMs: number;
  notAfterMs: number;
  leaf: X509Certificate;
}

/**
 * Verifies `chainPem` (leaf first) against `trustBundlePem`: each certificate signed by the
 * next, the last by a trusted root, then each within its validity window, the leaf a non-CA
 * certificate with one SPIFFE ID in `policy.trustDomain` (and equal to `expectedSpiffeId`).
 * Throws a MeshError `WEFT_ERR_CERT_INVALID` whose `details.reason` is one of `malformed`,
 * `expired`, `not-yet-valid`, `wrong-root`, `wrong-trust-domain`, `no-spiffe-id`,
 * `identity-mismatch`, with a message naming the certificate.
 */
export function verifyCertificateChain(chainPem: readonly string[], trustBundlePem: readonly string[], policy: ChainPolicy): VerifiedCertificate {
  const nowMs = policy.nowMs ?? Date.now();
  const invalid = (reason: string, message: string, cause?: unknown): never => {
    throw new MeshError('WEFT_ERR_CERT_INVALID', message, { cause, details: { reason } });
  };
  let chain: X509Certificate[] = [];
  let roots: X509Certificate[] = [];
  try {
    chain = chainPem.map((p) => new X509Certificate(p));
    roots = trustBundlePem.map((p) => new X509Certificate(p));
  } catch (err) {
    invalid('malformed', `certificate is not valid PEM: ${(err as Error).message}`, err);
  }
  const leaf = chain[0] ?? invalid('malformed', 'certificate chain is empty');
  if (leaf.ca) invalid('malformed', 'leaf certificate is a CA certificate');
  const uris = spiffeUrisOf(leaf);
  if (uris.length !== 1) invalid('no-spiffe-id', `leaf certificate carries ${uris.length} SPIFFE URI SANs, expected exactly one`);
  const spiffeId = uris[0] as string;
  const parsed = parseSpiffeId(spiffeId) ?? invalid('no-spiffe-id', `"${spiffeId}" is not spiffe://<td>/ns/<ns>/sa/<sa>`);
  if (parsed.trustDomain !== policy.trustDomain) {
    invalid('wrong-trust-domain', `certificate for ${spiffeId} is from trust domain "${parsed.trustDomain}", expected "${policy.trustDomain}"`);
  }
  if (policy.expectedSpiffeId !== undefined && spiffeId !== policy.expectedSpiffeId) {
    invalid('identity-mismatch', `certificate is for ${spiffeId}, expected ${policy.expectedSpiffeId}`);
  }
  const checkTime = (cert: X509Certificate, what: string): void => {
    if (nowMs < cert.validFromDate.getTime()) invalid('not-yet-valid', `${what} is not yet valid (notBefore ${cert.validFromDate.toISOString()})`);
    if (nowMs > cert.validToDate.getTime()) invalid('expired', `${what} expired at ${cert.validToDate.toISOString()}`);
  };
  const issuedBy = (child: X509Certificate, issuer: X509Certificate): boolean => child.checkIssued(issuer) && child.verify(issuer.publicKey);
  // Signatures first, times after: a foreign certificate is reported as such whatever its dates.
  const path: [X509Certificate, string][] = [[leaf, `certificate for ${spiffeId}`]];
  let current = leaf;
  for (let i = 1; i <= chain.length; i++) {
    const root = roots.find((r) => issuedBy(current, r));
    if (root !== undefined) {
      path.push([root, `root certificate "${root.subject.replace(/\n/g, ', ')}"`]);
      for (const [cert, what] of path) checkTime(cert, what);
      return { spiffeId, notBeforeMs: leaf.validFromDate.getTime(), notAfterMs: leaf.validToDate.getTime(), leaf };
    }
    const next = chain[i];
    if (next === undefined || !next.ca || !issuedBy(current, next)) break;
    path.push([next, `intermediate certificate "${next.subject.replace(/\n/g, ', ')}"`]);
    current = next;
  }
  return invalid('wrong-root', `certificate for ${spiffeId} does not chain to a trusted root (issuer "${current.issuer.replace(/\n/g, ', ')}")`);
}
