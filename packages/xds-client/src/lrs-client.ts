/**
 * The LRS client (`envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats`): one
 * bidirectional stream to the load-reporting server — the xDS server itself when the bootstrap
 * says `self`, over a channel with the same target, credentials and options as ADS (grpc-js
 * then shares the connection). It sends the node first, then, every `load_reporting_interval`
 * the server asked for, the cluster stats its `collect` callback returns — for the clusters
 * the server listed, or every cluster when it set `send_all_clusters`. It knows nothing about
 * what is counted (HTTP or gRPC): stats are plain `ClusterStats` objects in the proto shape.
 *
 * The stream reconnects with capped exponential backoff (and stops for good when the server
 * answers UNIMPLEMENTED: it has no LRS, as istiod); every timer is unref'd and the
 * connection's sockets are unref'd, so load reporting never keeps the process alive.
 * `close()` is idempotent.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { lrsServiceDefinition, nodeForWire } from './ads-service.ts';
import type { XdsNode } from './ads-service.ts';
import type { XdsServerConfig } from './bootstrap.ts';
import { XdsSocketTracker } from './internal/socket-unref.ts';

/** `envoy.config.endpoint.v3.UpstreamEndpointStats` (the subset Weft fills). */
export interface UpstreamEndpointStats {
  address: { socket_address: { address: string; port_value: number } };
  total_successful_requests: number;
  total_requests_in_progress: number;
  total_error_requests: number;
  total_issued_requests: number;
}

/** `envoy.config.endpoint.v3.UpstreamLocalityStats`. */
export interface UpstreamLocalityStats {
  locality?: { region?: string; zone?: string; sub_zone?: string };
  total_successful_requests: number;
  total_requests_in_progress: number;
  total_error_requests: number;
  total_issued_requests: number;
  upstream_endpoint_stats?: UpstreamEndpointStats[];
}

/** `envoy.config.endpoint.v3.ClusterStats`. */
export interface ClusterStats {
  cluster_name: string;
  cluster_service_name?: string;
  upstream_locality_stats: UpstreamLocalityStats[];
  total_dropped_requests: number;
  dropped_requests?: { category: string; dropped_count: number }[];
  /** Filled by the client from the measured interval when absent. */
  load_report_interval?: { seconds: number; nanos: number };
}

/** What the server asked for in its last `LoadStatsResponse`. */
export interface LrsRequestedClusters {
  /** Undefined when `send_all_clusters` is set. */
  readonly clusters: ReadonlySet<string> | undefined;
  /** True when the server asked for per-endpoint stats. */
  readonly isEndpointGranularity: boolean;
}

/** Options of {@link createLrsClient}. */
export interface LrsClientOptions {
  /** The LRS server: for `self`, the bootstrap's (first) xDS server. */
  readonly server: XdsServerConfig;
  /** The node (as in the bootstrap); sent on the first message of each stream. */
  readonly node: XdsNode;
  /** Returns the stats since the previous call, for the requested clusters. Must not throw. */
  collect(requested: LrsRequestedClusters): ClusterStats[];
  /** Reconnect backoff; default 1,000 ms initial, 30,000 ms cap. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Called on every report sent (diagnostics, tests). */
  onReport?(stats: readonly ClusterStats[]): void;
}

/** A running LRS client. */
export interface LrsClient {
  /** The server's current request (clusters, granularity), once it answered. */
  readonly requested: LrsRequestedClusters | undefined;
  /** Reporting interval the server asked for, in ms (undefined before its first response). */
  readonly intervalMs: number | undefined;
  /** True once the server answered UNIMPLEMENTED (it has no LRS); reporting has stopped. */
  readonly isUnsupported: boolean;
  /** Ends the stream and every timer; idempotent. */
  close(): void;
}

interface LoadStatsResponse {
  clusters?: string[];
  send_all_clusters?: boolean;
  load_reporting_interval?: { seconds?: number | string; nanos?: number };
  report_endpoint_granularity?: boolean;
}

type LrsGrpcClient = grpc.Client & { StreamLoadStats(): grpc.ClientDuplexStream<object, LoadStatsResponse> };
let LrsClientCtor: grpc.ServiceClientConstructor | undefined;

function credentials(server: XdsServerConfig): grpc.ChannelCredentials {
  const c = server.channelCredentials;
  if (c.type === 'insecure') return grpc.credentials.createInsecure();
  const read = (path: string | undefined): Buffer | null => (path ? readFileSync(path) : null);
  return grpc.credentials.createSsl(read(c.caCertificateFile), read(c.privateKeyFile), read(c.certificateFile));
}

/** Client feature Envoy announces when it honours `send_all_clusters`. */
export const LRS_SEND_ALL_CLUSTERS_FEATURE = 'envoy.lrs.supports_send_all_clusters';

