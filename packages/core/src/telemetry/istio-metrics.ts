/**
 * Istio's standard metrics with prom-client: `istio_requests_total`,
 * `istio_request_duration_milliseconds`, `istio_request_bytes`, `istio_response_bytes`,
 * `istio_request_messages_total` and `istio_response_messages_total` (gRPC streams), with
 * Istio's exact label names and buckets, so Istio's Grafana dashboards read them unchanged.
 *
 * The registry is owned by the {@link MeshMetrics} object (pass one to share, e.g. prom-client's
 * default `register`). Values live in plain per-series records (a request is a map lookup and
 * a few additions) and are handed to prom-client's registry at scrape time. Label values come only from mesh identities, status codes and response
 * flags, never from paths. Each distinct label set is resolved once to its prom-client children
 * and cached; past `maxSeries` distinct sets, new ones are aggregated into a series whose
 * identity labels are all `unknown` — memory stays bounded whatever the traffic.
 */
import { Registry } from 'prom-client';
import { UNKNOWN, UNKNOWN_PEER } from './workload-identity-labels.ts';
import type { PeerIdentity } from './workload-identity-labels.ts';

/** Istio's label names, in Istio's order. */
export const ISTIO_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/** Istio's duration buckets (milliseconds). */
export const ISTIO_DURATION_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's size buckets (bytes): 1, 10, …, 1e9. */
export const ISTIO_BYTE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** The destination service of a request (`destination_service*` labels). */
export interface DestinationService {
  /** FQDN (`reviews.default.svc.cluster.local`) or `unknown`. */
  readonly host: string;
  readonly name: string;
  readonly namespace: string;
}

/** An unknown destination service. */
export const UNKNOWN_SERVICE: DestinationService = Object.freeze({ host: UNKNOWN, name: UNKNOWN, namespace: UNKNOWN });

const serviceCache = new Map<string, DestinationService>();

/**
 * The service of a host name: `name.namespace.svc.<domain>` → name + namespace; an Istio
 * outbound cluster name (`outbound|9080|v1|reviews.default.svc.cluster.local`) is accepted
 * too; other hosts keep the host as name and `unknown` namespace. Cached (bounded).
 */
export function destinationServiceOf(hostOrCluster: string | undefined): DestinationService {
  if (hostOrCluster === undefined || hostOrCluster === '') return UNKNOWN_SERVICE;
  let svc = serviceCache.get(hostOrCluster);
  if (svc !== undefined) return svc;
  let host = hostOrCluster;
  if (host.includes('|')) host = host.split('|')[3] ?? host;
  host = host.replace(/:\d+$/, '');
  const parts = host.split('.');
  svc = Object.freeze(parts.length >= 3 && parts[2] === 'svc' ? { host, name: parts[0]!, namespace: parts[1]! } : { host, name: host, namespace: UNKNOWN });
  if (serviceCache.size > 4096) serviceCache.clear();
  serviceCache.set(hostOrCluster, svc);
  return svc;
}

/** One finished request, as metrics see it. */
export interface RequestSample {
  readonly reporter: 'source' | 'destination';
  readonly source: PeerIdentity;
  readonly destination: PeerIdentity;
  readonly service: DestinationService;
  readonly protocol: 'http' | 'grpc';
  /** HTTP status (0 when the request failed without a response). */
  readonly responseCode: number;
  /** gRPC status code as a decimal string; '' for plain HTTP. */
  readonly grpcStatus: string;
  /** Envoy response flags joined by `,`, `-` for none. */
  readonly responseFlags: string;
  /** `mutual_tls`, `none`, or `unknown` (what the client side reports). */
  readonly securityPolicy: 'mutual_tls' | 'none' | 'unknown';
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** gRPC messages sent/received (counted only for `grpc`). */
  readonly requestMessages?: number;
  readonly responseMessages?: number;
}

/** Options of {@link createMeshMetrics}. */
export interface MeshMetricsOptions {
  /** Registry to register the metrics in; default a new one owned by this object. */
  readonly registry?: Registry;
  /** Distinct label sets kept before aggregation into `unknown`; default 10,000. */
  readonly maxSeries?: number;
}

/** Where a histogram's values sit in a series' array: sum, count, then a count per bucket (not cumulative; the last is +Inf). */
interface HistogramSlot {
  readonly sum: number;
  readonly count: number;
  readonly buckets: number;
  readonly bounds: readonly number[];
}

