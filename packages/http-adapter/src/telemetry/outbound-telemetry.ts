/**
 * Client-side telemetry of one outgoing request, started by the routing stage (the first stage
 * every request of the application meets, as Envoy's HTTP connection manager does routing and
 * stats in one place): a CLIENT span (the `traceparent` the endpoint stage sends continues it),
 * and when the response ends — or fails — Istio's `reporter="source"` metrics, the span's end
 * and the access-log line. What happened inside (route, cluster, chosen endpoint, upstream
 * timing) is left by the inner stages in the {@link OutboundRecord}, which the mesh context
 * carries (`ctx.record`).
 *
 * Per-request cost: one span start (a no-op object without an SDK), a pooled id, the
 * handler (which is the record too), and at the end one cached metric series lookup. Nothing
 * is parsed unless the access log is on or the endpoint's identity is unknown.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { destinationServiceOf, peerFromEndpointMetadata, decodePeerMetadataHeader, UNKNOWN_PEER, PEER_METADATA_HEADER, isLoadError } from '@weft/core';
import type { MeshSpan, MeshTelemetry, PeerIdentity } from '@weft/core';
import { isMeshError } from '@weft/xds-client';
import { ForwardingHandler } from '../internal/forwarding-handler.ts';
import { LazyHeaders } from '../internal/lazy-headers.ts';
import { normalizeHeaders } from '../internal/headers.ts';
import { RESPONSE_FLAGS_HEADER } from '../internal/local-reply.ts';
import { parseOrigin } from '../internal/origin.ts';
import type { MeshRequestContext, OutboundRecord } from '../internal/request-context.ts';
import type { EndpointView } from '../mesh-view.ts';

type Controller = Dispatcher.DispatchController;

const RESPONSE_CODE_OF_FLAG: Readonly<Record<string, number>> = { UO: 503, UH: 503, RL: 429, NR: 404, UT: 504, URX: 503, UF: 503, DI: 0, FI: 503 };

function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}

/**
 * Starts the telemetry of a request the application made: its client span, and the handler
 * that observes the response (hand it on in place of `handler`; it is the request's record).
 */
export function startOutboundTelemetry(telemetry: MeshTelemetry, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, authority: string | undefined): TelemetryHandler {
  const span = telemetry.tracer.startClientSpan(opts.method ?? 'GET', clientSpanAttributes, opts);
  return new TelemetryHandler(handler, telemetry, span, opts, authority);
}

/** The client span's start attributes (built only when an OpenTelemetry SDK records them). */
function clientSpanAttributes(opts: Dispatcher.DispatchOptions): Record<string, string | number> {
  const origin = parseOrigin(opts.origin);
  return {
    'http.request.method': opts.method ?? 'GET',
    'server.address': origin?.hostname ?? '',
    'server.port': origin?.port ?? 0,
    'url.full': `${origin === null ? String(opts.origin ?? '') : `${origin.scheme}//${origin.authority}`}${opts.path}`,
  };
}

/** Observes one request's response for telemetry; it is also the request's {@link OutboundRecord}. */
export class TelemetryHandler extends ForwardingHandler implements OutboundRecord {
  readonly span: MeshSpan;
  ctx: MeshRequestContext | undefined = undefined;
  endpoint: EndpointView | undefined = undefined;
  upstreamStartMs = 0;
  upstreamServiceMs: number | undefined = undefined;
  isHttp2 = false;
  readonly #telemetry: MeshTelemetry;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #authority: string | undefined;
  readonly #startMs = performance.now();
  #status = 0;
  #flags = '-';
  #responseBytes = 0;
  #peer: PeerIdentity | undefined;
  #isDone = false;