class LrsStream implements LrsClient {
  readonly #options: LrsClientOptions;
  readonly #client: LrsGrpcClient;
  readonly #sockets = new XdsSocketTracker();
  #call: grpc.ClientDuplexStream<object, LoadStatsResponse> | undefined;
  #requested: LrsRequestedClusters | undefined;
  #intervalMs: number | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #lastReport = performance.now();
  #isClosed = false;
  #isUnsupported = false;

  constructor(options: LrsClientOptions) {
    this.#options = options;
    this.#backoffMs = options.backoff?.initialMs ?? 1000;
    this.#sockets.addTarget(options.server.serverUri);
    LrsClientCtor ??= grpc.makeGenericClientConstructor(lrsServiceDefinition(), 'LoadReportingService');
    // Same target, credentials and options as the ADS channel, so grpc-js reuses its connection.
    this.#client = new LrsClientCtor(options.server.serverUri, credentials(options.server), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1_000,
    }) as unknown as LrsGrpcClient;
    this.#connect();
  }

  get requested(): LrsRequestedClusters | undefined {
    return this.#requested;
  }

  get intervalMs(): number | undefined {
    return this.#intervalMs;
  }

  get isUnsupported(): boolean {
    return this.#isUnsupported;
  }

  #connect(): void {
    this.#retryTimer = undefined;
    if (this.#isClosed) return;
    const call = this.#client.StreamLoadStats();
    this.#call = call;
    let hadResponse = false;
    const node = { ...nodeForWire(this.#options.node), client_features: [...new Set([...(this.#options.node.client_features ?? []), LRS_SEND_ALL_CLUSTERS_FEATURE])] };
    call.write({ node, cluster_stats: [] });
    call.on('data', (res: LoadStatsResponse) => {
      hadResponse = true;
      this.#sockets.unrefAll();
      this.#onResponse(res);
    });
    const onEnd = (err?: { code?: number }): void => {
      if (this.#call !== call) return;
      this.#call = undefined;
      clearTimeout(this.#reportTimer);
      this.#reportTimer = undefined;
      if (this.#isClosed) return;
      // A server without LRS (istiod, for one) answers UNIMPLEMENTED: stop instead of retrying forever.
      if (err?.code === grpc.status.UNIMPLEMENTED) {
        this.#isUnsupported = true;
        return;
      }
      if (hadResponse) this.#backoffMs = this.#options.backoff?.initialMs ?? 1000;
      const delay = this.#backoffMs * (0.8 + Math.random() * 0.4);
      this.#backoffMs = Math.min(this.#backoffMs * 1.6, this.#options.backoff?.maxMs ?? 30_000);
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
      this.#retryTimer.unref();
    };
    call.on('error', (err: { code?: number }) => onEnd(err));
    call.on('end', () => onEnd());
    call.on('status', () => undefined);
  }

  #onResponse(res: LoadStatsResponse): void {
    const all = res.send_all_clusters === true;
    this.#requested = { clusters: all ? undefined : new Set(res.clusters ?? []), isEndpointGranularity: res.report_endpoint_granularity === true };
    const i = res.load_reporting_interval;
    const ms = i === undefined ? 10_000 : Number(i.seconds ?? 0) * 1000 + Math.floor((i.nanos ?? 0) / 1e6);
    this.#intervalMs = Math.max(1, ms);
    clearTimeout(this.#reportTimer);
    this.#lastReport = performance.now();
    this.#scheduleReport();
  }

  #scheduleReport(): void {
    if (this.#isClosed || this.#intervalMs === undefined) return;
    this.#reportTimer = setTimeout(() => this.#report(), this.#intervalMs);
    this.#reportTimer.unref();
  }

  #report(): void {
    const call = this.#call;
    const requested = this.#requested;
    if (call === undefined || requested === undefined) return;
    const now = performance.now();
    const elapsedMs = now - this.#lastReport;
    this.#lastReport = now;
    let stats: ClusterStats[];
    try {
      stats = this.#options.collect(requested);
    } catch {
      stats = [];
    }
    const interval = { seconds: Math.floor(elapsedMs / 1000), nanos: Math.floor((elapsedMs % 1000) * 1e6) };
    // Endpoint stats are sent whether or not `report_endpoint_granularity` was set: they are
    // what a service graph needs per workload, and a server that did not ask ignores them.
    const clusterStats = stats.map((s) => ({ ...s, load_report_interval: s.load_report_interval ?? interval }));
    call.write({ cluster_stats: clusterStats });
    this.#options.onReport?.(clusterStats);
    this.#scheduleReport();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearTimeout(this.#reportTimer);
    clearTimeout(this.#retryTimer);
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
    this.#client.close();
    this.#sockets.close();
  }
}

/** Starts load reporting; see the module comment. */
export function createLrsClient(options: LrsClientOptions): LrsClient {
  return new LrsStream(options);
}
