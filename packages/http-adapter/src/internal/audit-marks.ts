/**
 * Requests that an AuthorizationPolicy with action AUDIT (RBAC `LOG`) matched, marked by the
 * inbound gate and read by the inbound telemetry for the access log — Envoy's `access_log_hint`.
 * A WeakMap, so nothing outlives its request.
 */
import type { IncomingMessage } from 'node:http';

const audited = new WeakMap<IncomingMessage, string>();

/** Marks `req` as audited by `policy`. */
export function markAudited(req: IncomingMessage, policy: string): void {
  audited.set(req, policy);
}

/** The AUDIT policy that matched `req`, if any. */
export function auditedBy(req: IncomingMessage): string | undefined {
  return audited.get(req);
}
