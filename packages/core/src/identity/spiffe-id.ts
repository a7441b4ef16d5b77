/**
 * SPIFFE identities of workloads (`spiffe://<trust-domain>/ns/<ns>/sa/<sa>`) and the check the
 * adapters apply to a TLS peer: which identity does its certificate carry, and is it one we
 * accept?
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { MeshError } from '@weft/xds-client';

/** The parts of a workload SPIFFE ID. */
export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

const SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** Formats a workload SPIFFE ID; throws `WEFT_ERR_CONFIG_INVALID` naming the bad part. */
export function formatSpiffeId(id: SpiffeId): string {
  for (const [field, value, re] of [
    ['trust domain', id.trustDomain, TRUST_DOMAIN],
    ['namespace', id.namespace, SEGMENT],
    ['service account', id.serviceAccount, SEGMENT],
  ] as const) {
    if (!re.test(value)) throw new MeshError('WEFT_ERR_CONFIG_INVALID', `invalid ${field} "${value}" for a SPIFFE ID`, { details: { field } });
  }
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses a workload SPIFFE ID; undefined when `uri` does not have that shape. */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  const [, trustDomain, namespace, serviceAccount] = m as unknown as [string, string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain) || !SEGMENT.test(namespace) || !SEGMENT.test(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}

/** The SPIFFE URI SANs of a certificate (node:tls peer certificate or X509Certificate). */
export function spiffeUrisOf(cert: PeerCertificate | X509Certificate): string[] {
  const san = ('subjectaltname' in cert ? cert.subjectaltname : (cert as X509Certificate).subjectAltName) ?? '';
  return san.split(/,\s*/).filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice('URI:'.length));
}

/** What a peer must be for {@link verifyPeerSpiffeId} to accept it. */
export interface PeerIdentityPolicy {
  /** The mesh trust domain; a peer from another one is refused. */
  trustDomain: string;
  /**
   * Acceptable SPIFFE IDs (exact match), e.g. the service accounts a cluster lists for its
   * endpoints. Undefined or empty accepts any identity of the trust domain.
   */
  allowedIds?: readonly string[];
}

/**
 * Returns the SPIFFE ID of a TLS peer's certificate when it is acceptable under `policy`.
 * The chain itself must already have been verified by TLS (`rejectUnauthorized` with the mesh
 * trust bundle as `ca`); this adds the identity check. Throws a MeshError:
 * `WEFT_ERR_CERT_INVALID` when there is no certificate, no single SPIFFE URI SAN, or the trust
 * domain differs (`details.reason`: `no-certificate`, `no-spiffe-id`, `wrong-trust-domain`);
 * `WEFT_ERR_UNAUTHORIZED` when the identity is valid but not among `allowedIds`.
 */
export function verifyPeerSpiffeId(cert: PeerCertificate | X509Certificate | undefined | null, policy: PeerIdentityPolicy): string {
  if (cert === undefined || cert === null || (!(cert instanceof X509Certificate) && cert.raw === undefined)) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', 'peer presented no certificate', { details: { reason: 'no-certificate' } });
  }
  const uris = spiffeUrisOf(cert);
  if (uris.length !== 1) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `peer certificate carries ${uris.length} SPIFFE URI SANs, expected exactly one`, { details: { reason: 'no-spiffe-id' } });
  }
  const id = uris[0] as string;
  const parsed = parseSpiffeId(id);
  if (parsed === undefined) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `peer SPIFFE ID "${id}" is not spiffe://<td>/ns/<ns>/sa/<sa>`, { details: { reason: 'no-spiffe-id', spiffeId: id } });
  }
  if (parsed.trustDomain !== policy.trustDomain) {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `peer ${id} is from trust domain "${parsed.trustDomain}", expected "${policy.trustDomain}"`, {
      details: { reason: 'wrong-trust-domain', spiffeId: id },
    });
  }
  if (policy.allowedIds !== undefined && policy.allowedIds.length > 0 && !policy.allowedIds.includes(id)) {
    throw new MeshError('WEFT_ERR_UNAUTHORIZED', `peer identity ${id} is not one of the expected identities (${policy.allowedIds.join(', ')})`, {
      details: { reason: 'identity-not-allowed', spiffeId: id, allowedIds: [...policy.allowedIds] },
    });
  }
  return id;
}

/**
 * A `checkServerIdentity` for `tls.connect`/undici/https that replaces hostname matching with
 * {@link verifyPeerSpiffeId}: mesh certificates carry SPIFFE IDs, not DNS names. Returns the
 * MeshError (TLS then aborts the handshake) or undefined.
 */
export function createSpiffeServerIdentityCheck(policy: PeerIdentityPolicy): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    try {
      verifyPeerSpiffeId(cert, policy);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };
}
