/**
 * Server-side telemetry for `node:http` servers, through Node's own diagnostics channels
 * (`http.server.request.start`, `http.server.response.finish`) — no server wrapping, so it
 * sees every request the process serves, whoever created the server. Per inbound request:
 *
 * - a SERVER span, child of the caller's `traceparent` (or B3 single/multi headers), made the
 *   parent of every outbound request the handler makes (see core's `MeshTracer.enterInbound`);
 * - Istio's metadata exchange: a caller that sent `x-envoy-peer-metadata` gets this
 *   workload's own in the response (as Envoy's inbound sidecar answers), and the caller's
 *   identity labels the metrics;
 * - `reporter="destination"` Istio metrics, and an access-log line.
 *
 * Servers marked `UNMESHED_SERVER` (the admin server) are skipped; `ports` narrows it to the
 * workload's served ports. `stop()` unsubscribes and is idempotent.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  decodePeerMetadataHeader,
  destinationServiceOf,
  extractTraceContext,
  isLoadError,
  withPrincipal,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  UNMESHED_SERVER,
} from '@weft/core';
import type { DestinationService, MeshSpan, MeshTelemetry, PeerIdentity } from '@weft/core';

/** Options of {@link startInboundTelemetry}. */
export interface InboundTelemetryOptions {
  /** Local ports whose requests are recorded; default every port except unmeshed servers. */
  readonly ports?: readonly number[];
  /**
   * The `destination_service` of inbound requests (FQDN); default
   * `<app>.<namespace>.svc.cluster.local` of the local workload.
   */
  readonly serviceHost?: string;
}

/** A started inbound telemetry subscription. */
export interface InboundTelemetryHandle {
  stop(): void;
}

interface InboundState {
  readonly startMs: number;
  readonly startTime: number;
  readonly span: MeshSpan;
  readonly source: PeerIdentity;
  readonly isMutualTls: boolean;
  readonly bytesWrittenAtStart: number;
}

const STATE = Symbol('weft.inboundTelemetry');
const principalBySocket = new WeakMap<object, string | undefined>();

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

function peerPrincipal(socket: Socket): string | undefined {
  if (!(socket as TLSSocket).encrypted) return undefined;
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

/** Subscribes to the diagnostics channels; see the module comment. */
export function startInboundTelemetry(telemetry: MeshTelemetry, options: InboundTelemetryOptions = {}): InboundTelemetryHandle {
  const ports = options.ports === undefined ? undefined : new Set(options.ports);
  const local = telemetry.local;
  const service: DestinationService = destinationServiceOf(options.serviceHost ?? (local.app !== 'unknown' ? `${local.app}.${local.namespace}.svc.cluster.local` : undefined));
  const tracer = telemetry.tracer;

  const onStart = (message: unknown): void => {
    const { request, response, socket, server } = message as { request: IncomingMessage; response: ServerResponse; socket: Socket; server: object };
    if ((server as Record<symbol, unknown>)[UNMESHED_SERVER] === true) return;
    if (ports !== undefined && !ports.has(socket.localPort ?? -1)) return;
    const parent = extractTraceContext((name) => header(request, name));
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const span = tracer.startServerSpan(
      method,
      {
        'http.request.method': method,
        'url.path': q < 0 ? url : url.slice(0, q),
        'url.scheme': (socket as TLSSocket).encrypted ? 'https' : 'http',
        'server.address': header(request, 'host') ?? '',
        'client.address': socket.remoteAddress ?? '',
        'user_agent.original': header(request, 'user-agent') ?? '',
      },
      parent,
    );
    tracer.enterInbound(span, header(request, 'baggage'));
    const peerHeader = header(request, PEER_METADATA_HEADER);
    if (peerHeader !== undefined || header(request, PEER_METADATA_ID_HEADER) !== undefined) {
      if (!response.headersSent) {
        response.setHeader(PEER_METADATA_HEADER, telemetry.peerMetadataHeader);
        response.setHeader(PEER_METADATA_ID_HEADER, telemetry.peerMetadataId);
      }
    }
    const principal = peerPrincipal(socket);
    const state: InboundState = {
      startMs: performance.now(),
      startTime: Date.now(),
      span,
      source: withPrincipal(decodePeerMetadataHeader(peerHeader), principal),
      isMutualTls: principal !== undefined,
      bytesWrittenAtStart: socket.bytesWritten ?? 0,
    };
    (request as unknown as Record<symbol, InboundState>)[STATE] = state;
  };

  const onFinish = (message: unknown): void => {
    const { request, response, socket } = message as { request: IncomingMessage; response: ServerResponse; socket: Socket };
    const state = (request as unknown as Record<symbol, InboundState | undefined>)[STATE];
    if (state === undefined) return;
    (request as unknown as Record<symbol, InboundState | undefined>)[STATE] = undefined;
    const durationMs = performance.now() - state.startMs;
    const status = response.statusCode;
    const flagsHeader = response.getHeader('x-weft-response-flags');
    const flags = typeof flagsHeader === 'string' && flagsHeader !== '' ? flagsHeader : '-';
    const contentType = header(request, 'content-type') ?? '';
    const isGrpc = contentType.startsWith('application/grpc');
    const resLength = Number(response.getHeader('content-length'));
    const responseBytes = Number.isFinite(resLength) ? resLength : Math.max(0, (socket?.bytesWritten ?? 0) - state.bytesWrittenAtStart);
    const reqLength = Number(header(request, 'content-length'));
    const requestBytes = Number.isFinite(reqLength) ? reqLength : 0;
    const grpcStatus = isGrpc ? String(response.getHeader('grpc-status') ?? '') : '';
    telemetry.metrics.record({
      reporter: 'destination',
      source: state.source,
      destination: local,
      service,
      protocol: isGrpc ? 'grpc' : 'http',
      responseCode: status,
      grpcStatus,
      responseFlags: flags,
      securityPolicy: state.isMutualTls ? 'mutual_tls' : 'none',
      durationMs,
      requestBytes,
      responseBytes,
    });
    tracer.endSpan(state.span, { 'http.response.status_code': status }, isLoadError(status) ? { type: String(status) } : undefined);
    const log = telemetry.accessLog;
    if (log !== undefined) {
      log.write({
        start_time: new Date(state.startTime).toISOString(),
        method: request.method ?? null,
        path: request.url ?? null,
        protocol: `HTTP/${request.httpVersion}`,
        response_code: status,
        response_flags: flags,
        bytes_received: requestBytes,
        bytes_sent: responseBytes,
        duration: Math.round(durationMs),
        upstream_service_time: null,
        x_forwarded_for: header(request, 'x-forwarded-for') ?? null,
        user_agent: header(request, 'user-agent') ?? null,
        request_id: header(request, 'x-request-id') ?? null,
        authority: header(request, 'host') ?? null,
        upstream_host: socket?.localAddress === undefined ? null : `${socket.localAddress}:${socket.localPort}`,
        upstream_cluster: `inbound|${socket?.localPort ?? ''}||`,
        upstream_local_address: null,
        downstream_remote_address: socket?.remoteAddress === undefined ? null : `${socket.remoteAddress}:${socket.remotePort}`,
        route_name: null,
        trace_id: state.span.traceId,
        grpc_status: grpcStatus === '' ? null : grpcStatus,
      });
    }
  };

  subscribe('http.server.request.start', onStart);
  subscribe('http.server.response.finish', onFinish);
  let isStopped = false;
  return {
    stop() {
      if (isStopped) return;
      isStopped = true;
      unsubscribe('http.server.request.start', onStart);
      unsubscribe('http.server.response.finish', onFinish);
    },
  };
}
