/**
 * Inbound (server) listeners for proxyless workloads (gRFC A36 xDS-enabled servers, A29 mTLS,
 * A41 RBAC), shaped as istiod sends them: the listener named as the workload asked for it
 * (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`), bound to that address, with filter chains by
 * the PeerAuthentication mode in force for the port:
 *
 * - STRICT: one chain with `envoy.transport_sockets.tls` (DownstreamTlsContext requiring a
 *   client certificate; identity and roots from certificate provider instance `default`).
 * - PERMISSIVE: a chain matching `transport_protocol: tls` with that socket, plus a plaintext
 *   chain, so the server picks by sniffing the ClientHello.
 * - DISABLE: one plaintext chain.
 *
 * Each chain holds one HttpConnectionManager with an inline route configuration (virtual host
 * `*`, prefix `/` → `non_forwarding_action`) and the HTTP filters RBAC DENY (`envoy.filters.http.rbac.deny`),
 * RBAC ALLOW (`envoy.filters.http.rbac.allow`), local
 * rate limit (each only when configured) and the router.
 */
import { TypeUrl, type AnyMessage } from '@weft/xds-client';
import type { MeshModel } from '../../model/mesh-model.ts';
import type { ClientCapabilities, Omission } from '../client-capabilities.ts';
import { buildWorkloadRbac } from './authz.ts';
import { CERT_PROVIDER_INSTANCE, IDENTITY_CERT_NAME, ROOT_CERT_NAME } from './cert-providers.ts';
import { inboundRateLimitFilter } from './local-rate-limit.ts';
import { packResource } from './pack.ts';
import { effectiveMtls, type MtlsMode } from './peer-authn.ts';
import type { GeneratedResource } from './types.ts';
import type { InboundWorkload } from './workload-selector.ts';

/**
 * Instance names of the two RBAC filters. Envoy accepts one name twice, gRPC (A39) rejects
 * duplicate names, so each filter gets its own; the type is in `typed_config`.
 */
export const RBAC_DENY_FILTER = 'envoy.filters.http.rbac.deny';
/** See {@link RBAC_DENY_FILTER}. */
export const RBAC_ALLOW_FILTER = 'envoy.filters.http.rbac.allow';
/** The AUDIT policies (RBAC action LOG), first in the chain; Weft clients only. */
export const RBAC_AUDIT_FILTER = 'envoy.filters.http.rbac.audit';
const ROUTER_FILTER = 'envoy.filters.http.router';

/** What an inbound listener is built from. */
export interface InboundListenerInput {
  model: MeshModel;
  workload: InboundWorkload;
  /** The listener name exactly as the client asked for it. */
  name: string;
  /** Address and port the server listens on (`0.0.0.0`, `::` or the workload's IP). */
  address: string;
  port: number;
  caps: ClientCapabilities;
  omit(omission: Omission): void;
}

/** The `envoy.transport_sockets.tls` socket of an mTLS server chain. */
export function downstreamMtlsSocket(): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: packResource(TypeUrl.downstreamTlsContext, {
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: CERT_PROVIDER_INSTANCE, certificate_name: IDENTITY_CERT_NAME },
        validation_context: { ca_certificate_provider_instance: { instance_name: CERT_PROVIDER_INSTANCE, certificate_name: ROOT_CERT_NAME } },
      },
    }),
  };
}

function httpFilters(input: InboundListenerInput): Record<string, unknown>[] {
  const filters: Record<string, unknown>[] = [];
  const rbac = buildWorkloadRbac(input.model, input.workload, input.name, input.omit);
  if (rbac.audit) {
    // grpc-js-xds rejects the whole listener for RBAC action LOG: only clients that apply it get it.
    if (input.caps.kind === 'grpc' || input.caps.kind === 'grpc-js-xds') {
      input.omit({ type: 'listener', resource: input.name, field: 'AuthorizationPolicy spec.action AUDIT', reason: 'gRPC clients reject RBAC action LOG; AUDIT policies are not sent to them' });
    } else {
      filters.push({ name: RBAC_AUDIT_FILTER, typed_config: packResource(TypeUrl.rbac, rbac.audit) });
    }
  }
  if (rbac.deny) filters.push({ name: RBAC_DENY_FILTER, typed_config: packResource(TypeUrl.rbac, rbac.deny) });
  if (rbac.allow) filters.push({ name: RBAC_ALLOW_FILTER, typed_config: packResource(TypeUrl.rbac, rbac.allow) });
  const isGrpc = input.caps.kind === 'grpc' || input.caps.kind === 'grpc-js-xds';
  const rateLimit = inboundRateLimitFilter(input.model, input.workload, input.name, isGrpc, input.omit);
  if (rateLimit) filters.push(rateLimit);
  filters.push({ name: ROUTER_FILTER, typed_config: packResource(TypeUrl.router, {}) });
  return filters;
}

function chain(name: string, hcm: AnyMessage, isTls: boolean, match?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    ...(match ? { filter_chain_match: match } : {}),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    ...(isTls ? { transport_socket: downstreamMtlsSocket() } : {}),
  };
}

/** Filter chains for a mode, each holding `hcm`. */
function filterChains(mode: MtlsMode, message: Record<string, unknown>): Record<string, unknown>[] {
  const hcm = packResource(TypeUrl.httpConnectionManager, message);
  if (mode === 'STRICT') return [chain('inbound-mtls', hcm, true)];
  if (mode === 'DISABLE') return [chain('inbound-plaintext', hcm, false)];
  return [chain('inbound-permissive-mtls', hcm, true, { transport_protocol: 'tls' }), chain('inbound-permissive-plaintext', hcm, false)];
}

/** Builds the inbound listener; pure apart from `omit`. */
export function buildInboundListener(input: InboundListenerInput): GeneratedResource & { mode: MtlsMode } {
  const { mode } = effectiveMtls(input.model, input.workload, input.port);
  const hcm = {
    stat_prefix: `inbound_${input.port}`,
    route_config: {
      name: `inbound|${input.port}`,
      virtual_hosts: [{ name: 'inbound|http', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }] }],
    },
    http_filters: httpFilters(input),
  };
  return {
    name: input.name,
    mode,
    message: {
      name: input.name,
      address: { socket_address: { address: input.address, port_value: input.port } },
      filter_chains: filterChains(mode, hcm),
      traffic_direction: 'INBOUND',
    },
  };
}
