/**
 * SPIFFE IDs as Istio spells them for workloads: `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
 * The CA checks every identity it signs against this shape.
 */
import { MeshError } from '@weft/xds-client';

/** The parts of a workload SPIFFE ID. */
export interface WorkloadSpiffeId {
  /** Trust domain, e.g. `cluster.local`. */
  trustDomain: string;
  /** Kubernetes-style namespace. */
  namespace: string;
  /** Service account inside the namespace. */
  serviceAccount: string;
}

/** DNS-label-like segment: what Kubernetes allows in namespace and service-account names. */
const SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Trust domains are lowercase DNS names (SPIFFE spec: letters, digits, `.`, `-`, `_`). */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/**
 * Formats a workload SPIFFE ID. Throws a MeshError `WEFT_ERR_USAGE` naming the bad part when a
 * part is empty or contains characters that cannot appear in a SPIFFE path segment.
 */
export function formatSpiffeId(id: WorkloadSpiffeId): string {
  if (!TRUST_DOMAIN.test(id.trustDomain)) {
    throw new MeshError('WEFT_ERR_USAGE', `invalid trust domain "${id.trustDomain}" (lowercase letters, digits, ".", "-", "_")`);
  }
  if (!SEGMENT.test(id.namespace)) {
    throw new MeshError('WEFT_ERR_USAGE', `invalid namespace "${id.namespace}" (a DNS label: lowercase letters, digits, "-")`);
  }
  if (!SEGMENT.test(id.serviceAccount)) {
    throw new MeshError('WEFT_ERR_USAGE', `invalid service account "${id.serviceAccount}" (lowercase letters, digits, "-", ".")`);
  }
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses a workload SPIFFE ID; returns undefined when `uri` does not have the workload shape. */
export function parseSpiffeId(uri: string): WorkloadSpiffeId | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  const [, trustDomain, namespace, serviceAccount] = m as unknown as [string, string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain) || !SEGMENT.test(namespace) || !SEGMENT.test(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}
