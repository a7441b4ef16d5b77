/**
 * Verification of a workload certificate chain against a trust bundle, with node:crypto's
 * X509Certificate: the CA uses it to authenticate renewals (the caller's current certificate).
 */
import { X509Certificate } from 'node:crypto';
import { MeshError } from '@weft/xds-client';
import { parseSpiffeId } from './spiffe-id.ts';

/** Splits a PEM bundle (one or many certificates) into individual PEM blocks. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** The SPIFFE URI SANs of a certificate, in order. */
export function spiffeUrisOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  return san.split(/,\s*/).filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice('URI:'.length));
}

/** What {@link verifyWorkloadChain} established. */
export interface VerifiedChain {
  /** The leaf's SPIFFE ID. */
  spiffeId: string;
  /** The leaf certificate. */
  leaf: X509Certificate;
}

function checkTime(cert: X509Certificate, what: string, nowMs: number): void {
  if (nowMs < cert.validFromDate.getTime()) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `${what} is not yet valid (notBefore ${cert.validFromDate.toISOString()})`, {
      details: { reason: 'not-yet-valid', subject: cert.subject },
    });
  }
  if (nowMs > cert.validToDate.getTime()) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `${what} expired at ${cert.validToDate.toISOString()}`, {
      details: { reason: 'expired', subject: cert.subject },
    });
  }
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/**
 * Verifies `chainPem` (leaf first, then intermediates, optionally the root) against `roots`:
 * each certificate signed by the next, the last one signed by a trusted root, then every
 * certificate on that path in its validity window at `nowMs`; the leaf is not a CA and carries exactly one SPIFFE URI SAN in
 * `trustDomain`. Throws a MeshError `WEFT_ERR_CERT_INVALID` whose message and `details.reason`
 * (`malformed`, `expired`, `not-yet-valid`, `wrong-root`, `wrong-trust-domain`, `no-spiffe-id`)
 * say which check failed.
 */
export function verifyWorkloadChain(chainPem: string[], roots: readonly X509Certificate[], trustDomain: string, nowMs = Date.now()): VerifiedChain {
  const invalid = (reason: string, message: string): never => {
    throw new MeshError('WEFT_ERR_CERT_INVALID', message, { details: { reason } });
  };
  let chain: X509Certificate[];
  try {
    chain = chainPem.map((p) => new X509Certificate(p));
  } catch (err) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `certificate chain is not valid PEM: ${(err as Error).message}`, {
      cause: err, details: { reason: 'malformed' },
    });
  }
  const leaf = chain[0];
  if (leaf === undefined) return invalid('malformed', 'certificate chain is empty');
  if (leaf.ca) invalid('malformed', 'leaf certificate is a CA certificate, not a workload certificate');
  const uris = spiffeUrisOf(leaf);
  if (uris.length !== 1) invalid('no-spiffe-id', `leaf certificate must carry exactly one SPIFFE URI SAN, found ${uris.length}`);
  const spiffeId = uris[0] as string;
  const parsed = parseSpiffeId(spiffeId);
  if (parsed === undefined) invalid('no-spiffe-id', `leaf SPIFFE ID "${spiffeId}" is not spiffe://<td>/ns/<ns>/sa/<sa>`);
  if (parsed!.trustDomain !== trustDomain) {
    invalid('wrong-trust-domain', `certificate for ${spiffeId} belongs to trust domain "${parsed!.trustDomain}", expected "${trustDomain}"`);
  }
  // Signatures first, times after: a foreign certificate is reported as such whatever its dates.
  const path: [X509Certificate, string][] = [[leaf, `certificate for ${spiffeId}`]];
  let current = leaf;
  let isAnchored = false;
  for (let i = 1; i <= chain.length && !isAnchored; i++) {
    const root = roots.find((r) => issuedBy(current, r));
    if (root !== undefined) {
      path.push([root, `root certificate "${root.subject.replace(/\n/g, ', ')}"`]);
      isAnchored = true;
      break;
    }
    const next = chain[i];
    if (next === undefined || !next.ca || !issuedBy(current, next)) break;
    path.push([next, `intermediate certificate "${next.subject.replace(/\n/g, ', ')}"`]);
    current = next;
  }
  if (isAnchored) {
    for (const [cert, what] of path) checkTime(cert, what, nowMs);
    return { spiffeId, leaf };
  }
  return invalid('wrong-root', `certificate for ${spiffeId} does not chain to a root this mesh trusts (issuer "${current.issuer.replace(/\n/g, ', ')}")`);
}
