/**
 * Calls that an AuthorizationPolicy with action AUDIT (RBAC `LOG`) matched, marked by the inbound
 * interceptor and read by the server telemetry interceptor for the access log. Keyed by the
 * call's received metadata object, which both interceptors see; a WeakMap, so nothing outlives
 * its call.
 */
import type { Metadata } from '@grpc/grpc-js';

const audited = new WeakMap<Metadata, string>();

/** Marks the call whose metadata is `metadata` as audited by `policy`. */
export function markAudited(metadata: Metadata, policy: string): void {
  audited.set(metadata, policy);
}

/** The AUDIT policy that matched the call, if any. */
export function auditedBy(metadata: Metadata | undefined): string | undefined {
  return metadata === undefined ? undefined : audited.get(metadata);
}
