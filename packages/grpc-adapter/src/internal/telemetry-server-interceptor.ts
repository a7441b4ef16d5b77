/**
 * Server-side telemetry of a grpc-js server as a grpc-js server interceptor (the documented
 * `interceptors` server option): per call a SERVER span, child of the caller's `traceparent`
 * (or B3), made the inbound parent of the outbound calls the handler makes; the metadata
 * exchange (a caller that sent `x-envoy-peer-metadata` gets this workload's in the response
 * headers); and on the final status, Istio's `reporter="destination"` metrics with
 * `request_protocol="grpc"` and message counts, plus an access-log line.
 */
import { ServerInterceptingCall } from '@grpc/grpc-js';
import type { Metadata, ServerInterceptingCallInterface, ServerInterceptor, StatusObject } from '@grpc/grpc-js';
import { decodePeerMetadataHeader, destinationServiceOf, extractTraceContext, isLoadError, withPrincipal, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@weft/core';
import type { DestinationService, MeshSpan, MeshTelemetry, PeerIdentity } from '@weft/core';
import { auditedBy } from './audit-marks.ts';

/** Options of {@link createTelemetryServerInterceptor}. */
export interface TelemetryServerInterceptorOptions {
  /** `destination_service` (FQDN); default `<app>.<namespace>.svc.cluster.local` of the local workload. */
  readonly serviceHost?: string;
}

function first(m: Metadata, key: string): string | undefined {
  const v = m.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

function principalOf(call: ServerInterceptingCallInterface): string | undefined {
  try {
    const san = call.getAuthContext().sslPeerCertificate?.subjectaltname;
    return san?.split(',').map((s) => s.trim()).find((s) => s.startsWith('URI:spiffe://'))?.slice(4);
  } catch {
    return undefined;
  }
}

/** Creates the interceptor; see the module comment. */
export function createTelemetryServerInterceptor(telemetry: MeshTelemetry, options: TelemetryServerInterceptorOptions = {}): ServerInterceptor {
  const local = telemetry.local;
  const service: DestinationService = destinationServiceOf(options.serviceHost ?? (local.app !== 'unknown' ? `${local.app}.${local.namespace}.svc.cluster.local` : undefined));
  const tracer = telemetry.tracer;
  return (method, call) => {
    const path = method.path;
    let span: MeshSpan | undefined;
    let baggage: string | undefined;
    let source: PeerIdentity | undefined;
    let isMutualTls = false;
    let wantsPeerMetadata = false;
    let received: Metadata | undefined;
    let requestMessages = 0;
    let responseMessages = 0;
    const startMs = performance.now();
    const startTime = Date.now();
    let isDone = false;
    const enter = (): void => {
      if (span !== undefined) tracer.enterInbound(span, baggage);
    };
    const finish = (code: number, details: string | undefined): void => {
      if (isDone) return;
      isDone = true;
      const durationMs = performance.now() - startMs;
      const flagMatch = /\(([A-Z]{2,4})\)/.exec(details ?? '');
      const flags = flagMatch?.[1] ?? '-';
      telemetry.metrics.record({
        reporter: 'destination',
        source: source ?? decodePeerMetadataHeader(undefined),
        destination: local,
        service,
        protocol: 'grpc',
        responseCode: 200,
        grpcStatus: String(code),
        responseFlags: flags,
        securityPolicy: isMutualTls ? 'mutual_tls' : 'none',
        durationMs,
        requestBytes: 0,
        responseBytes: 0,
        requestMessages,
        responseMessages,
      });
      if (span !== undefined) tracer.endSpan(span, { 'rpc.grpc.status_code': code }, isLoadError(200, code) ? { type: String(code), message: details } : undefined);
      const info = call.getConnectionInfo();
      const audit = auditedBy(received);
      telemetry.accessLog?.write({
        start_time: new Date(startTime).toISOString(),
        method: 'POST',
        path,
        protocol: 'HTTP/2',
        response_code: 200,
        response_flags: flags,
        bytes_received: 0,
        bytes_sent: 0,
        duration: Math.round(durationMs),
        upstream_service_time: null,
        x_forwarded_for: null,
        user_agent: null,
        request_id: null,
        authority: call.getHost(),
        upstream_host: info.localAddress === undefined ? null : `${info.localAddress}:${info.localPort}`,
        upstream_cluster: `inbound|${info.localPort ?? ''}||`,
        upstream_local_address: null,
        downstream_remote_address: info.remoteAddress === undefined ? null : `${info.remoteAddress}:${info.remotePort}`,
        route_name: null,
        trace_id: span?.traceId ?? null,
        grpc_status: String(code),
        ...(audit !== undefined ? { audit_policy: audit } : {}),
      });
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            received = metadata;
            const parent = extractTraceContext((name) => first(metadata, name));
            const name = path.startsWith('/') ? path.slice(1) : path;
            const slash = name.lastIndexOf('/');
            span = tracer.startServerSpan(
              name,
              { 'rpc.system': 'grpc', 'rpc.service': slash < 0 ? name : name.slice(0, slash), 'rpc.method': slash < 0 ? '' : name.slice(slash + 1), 'server.address': call.getHost() },
              parent,
            );
            baggage = first(metadata, 'baggage');
            const peerHeader = first(metadata, PEER_METADATA_HEADER);
            wantsPeerMetadata = peerHeader !== undefined || first(metadata, PEER_METADATA_ID_HEADER) !== undefined;
            const principal = principalOf(call);
            isMutualTls = principal !== undefined;
            source = withPrincipal(decodePeerMetadataHeader(peerHeader), principal);
            enter();
            mdNext(metadata);
          },
          onReceiveMessage(message, msgNext) {
            requestMessages++;
            enter();
            msgNext(message);
          },
          onReceiveHalfClose(hcNext) {
            enter();
            hcNext();
          },
          onCancel() {
            finish(1, 'cancelled by the client');
          },
        });
      },
      sendMetadata(metadata, mdNext) {
        if (wantsPeerMetadata) {
          metadata.set(PEER_METADATA_HEADER, telemetry.peerMetadataHeader);
          metadata.set(PEER_METADATA_ID_HEADER, telemetry.peerMetadataId);
        }
        mdNext(metadata);
      },
      sendMessage(message, msgNext) {
        responseMessages++;
        msgNext(message);
      },
      sendStatus(status, statusNext) {
        finish(status.code ?? 0, (status as Partial<StatusObject>).details);
        statusNext(status);
      },
    });
  };
}
