/**
 * Client-side telemetry of a routed gRPC call, as the first dynamic filter of the call (the
 * ConfigSelector hook, per call, above grpc-js's retries): a CLIENT span with the RPC semantic
 * conventions whose `traceparent` (plus `tracestate`/`baggage`) and this workload's
 * metadata-exchange headers go out in the call metadata; on the final status, Istio's
 * `reporter="source"` metrics with `request_protocol="grpc"`, message counts, the span's end,
 * an access-log line and the cluster's load stats.
 */
import { experimental, Metadata } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import { decodePeerMetadataHeader, destinationServiceOf, isLoadError, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, UNKNOWN_PEER } from '@weft/core';
import type { LoadAttempt, MeshSpan, MeshTelemetry, PeerIdentity } from '@weft/core';

type FilterFactory = experimental.FilterFactory<experimental.Filter>;
type WriteObject = Parameters<experimental.Filter['sendMessage']>[0] extends Promise<infer T> ? T : never;

const FLAG_IN_DETAILS = /\(([A-Z]{2,4}(?:,[A-Z]{2,4})*)\)/;

class TelemetryClientFilter extends experimental.BaseFilter {
  readonly #telemetry: MeshTelemetry;
  readonly #cluster: string;
  readonly #path: string;
  readonly #authority: string;
  #span: MeshSpan | undefined;
  #load: LoadAttempt | undefined;
  #startMs = 0;
  #startTime = 0;
  #requestMessages = 0;
  #responseMessages = 0;
  #requestBytes = 0;
  #responseBytes = 0;
  #peer: PeerIdentity | undefined;
  #isDone = false;

  constructor(telemetry: MeshTelemetry, cluster: string, path: string, authority: string) {
    super();
    this.#telemetry = telemetry;
    this.#cluster = cluster;
    this.#path = path;
    this.#authority = authority;
  }

  override async sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    const m = await metadata;
    const t = this.#telemetry;
    this.#startMs = performance.now();
    this.#startTime = Date.now();
    const name = this.#path.startsWith('/') ? this.#path.slice(1) : this.#path;
    const slash = name.lastIndexOf('/');
    const span = t.tracer.startClientSpan(name, {
      'rpc.system': 'grpc',
      'rpc.service': slash < 0 ? name : name.slice(0, slash),
      'rpc.method': slash < 0 ? '' : name.slice(slash + 1),
      'server.address': this.#authority.replace(/:\d+$/, ''),
    });
    this.#span = span;
    this.#load = t.loadStats.startAttempt(this.#cluster, undefined, undefined);
    m.set('traceparent', span.traceparent);
    if (span.traceState !== undefined) m.set('tracestate', span.traceState);
    if (span.baggage !== undefined && m.get('baggage').length === 0) m.set('baggage', span.baggage);
    m.set(PEER_METADATA_HEADER, t.peerMetadataHeader);
    m.set(PEER_METADATA_ID_HEADER, t.peerMetadataId);
    return m;
  }

  override receiveMetadata(metadata: Metadata): Metadata {
    const v = metadata.get(PEER_METADATA_HEADER)[0];
    if (typeof v === 'string') this.#peer = decodePeerMetadataHeader(v);
    return metadata;
  }

  override async sendMessage(message: Promise<WriteObject>): Promise<WriteObject> {
    const w = await message;
    this.#requestMessages++;
    this.#requestBytes += w.message.length;
    return w;
  }

  override async receiveMessage(message: Promise<Buffer>): Promise<Buffer> {
    const b = await message;
    this.#responseMessages++;
    this.#responseBytes += b.length;
    return b;
  }

  override receiveTrailers(status: StatusObject): StatusObject {
    this.#finish(status);
    return status;
  }

  #finish(status: StatusObject): void {
    if (this.#isDone) return;
    this.#isDone = true;
    const t = this.#telemetry;
    const span = this.#span;
    const durationMs = span === undefined ? 0 : performance.now() - this.#startMs;
    const flags = FLAG_IN_DETAILS.exec(status.details ?? '')?.[1] ?? '-';
    const code = status.code;
    const isError = isLoadError(200, code);
    this.#load?.end(isError);
    if (flags === 'RL') t.loadStats.recordDrop(this.#cluster, 'rate_limit');
    t.metrics.record({
      reporter: 'source',
      source: t.local,
      destination: this.#peer ?? UNKNOWN_PEER,
      service: destinationServiceOf(this.#cluster),
      protocol: 'grpc',
      responseCode: 200,
      grpcStatus: String(code),
      responseFlags: flags,
      securityPolicy: 'unknown',
      durationMs,
      requestBytes: this.#requestBytes,
      responseBytes: this.#responseBytes,
      requestMessages: this.#requestMessages,
      responseMessages: this.#responseMessages,
    });
    if (span !== undefined) {
      t.tracer.endSpan(span, { 'rpc.grpc.status_code': code }, isError ? { type: String(code), message: status.details } : undefined);
    }
    t.accessLog?.write({
      start_time: new Date(this.#startTime || Date.now()).toISOString(),
      method: 'POST',
      path: this.#path,
      protocol: 'HTTP/2',
      response_code: 200,
      response_flags: flags,
      bytes_received: this.#requestBytes,
      bytes_sent: this.#responseBytes,
      duration: Math.round(durationMs),
      upstream_service_time: null,
      x_forwarded_for: null,
      user_agent: null,
      request_id: null,
      authority: this.#authority,
      upstream_host: null,
      upstream_cluster: this.#cluster,
      upstream_local_address: null,
      downstream_remote_address: null,
      route_name: null,
      trace_id: span?.traceId ?? null,
      grpc_status: String(code),
    });
  }
}

/** The telemetry filter factory of calls to `cluster` for `path` (memoise it per plan). */
export function telemetryClientFilterFactory(telemetry: MeshTelemetry, cluster: string, path: string, authority: string): FilterFactory {
  return { createFilter: () => new TelemetryClientFilter(telemetry, cluster, path, authority) };
}
