/**
 * The inbound (server-side) policy of one served port, compiled from its xDS listener
 * (gRFC A36 server listener, as istiod builds it from PeerAuthentication, AuthorizationPolicy
 * and the inbound rate limit):
 *
 * - filter chains with a DownstreamTlsContext are the TLS chains, the others plaintext; with both
 *   the port is PERMISSIVE (the server sniffs the ClientHello), with only TLS STRICT (plaintext
 *   connections are reset), with only plaintext DISABLE;
 * - each chain carries its RBAC filters (compiled, see `rbac-engine.ts`) and its inbound local
 *   rate limit config.
 *
 * Compiled once per update; adapters pick a chain per connection (`chainFor`) and call the
 * chain's `authorize` per request.
 */
import type { DownstreamTls, FilterChain, HttpFilter, Listener, LocalRateLimitFilterConfig } from '@weft/xds-client';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { compileRbacChain, type RbacChain } from './rbac-engine.ts';

/** PeerAuthentication modes, as the listener expresses them. */
export type InboundTlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** One usable filter chain. */
export interface InboundChain {
  readonly name: string;
  /** The server TLS of this chain; absent on plaintext chains. */
  readonly tls: DownstreamTls | undefined;
  /** True when a client certificate is required (mTLS). */
  readonly isClientCertRequired: boolean;
  readonly rbac: RbacChain;
  /** The inbound local rate limit of the chain, if configured. */
  readonly localRateLimit: LocalRateLimitFilterConfig | undefined;
  /** The chain's HTTP filters as decoded (for adapters that apply fault/rate-limit filters themselves). */
  readonly httpFilters: readonly HttpFilter[];
}

/** See the module comment. */
export interface InboundPolicy {
  /** The listener resource name this came from (`''` for a built-in default). */
  readonly listenerName: string;
  readonly mode: InboundTlsMode;
  /** The chain a TLS connection uses; undefined under DISABLE. */
  readonly tlsChain: InboundChain | undefined;
  /** The chain a plaintext connection uses; undefined under STRICT (reset the connection). */
  readonly plaintextChain: InboundChain | undefined;
}

function compileChain(chain: FilterChain): InboundChain {
  const hcm = chain.httpConnectionManager;
  const rbacFilters: { name: string; rbac: import('@weft/xds-client').RbacFilterConfig }[] = [];
  let localRateLimit: LocalRateLimitFilterConfig | undefined;
  for (const f of hcm.httpFilters) {
    if (f.config.type === 'rbac') rbacFilters.push({ name: f.name, rbac: f.config.rbac });
    else if (f.config.type === 'localRateLimit' && localRateLimit === undefined) localRateLimit = f.config.localRateLimit;
  }
  return Object.freeze({
    name: chain.name,
    tls: chain.tls,
    isClientCertRequired: chain.tls?.requireClientCertificate === true,
    rbac: compileRbacChain(rbacFilters),
    localRateLimit,
    httpFilters: hcm.httpFilters,
  });
}

/**
 * Compiles a server listener for `port`. Throws `WEFT_ERR_XDS_INVALID` when it is not a server
 * listener, has no chain for either transport, or holds an invalid regex/CIDR.
 */
export function compileInboundPolicy(listener: Listener, port: number): InboundPolicy {
  if (listener.address === undefined) {
    throw new MeshError(ErrorCode.xdsInvalid, `listener ${listener.name} is not a server listener (no address)`, { details: { listener: listener.name } });
  }
  let tlsChain: FilterChain | undefined;
  let plainChain: FilterChain | undefined;
  for (const c of listener.filterChains) {
    if (c.match.destinationPort !== undefined && c.match.destinationPort !== port) continue;
    const proto = c.match.transportProtocol;
    if (c.tls !== undefined && (proto === '' || proto === 'tls')) tlsChain ??= c;
    else if (c.tls === undefined && (proto === '' || proto === 'raw_buffer')) plainChain ??= c;
  }
  const fallback = listener.defaultFilterChain;
  if (fallback !== undefined) {
    if (fallback.tls !== undefined) tlsChain ??= fallback;
    else plainChain ??= fallback;
  }
  if (tlsChain === undefined && plainChain === undefined) {
    throw new MeshError(ErrorCode.xdsInvalid, `listener ${listener.name} has no filter chain for port ${port}`, { details: { listener: listener.name, port } });
  }
  const mode: InboundTlsMode = tlsChain && plainChain ? 'PERMISSIVE' : tlsChain ? 'STRICT' : 'DISABLE';
  return Object.freeze({
    listenerName: listener.name,
    mode,
    tlsChain: tlsChain && compileChain(tlsChain),
    plaintextChain: plainChain && compileChain(plainChain),
  });
}

const MESH_TLS: DownstreamTls = Object.freeze<DownstreamTls>({
  identity: { type: 'certificateProvider', instanceName: 'default', certificateName: 'default' },
  validation: { type: 'certificateProvider', instanceName: 'default', certificateName: 'ROOTCA' },
  requireClientCertificate: true,
});

/**
 * The policy a port has before its first inbound listener arrives: with `mode` PERMISSIVE,
 * mTLS (workload identity, client certificate required) and plaintext are both accepted and
 * nothing is authorized away; DISABLE accepts plaintext only.
 */
export function defaultInboundPolicy(mode: 'PERMISSIVE' | 'DISABLE'): InboundPolicy {
  const rbac = compileRbacChain([]);
  const plaintextChain: InboundChain = Object.freeze({ name: 'default-plaintext', tls: undefined, isClientCertRequired: false, rbac, localRateLimit: undefined, httpFilters: [] });
  const tlsChain: InboundChain = Object.freeze({ name: 'default-mtls', tls: MESH_TLS, isClientCertRequired: true, rbac, localRateLimit: undefined, httpFilters: [] });
  return Object.freeze({ listenerName: '', mode, tlsChain: mode === 'PERMISSIVE' ? tlsChain : undefined, plaintextChain });
}

/** The MeshError logged when a plaintext connection is reset under STRICT. */
export function createMtlsRequiredError(port: number, peer: string | undefined): MeshError {
  return new MeshError(ErrorCode.mtlsRequired, `plaintext connection from ${peer ?? 'unknown peer'} to port ${port} refused: PeerAuthentication is STRICT (mTLS required)`, {
    details: { port, peer },
  });
}
