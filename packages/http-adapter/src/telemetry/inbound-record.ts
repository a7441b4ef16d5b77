/**
 * What the inbound telemetry does at both ends of one served request, whatever the HTTP
 * version: start a SERVER span continuing the caller's trace (W3C or B3) and make it the
 * inbound parent of the handler's outbound requests; and when the response is done, record
 * Istio's `reporter="destination"` metrics, end the span and write the access-log line.
 *
 * The caller's identity comes from its metadata-exchange headers. A Weft client whose endpoint
 * announced `peer_exchange: connection` (see `docs/observability.md`) sends them only until its
 * first response on a connection; the peer they named is remembered per connection and stands
 * for the caller's later requests on it that carry none.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { decodePeerMetadataHeader, extractTraceContext, isLoadError, withPrincipal, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, UNKNOWN_PEER } from '@weft/core';
import type { DestinationService, MeshSpan, MeshTelemetry, PeerIdentity } from '@weft/core';

/** State of one inbound request between its start and its end. */
export interface InboundState {
  readonly startMs: number;
  readonly startTime: number;
  readonly span: MeshSpan;
  readonly source: PeerIdentity;
  readonly isMutualTls: boolean;
  /** True when the caller sent metadata-exchange headers (and so expects ours back). */
  readonly wantsPeerMetadata: boolean;
}

/** The request as the start hook sees it. */
export interface InboundRequestInfo {
  readonly method: string;
  /** Path plus query. */
  readonly url: string;
  readonly header: (name: string) => string | undefined;
  readonly socket: Socket | undefined;
}

/** The finished exchange. */
export interface InboundResponseInfo {
  readonly status: number;
  readonly responseFlags: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly protocol: string;
  readonly isGrpc: boolean;
  readonly grpcStatus: string;
  /** The AuthorizationPolicy AUDIT policy that matched the request, if any. */
  readonly auditPolicy?: string;
}

const principalBySocket = new WeakMap<object, string | undefined>();
/** The peer the last metadata-exchange headers on a connection named. */
const peerBySocket = new WeakMap<object, PeerIdentity>();

/**
 * The caller's identity from the request's `x-envoy-peer-metadata`; without one, the identity
 * the connection's earlier request introduced, else unknown.
 */
function callerOf(socket: Socket | undefined, header: string | undefined): PeerIdentity {
  if (header === undefined) return (socket !== undefined ? peerBySocket.get(socket) : undefined) ?? UNKNOWN_PEER;
  const peer = decodePeerMetadataHeader(header);
  if (socket !== undefined) peerBySocket.set(socket, peer);
  return peer;
}

/** The SPIFFE id of a verified TLS peer (cached per connection), if any. */
export function peerPrincipal(socket: Socket | undefined): string | undefined {
  if (socket === undefined || !(socket as TLSSocket).encrypted) return undefined;
  if (principalBySocket.has(socket)) return principalBySocket.get(socket);
  let principal: string | undefined;
  try {
    const san = (socket as TLSSocket).getPeerCertificate?.()?.subjectaltname;
    principal = san?.split(',').map((s) => s.trim()).find((s) => s.startsWith('URI:spiffe://'))?.slice(4);
  } catch {
    principal = undefined;
  }
  principalBySocket.set(socket, principal);
  return principal;
}

/** Starts the server span and returns the request's state (see the module comment). */
export function startInbound(telemetry: MeshTelemetry, req: InboundRequestInfo): InboundState {
  const tracer = telemetry.tracer;
  const parent = extractTraceContext(req.header);
  const q = req.url.indexOf('?');
  const span = tracer.startServerSpan(
    req.method,
    {
      'http.request.method': req.method,
      'url.path': q < 0 ? req.url : req.url.slice(0, q),
      'url.scheme': (req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http',
      'server.address': req.header('host') ?? req.header(':authority') ?? '',
      'client.address': req.socket?.remoteAddress ?? '',
      'user_agent.original': req.header('user-agent') ?? '',
    },
    parent,
  );
  tracer.enterInbound(span, req.header('baggage'));
  const peerHeader = req.header(PEER_METADATA_HEADER);
  const principal = peerPrincipal(req.socket);
  return {
    startMs: performance.now(),
    startTime: Date.now(),
    span,
    source: withPrincipal(callerOf(req.socket, peerHeader), principal),
    isMutualTls: principal !== undefined,
    wantsPeerMetadata: peerHeader !== undefined || req.header(PEER_METADATA_ID_HEADER) !== undefined,
  };
}

/** Records the finished request (see the module comment). */
export function finishInbound(telemetry: MeshTelemetry, service: DestinationService, state: InboundState, req: InboundRequestInfo, res: InboundResponseInfo): void {
  const durationMs = performance.now() - state.startMs;
  telemetry.metrics.record({
    reporter: 'destination',
    source: state.source,
    destination: telemetry.local,
    service,
    protocol: res.isGrpc ? 'grpc' : 'http',
    responseCode: res.status,
    grpcStatus: res.grpcStatus,
    responseFlags: res.responseFlags,
    securityPolicy: state.isMutualTls ? 'mutual_tls' : 'none',
    durationMs,
    requestBytes: res.requestBytes,
    responseBytes: res.responseBytes,
  });
  telemetry.tracer.endSpan(state.span, { 'http.response.status_code': res.status }, isLoadError(res.status) ? { type: String(res.status) } : undefined);
  const log = telemetry.accessLog;
  if (log === undefined) return;
  const socket = req.socket;
  log.write({
    start_time: new Date(state.startTime).toISOString(),
    method: req.method,
    path: req.url,
    protocol: res.protocol,
    response_code: res.status,
    response_flags: res.responseFlags,
    bytes_received: res.requestBytes,
    bytes_sent: res.responseBytes,
    duration: Math.round(durationMs),
    upstream_service_time: null,
    x_forwarded_for: req.header('x-forwarded-for') ?? null,
    user_agent: req.header('user-agent') ?? null,
    request_id: req.header('x-request-id') ?? null,
    authority: req.header('host') ?? req.header(':authority') ?? null,
    upstream_host: socket?.localAddress === undefined ? null : `${socket.localAddress}:${socket.localPort}`,
    upstream_cluster: `inbound|${socket?.localPort ?? ''}||`,
    upstream_local_address: null,
    downstream_remote_address: socket?.remoteAddress === undefined ? null : `${socket.remoteAddress}:${socket.remotePort}`,
    route_name: null,
    trace_id: state.span.traceId,
    grpc_status: res.grpcStatus === '' ? null : res.grpcStatus,
    ...(res.auditPolicy !== undefined ? { audit_policy: res.auditPolicy } : {}),
  });
}
