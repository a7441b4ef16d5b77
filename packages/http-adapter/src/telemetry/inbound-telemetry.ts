/**
 * Server-side telemetry for `node:http` and `node:http2` servers, through Node's own
 * diagnostics channels (`http.server.request.start` / `http.server.response.finish`,
 * `http2.server.stream.start` / `http2.server.stream.finish`) — no server wrapping, so it sees
 * every request the process serves, whoever created the server. Per inbound request:
 *
 * - a SERVER span, child of the caller's `traceparent` (or B3 single/multi headers), made the
 *   parent of every outbound request the handler makes (see core's `MeshTracer.enterInbound`);
 * - Istio's metadata exchange: a caller that sent `x-envoy-peer-metadata` gets this workload's
 *   own in the response (as Envoy's inbound sidecar answers) — HTTP/1 through the response's
 *   headers, HTTP/2 in the stream's response HEADERS frame (see `h2-peer-metadata.ts`) — and
 *   the caller's identity labels the metrics;
 * - `reporter="destination"` Istio metrics, and an access-log line.
 *
 * gRPC streams on HTTP/2 are left to the grpc-js server interceptor (`@weft/grpc-adapter`),
 * which sees gRPC statuses and messages. Servers marked `UNMESHED_SERVER` (the admin server) are
 * skipped; `ports` narrows it to the workload's served ports. `stop()` unsubscribes; idempotent.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { destinationServiceOf, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, UNMESHED_SERVER } from '@weft/core';
import type { DestinationService, MeshTelemetry } from '@weft/core';
import { finishInbound, startInbound } from './inbound-record.ts';
import type { InboundRequestInfo, InboundState } from './inbound-record.ts';
import { auditedBy } from '../internal/audit-marks.ts';
import { answerPeerMetadata } from './h2-peer-metadata.ts';

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

const STATE = Symbol('weft.inboundTelemetry');
type WithState = { [STATE]?: { state: InboundState; info: InboundRequestInfo; bytesWrittenAtStart: number } };

function headerOf(headers: IncomingHttpHeaders): (name: string) => string | undefined {
  return (name) => {
    const v = headers[name];
    return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
  };
}

function isUnmeshed(server: unknown): boolean {
  return (server as Record<symbol, unknown> | undefined)?.[UNMESHED_SERVER] === true;
}

/** Subscribes to the diagnostics channels; see the module comment. */
export function startInboundTelemetry(telemetry: MeshTelemetry, options: InboundTelemetryOptions = {}): InboundTelemetryHandle {
  const ports = options.ports === undefined ? undefined : new Set(options.ports);
  const local = telemetry.local;
  const service: DestinationService = destinationServiceOf(options.serviceHost ?? (local.app !== 'unknown' ? `${local.app}.${local.namespace}.svc.cluster.local` : undefined));
  const isWatched = (socket: Socket | undefined): boolean => ports === undefined || ports.has(socket?.localPort ?? -1);

  const onStart = (message: unknown): void => {
    const { request, response, socket, server } = message as { request: IncomingMessage; response: ServerResponse; socket: Socket; server: object };
    if (isUnmeshed(server) || !isWatched(socket)) return;
    const info: InboundRequestInfo = { method: request.method ?? 'GET', url: request.url ?? '/', header: headerOf(request.headers), socket };
    const state = startInbound(telemetry, info);
    if (state.wantsPeerMetadata && !response.headersSent) {
      response.setHeader(PEER_METADATA_HEADER, telemetry.peerMetadataHeader);
      response.setHeader(PEER_METADATA_ID_HEADER, telemetry.peerMetadataId);
    }
    (request as unknown as WithState)[STATE] = { state, info, bytesWrittenAtStart: socket.bytesWritten ?? 0 };
  };

  const onFinish = (message: unknown): void => {
    const { request, response, socket } = message as { request: IncomingMessage; response: ServerResponse; socket: Socket };
    const entry = (request as unknown as WithState)[STATE];
    if (entry === undefined) return;
    (request as unknown as WithState)[STATE] = undefined;
    const flagsHeader = response.getHeader('x-weft-response-flags');
    const resLength = Number(response.getHeader('content-length'));
    const reqLength = Number(entry.info.header('content-length'));
    const isGrpc = (entry.info.header('content-type') ?? '').startsWith('application/grpc');
    finishInbound(telemetry, service, entry.state, entry.info, {
      status: response.statusCode,
      responseFlags: typeof flagsHeader === 'string' && flagsHeader !== '' ? flagsHeader : '-',
      requestBytes: Number.isFinite(reqLength) ? reqLength : 0,
      // Without a content-length (chunked), what the connection wrote for this response.
      responseBytes: Number.isFinite(resLength) ? resLength : Math.max(0, (socket?.bytesWritten ?? 0) - entry.bytesWrittenAtStart),
      protocol: `HTTP/${request.httpVersion}`,
      isGrpc,
      grpcStatus: isGrpc ? String(response.getHeader('grpc-status') ?? '') : '',
      auditPolicy: auditedBy(request),
    });
  };

  const onH2Start = (message: unknown): void => {
    const { stream, headers } = message as { stream: ServerHttp2Stream; headers: IncomingHttpHeaders };
    if ((headers['content-type'] ?? '').startsWith('application/grpc')) return;
    const socket = stream.session?.socket as Socket | undefined;
    if (!isWatched(socket)) return;
    const header = headerOf(headers);
    const info: InboundRequestInfo = { method: header(':method') ?? 'GET', url: header(':path') ?? '/', header, socket };
    const state = startInbound(telemetry, info);
    if (state.wantsPeerMetadata) answerPeerMetadata(stream, telemetry.peerMetadataHeader, telemetry.peerMetadataId);
    (stream as unknown as WithState)[STATE] = { state, info, bytesWrittenAtStart: 0 };
  };

  const onH2Finish = (message: unknown): void => {
    const { stream } = message as { stream: ServerHttp2Stream };
    const entry = (stream as unknown as WithState)[STATE];
    if (entry === undefined) return;
    (stream as unknown as WithState)[STATE] = undefined;
    const sent = (stream as unknown as { sentHeaders?: Record<string, unknown> }).sentHeaders ?? {};
    const flags = sent['x-weft-response-flags'];
    const resLength = Number(sent['content-length']);
    const reqLength = Number(entry.info.header('content-length'));
    finishInbound(telemetry, service, entry.state, entry.info, {
      status: Number(sent[':status'] ?? 0),
      responseFlags: typeof flags === 'string' && flags !== '' ? flags : '-',
      requestBytes: Number.isFinite(reqLength) ? reqLength : 0,
      responseBytes: Number.isFinite(resLength) ? resLength : 0,
      protocol: 'HTTP/2',
      isGrpc: false,
      grpcStatus: '',
    });
  };

  const subscriptions: [string, (m: unknown) => void][] = [
    ['http.server.request.start', onStart],
    ['http.server.response.finish', onFinish],
    ['http2.server.stream.start', onH2Start],
    ['http2.server.stream.finish', onH2Finish],
  ];
  for (const [name, fn] of subscriptions) subscribe(name, fn);
  let isStopped = false;
  return {
    stop() {
      if (isStopped) return;
      isStopped = true;
      for (const [name, fn] of subscriptions) unsubscribe(name, fn);
    },
  };
}