// A series' array: three counters, then the three histograms.
const REQUESTS = 0;
const REQUEST_MESSAGES = 1;
const RESPONSE_MESSAGES = 2;
const DURATION: HistogramSlot = { sum: 3, count: 4, buckets: 9, bounds: ISTIO_DURATION_BUCKETS_MS };
const REQUEST_BYTES: HistogramSlot = { sum: 5, count: 6, buckets: DURATION.buckets + ISTIO_DURATION_BUCKETS_MS.length + 1, bounds: ISTIO_BYTE_BUCKETS };
const RESPONSE_BYTES: HistogramSlot = { sum: 7, count: 8, buckets: REQUEST_BYTES.buckets + ISTIO_BYTE_BUCKETS.length + 1, bounds: ISTIO_BYTE_BUCKETS };
const SERIES_VALUES = RESPONSE_BYTES.buckets + ISTIO_BYTE_BUCKETS.length + 1;

/**
 * One label set's values, all in one array: recording a request is a few additions in a few
 * adjacent cache lines (with an object per histogram it touched twice as many, and between two
 * requests of a busy process they have left the cache).
 */
class Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly values = new Float64Array(SERIES_VALUES);
  constructor(labels: Readonly<Record<string, string>>) {
    this.labels = labels;
  }
}

function observe(v: Float64Array, h: HistogramSlot, value: number): void {
  const bounds = h.bounds;
  const n = bounds.length;
  let i = 0;
  while (i < n && value > bounds[i]!) i++;
  v[h.buckets + i]! += 1;
  v[h.sum]! += value;
  v[h.count]! += 1;
}

/** The parts of a sample that make its label set. */
type LabelParts = Pick<RequestSample, 'reporter' | 'source' | 'destination' | 'service' | 'protocol' | 'responseCode' | 'grpcStatus' | 'responseFlags' | 'securityPolicy'>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A metric in prom-client's registry whose values are read from {@link Series} at scrape time
 * (prom-client's own label handling hashes every label set on every observation, which costs
 * tens of microseconds per request with Istio's 25 labels).
 */
function registryMetric(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

function histogramValues(name: string, h: HistogramSlot, series: Iterable<Series>): MetricValue[] {
  const out: MetricValue[] = [];
  const bounds = h.bounds;
  for (const s of series) {
    const v = s.values;
    const count = v[h.count]!;
    if (count === 0) continue;
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += v[h.buckets + i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: bounds[i]! }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: count });
    out.push({ metricName: `${name}_sum`, labels: { ...s.labels }, value: v[h.sum]! });
    out.push({ metricName: `${name}_count`, labels: { ...s.labels }, value: count });
  }
  return out;
}

// Series are keyed by small ids of the identity/service objects: one WeakMap lookup per object
// per request. Equal content gets the same id (interned on an object's first sight, bounded), so
// two objects describing the same peer never make two series with the same labels.
const identityIds = new WeakMap<object, number>();
const idsByContent = new Map<string, number>();
// As many as the default series cap: past it, new label sets aggregate into `unknown` anyway.
const MAX_INTERNED = 10_000;
let nextIdentityId = 1;
function idOf(o: object): number {
  let id = identityIds.get(o);
  if (id === undefined) {
    const content = JSON.stringify(o);
    id = idsByContent.get(content);
    if (id === undefined) {
      id = nextIdentityId++;
      if (idsByContent.size < MAX_INTERNED) idsByContent.set(content, id);
    }
    identityIds.set(o, id);
  }
  return id;
}

/** Istio's standard request metrics in a prom-client registry; see the module comment. */
export class MeshMetrics {
  /** The registry holding the metrics (serve it at `/metrics`). */
  readonly registry: Registry;
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();
  #overflowed = 0;
  #last: (LabelParts & { readonly series: Series }) | undefined;

  /** Use {@link createMeshMetrics}. */
  constructor(options: MeshMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.#maxSeries = Math.max(1, options.maxSeries ?? 10_000);
    const all = (): Iterable<Series> => this.#series.values();
    const counter = (name: string, help: string, pick: (s: Series) => number, isGrpcOnly: boolean): void =>
      registryMetric(this.registry, name, help, 'counter', () => {
        const out: MetricValue[] = [];
        for (const s of all()) {
          const v = pick(s);
          if (isGrpcOnly && v === 0) continue;
          out.push({ labels: { ...s.labels }, value: v });
        }
        return out;
      });
    counter('istio_requests_total', 'Total requests handled', (s) => s.values[REQUESTS]!, false);
    registryMetric(this.registry, 'istio_request_duration_milliseconds', 'Request duration in milliseconds', 'histogram', () => histogramValues('istio_request_duration_milliseconds', DURATION, all()));
    registryMetric(this.registry, 'istio_request_bytes', 'Request body sizes in bytes', 'histogram', () => histogramValues('istio_request_bytes', REQUEST_BYTES, all()));
    registryMetric(this.registry, 'istio_response_bytes', 'Response body sizes in bytes', 'histogram', () => histogramValues('istio_response_bytes', RESPONSE_BYTES, all()));
    counter('istio_request_messages_total', 'gRPC messages sent by the client', (s) => s.values[REQUEST_MESSAGES]!, true);
    counter('istio_response_messages_total', 'gRPC messages sent by the server', (s) => s.values[RESPONSE_MESSAGES]!, true);
  }

