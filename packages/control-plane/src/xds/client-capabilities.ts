/**
 * What each kind of xDS client can apply. istiod sends proxyless gRPC clients a reduced config
 * because they reject what they do not understand (a RouteConfiguration holding a redirect is
 * rejected whole); Weft does the same, and records every left-out feature as an
 * {@link Omission} so `/debug/syncz` and `weft status` can show it.
 */
import type { XdsNode } from '@weft/xds-client';
import { envoyWorkloadFromNode, envoyWorkloadKey, type EnvoyWorkload } from './envoy/workload.ts';

/** The kinds of client the control plane tells apart. */
export type ClientKind = 'weft' | 'grpc-js-xds' | 'grpc' | 'envoy' | 'unknown';

/** Features of the generated config that some clients cannot apply. */
export interface ClientCapabilities {
  kind: ClientKind;
  /** Cluster `lb_policy` values the client accepts; others fall back to ROUND_ROBIN. */
  lbPolicies: ReadonlySet<string>;
  /** Route `redirect` and `direct_response` actions (gRPC clients reject the whole RouteConfiguration). */
  hasRedirectAndDirectResponse: boolean;
  /** Route `request_mirror_policies`. */
  hasMirroring: boolean;
  /** The RBAC HTTP filter on client-side (API) listeners. */
  hasClientRbacFilter: boolean;
  /** Outlier detection by consecutive errors (gRFC A50 only has success-rate / failure-percentage). */
  hasConsecutiveErrorOutlierDetection: boolean;
  /**
   * Envoy sidecars only: the workload behind the sidecar. Envoy gets sidecar-shaped resources
   * (envoy/generate.ts) that depend on it, so it is part of the profile key.
   */
  envoy?: EnvoyWorkload;
}

/** A feature the config asked for that was not sent to a client kind, and why. */
export interface Omission {
  /** Short type name: `cluster`, `route`, `listener`, `endpoint`. */
  type: string;
  /** Resource name the omission concerns. */
  resource: string;
  /** The Istio field (or Envoy feature) left out. */
  field: string;
  reason: string;
}

const ALL_LB = new Set(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV']);
const GRPC_LB = new Set(['ROUND_ROBIN', 'RING_HASH']);

const FULL: ClientCapabilities = {
  kind: 'unknown',
  lbPolicies: ALL_LB,
  hasRedirectAndDirectResponse: true,
  hasMirroring: true,
  hasClientRbacFilter: true,
  hasConsecutiveErrorOutlierDetection: true,
};

const GRPC: ClientCapabilities = {
  kind: 'grpc',
  lbPolicies: GRPC_LB,
  hasRedirectAndDirectResponse: false,
  hasMirroring: false,
  hasClientRbacFilter: false,
  hasConsecutiveErrorOutlierDetection: false,
};

/**
 * Classifies a node: `user_agent_name` `gRPC Node Pure JS` is @grpc/grpc-js-xds, other `gRPC …`
 * agents are gRPC proxyless clients, `envoy` is Envoy (whatever its metadata: an Envoy sidecar
 * carries `WEFT_*` keys too), and a node whose metadata carries a `WEFT_*` key or whose agent is
 * `weft` is the Weft SDK. Anything else is `unknown` and gets the
 * full config (as istiod does for sidecars).
 */
export function detectClientKind(node: XdsNode | undefined, metadata: Readonly<Record<string, unknown>>): ClientKind {
  const agent = (node?.user_agent_name ?? '').toLowerCase();
  if (agent === 'grpc node pure js') return 'grpc-js-xds';
  if (agent === 'envoy') return 'envoy';
  if (agent.startsWith('weft') || Object.keys(metadata).some((k) => k.startsWith('WEFT_'))) return 'weft';
  if (agent.startsWith('grpc')) return 'grpc';
  return 'unknown';
}

/**
 * The capabilities of a client kind; for `envoy`, with the workload read from `node` and its
 * `metadata` (see envoy/workload.ts).
 */
export function capabilitiesFor(kind: ClientKind, node?: XdsNode, metadata: Readonly<Record<string, unknown>> = {}): ClientCapabilities {
  if (kind === 'grpc-js-xds' || kind === 'grpc') return { ...GRPC, kind };
  if (kind === 'envoy') return { ...FULL, kind, envoy: envoyWorkloadFromNode(node, metadata) };
  return { ...FULL, kind };
}

/**
 * A key that is equal for clients that receive byte-identical resources, so that a snapshot is
 * generated and encoded once per profile rather than once per client.
 */
export function capabilityProfileKey(caps: ClientCapabilities): string {
  let key = profileKeys.get(caps);
  if (key === undefined) {
    key = computeProfileKey(caps);
    profileKeys.set(caps, key);
  }
  return key;
}

const profileKeys = new WeakMap<ClientCapabilities, string>();

function computeProfileKey(caps: ClientCapabilities): string {
  return [
    [...caps.lbPolicies].sort().join(','),
    caps.hasRedirectAndDirectResponse,
    caps.hasMirroring,
    caps.hasClientRbacFilter,
    caps.hasConsecutiveErrorOutlierDetection,
    // Envoy gets other resources than the proxyless clients of the same features
    caps.kind === 'envoy' ? `envoy\u0000${envoyWorkloadKey(caps.envoy)}` : '',
  ].join(';');
}