  constructor(inner: Dispatcher.DispatchHandler, telemetry: MeshTelemetry, span: MeshSpan, opts: Dispatcher.DispatchOptions, authority: string | undefined) {
    super(inner);
    this.span = span;
    this.#telemetry = telemetry;
    this.#opts = opts;
    this.#authority = authority;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode >= 200) {
      this.#status = statusCode;
      if (!((headers as unknown) instanceof LazyHeaders)) {
        const f = headers[RESPONSE_FLAGS_HEADER];
        if (typeof f === 'string' && f !== '') this.#flags = f;
      }
      if (this.endpoint === undefined || !hasIstioMetadata(this.endpoint)) {
        const v = (headers as unknown) instanceof LazyHeaders ? rawHeader(headers as unknown as LazyHeaders, PEER_METADATA_HEADER) : headers[PEER_METADATA_HEADER];
        if (typeof v === 'string') this.#peer = decodePeerMetadataHeader(v);
      }
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    this.#responseBytes += chunk.length;
    super.onResponseData(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#finish(undefined);
    super.onResponseEnd(controller, trailers);
  }

  override onResponseError(controller: Controller, error: Error): void {
    this.#finish(error);
    super.onResponseError(controller, error);
  }

  #finish(error: Error | undefined): void {
    if (this.#isDone) return;
    this.#isDone = true;
    const t = this.#telemetry;
    const durationMs = performance.now() - this.#startMs;
    let status = this.#status;
    let flags = this.#flags;
    if (error !== undefined) {
      const flag = isMeshError(error) ? error.responseFlag : undefined;
      if (flag !== undefined) {
        flags = flag;
        status = RESPONSE_CODE_OF_FLAG[flag] ?? 0;
      } else if (status === 0 && flags === '-') flags = 'UF';
    }
    const ctx = this.ctx;
    const cluster = ctx?.clusterName;
    if (cluster !== undefined && cluster !== '' && (flags === 'RL' || flags.startsWith('RL,'))) t.loadStats.recordDrop(cluster, 'rate_limit');
    const endpoint = this.endpoint;
    const destination = endpoint !== undefined && hasIstioMetadata(endpoint) ? peerFromEndpointMetadata(endpoint.metadata) : (this.#peer ?? UNKNOWN_PEER);
    const service = destinationServiceOf(cluster !== undefined && cluster !== '' ? cluster : (ctx?.authority ?? this.#authority));
    const requestBytes = bodyBytes(this.#opts.body);
    t.metrics.record({
      reporter: 'source',
      source: t.local,
      destination,
      service,
      protocol: 'http',
      responseCode: status,
      grpcStatus: '',
      responseFlags: flags,
      securityPolicy: 'unknown',
      durationMs,
      requestBytes,
      responseBytes: this.#responseBytes,
    });
    const span = this.span;
    // A span nobody records (no OpenTelemetry SDK, or not sampled) gets no attribute object built.
    if (span.span.isRecording()) {
      t.tracer.endSpan(
        span,
        {
          'http.response.status_code': status,
          ...(endpoint === undefined ? {} : { 'network.peer.address': endpoint.address, 'network.peer.port': endpoint.port }),
          ...(cluster === undefined ? {} : { 'upstream_cluster': cluster }),
          ...(flags === '-' ? {} : { response_flags: flags }),
        },
        error !== undefined ? { type: isMeshError(error) ? error.code : error.name, message: error.message } : isLoadError(status) ? { type: String(status) } : undefined,
      );
    }
    const log = t.accessLog;
    if (log !== undefined) {
      const h = normalizeHeaders(this.#opts.headers);
      const first = (k: string): string | null => {
        const v = h[k];
        return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
      };
      log.write({
        start_time: new Date(Date.now() - durationMs).toISOString(),
        method: this.#opts.method ?? null,
        path: this.#opts.path ?? null,
        protocol: this.isHttp2 ? 'HTTP/2' : 'HTTP/1.1',
        response_code: status,
        response_flags: flags,
        bytes_received: requestBytes,
        bytes_sent: this.#responseBytes,
        duration: Math.round(durationMs),
        upstream_service_time: this.upstreamServiceMs === undefined ? null : Math.round(this.upstreamServiceMs),
        x_forwarded_for: first('x-forwarded-for'),
        user_agent: first('user-agent'),
        request_id: first('x-request-id'),
        authority: ctx?.authority ?? this.#authority ?? null,
        upstream_host: endpoint?.key ?? null,
        upstream_cluster: cluster === undefined || cluster === '' ? (ctx === undefined ? 'PassthroughCluster' : null) : cluster,
        upstream_local_address: null,
        downstream_remote_address: null,
        route_name: ctx?.route.spec.name || null,
        trace_id: span.traceId,
        grpc_status: null,
      });
    }
  }
}

/** One header of raw response headers, found without parsing the others (names compared by length first). */
function rawHeader(lazy: LazyHeaders, name: string): string | undefined {
  const raw = lazy.raw;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === name.length && k.toString('latin1').toLowerCase() === name) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

function hasIstioMetadata(endpoint: EndpointView): boolean {
  return endpoint.metadata?.['istio'] !== undefined;
}