  /** Distinct label sets currently held (at most `maxSeries` plus the aggregated ones). */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Samples that were aggregated into `unknown` because the series cap was reached. */
  get overflowedSamples(): number {
    return this.#overflowed;
  }

  /** Records one finished request. Cheap: one string key and one map lookup for a known label set. */
  record(s: RequestSample): void {
    const v = this.#seriesOf(s).values;
    v[REQUESTS]! += 1;
    observe(v, DURATION, s.durationMs);
    observe(v, REQUEST_BYTES, s.requestBytes);
    observe(v, RESPONSE_BYTES, s.responseBytes);
    if (s.protocol === 'grpc') {
      v[REQUEST_MESSAGES]! += s.requestMessages ?? 0;
      v[RESPONSE_MESSAGES]! += s.responseMessages ?? 0;
    }
  }

  /**
   * The series of `s`'s label set. A stream of requests between the same peers mostly repeats
   * one label set, so the last one is remembered by identity of its parts (no key string built);
   * otherwise one key string and one map lookup.
   */
  #seriesOf(s: RequestSample): Series {
    const last = this.#last;
    if (
      last !== undefined &&
      last.source === s.source &&
      last.destination === s.destination &&
      last.service === s.service &&
      last.responseCode === s.responseCode &&
      last.responseFlags === s.responseFlags &&
      last.reporter === s.reporter &&
      last.protocol === s.protocol &&
      last.grpcStatus === s.grpcStatus &&
      last.securityPolicy === s.securityPolicy
    ) {
      return last.series;
    }
    const key = `${s.reporter}|${idOf(s.source)}|${idOf(s.destination)}|${idOf(s.service)}|${s.protocol}|${s.responseCode}|${s.grpcStatus}|${s.responseFlags}|${s.securityPolicy}`;
    const series = this.#series.get(key) ?? this.#newSeries(key, s);
    this.#last = { source: s.source, destination: s.destination, service: s.service, responseCode: s.responseCode, responseFlags: s.responseFlags, reporter: s.reporter, protocol: s.protocol, grpcStatus: s.grpcStatus, securityPolicy: s.securityPolicy, series };
    return series;
  }

  /** The Prometheus text exposition of the registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  #newSeries(key: string, s: RequestSample): Series {
    if (this.#series.size >= this.#maxSeries) {
      this.#overflowed++;
      const coarse = `overflow|${s.reporter}|${s.protocol}|${s.responseCode}|${s.grpcStatus}|${s.responseFlags}`;
      const existing = this.#series.get(coarse);
      if (existing !== undefined) return existing;
      const unknownLabels = this.#labels({ ...s, source: UNKNOWN_PEER, destination: UNKNOWN_PEER, service: UNKNOWN_SERVICE, securityPolicy: 'unknown' });
      const series = new Series(unknownLabels);
      this.#series.set(coarse, series);
      return series;
    }
    const series = new Series(this.#labels(s));
    this.#series.set(key, series);
    return series;
  }

  #labels(s: LabelParts): Record<string, string> {
    const src = s.source;
    const dst = s.destination;
    return {
      reporter: s.reporter,
      source_workload: src.workload,
      source_workload_namespace: src.namespace,
      source_principal: src.principal,
      source_app: src.app,
      source_version: src.version,
      source_canonical_service: src.canonicalService,
      source_canonical_revision: src.canonicalRevision,
      source_cluster: src.cluster,
      destination_workload: dst.workload,
      destination_workload_namespace: dst.namespace,
      destination_principal: dst.principal,
      destination_app: dst.app,
      destination_version: dst.version,
      destination_service: s.service.host,
      destination_service_name: s.service.name,
      destination_service_namespace: s.service.namespace,
      destination_canonical_service: dst.canonicalService,
      destination_canonical_revision: dst.canonicalRevision,
      destination_cluster: dst.cluster,
      request_protocol: s.protocol,
      response_code: String(s.responseCode),
      grpc_response_status: s.grpcStatus,
      response_flags: s.responseFlags,
      connection_security_policy: s.securityPolicy,
    };
  }
}

/** Creates the metrics; see {@link MeshMetricsOptions}. */
export function createMeshMetrics(options?: MeshMetricsOptions): MeshMetrics {
  return new MeshMetrics(options);
}
