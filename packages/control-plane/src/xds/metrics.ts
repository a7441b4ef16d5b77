/**
 * The control plane's Prometheus metrics, under Istio's `pilot_*` names where Istio has one, in
 * a registry owned by one server (no global registry: several servers may share a process).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Short type label as istiod uses it: `cds`, `eds`, `lds`, `rds`, or `other`. */
export function typeLabel(typeUrl: string): string {
  if (typeUrl.endsWith('.Cluster')) return 'cds';
  if (typeUrl.endsWith('.ClusterLoadAssignment')) return 'eds';
  if (typeUrl.endsWith('.Listener')) return 'lds';
  if (typeUrl.endsWith('.RouteConfiguration')) return 'rds';
  return 'other';
}

/** The metric set of one xDS server. */
export interface XdsMetrics {
  registry: Registry;
  /** `pilot_xds`: connected clients, by client kind and protocol. */
  connections: Gauge<'kind' | 'protocol'>;
  /** `pilot_xds_pushes`: responses sent, by type. */
  pushes: Counter<'type'>;
  /** `pilot_xds_push_time`: seconds to compute and write one push to one client, by type. */
  pushTime: Histogram<'type'>;
  /** `pilot_total_xds_rejects`: NACKs received, by type. */
  rejects: Counter<'type'>;
  /** `pilot_push_triggers`: config changes that started a push. */
  pushTriggers: Counter<'type'>;
  /** `pilot_xds_config_size_bytes`: size of one response. */
  configSize: Histogram<'type'>;
  /** `pilot_proxy_convergence_time`: seconds from a config change to its push written to all clients. */
  convergence: Histogram;
  /** `weft_xds_bad_requests_total`: requests ignored or refused (unknown type, stale nonce, limits). */
  badRequests: Counter<'reason'>;
  /** `weft_xds_snapshot_failures_total`: generations that failed to build (last good kept). */
  snapshotFailures: Counter;
}

/**
 * Creates the metrics in a fresh registry (or the given one). With `hasProcessMetrics`, the
 * registry also carries prom-client's process and Node.js metrics (heap, RSS, event loop lag).
 *
 * The per-push metrics (`pilot_xds_pushes`, `pilot_xds_push_time`,
 * `pilot_xds_config_size_bytes`) are recorded through {@link metricsForType} as plain numbers
 * and handed to prom-client when the registry is read (each metric's `collect`), so a push round
 * over thousands of streams does not hash label sets per stream; what a scrape shows is the same.
 */
export function createXdsMetrics(registry = new Registry(), hasProcessMetrics = false): XdsMetrics {
  const registers = [registry];
  if (hasProcessMetrics) collectDefaultMetrics({ register: registry });
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  const recorders = new Map<string, TypeRecorder>();
  const collect = (): void => {
    for (const r of recorders.values()) r.flush();
  };
  const metrics: XdsMetrics = {
    registry,
    connections: new Gauge({ name: 'pilot_xds', help: 'Number of clients connected to this control plane using xDS.', labelNames: ['kind', 'protocol'], registers }),
    pushes: new Counter({ name: 'pilot_xds_pushes', help: 'xDS responses sent, by type.', labelNames: ['type'], registers, collect }),
    pushTime: new Histogram({ name: 'pilot_xds_push_time', help: 'Seconds to build and write one push to one client.', labelNames: ['type'], buckets, registers, collect }),
    rejects: new Counter({ name: 'pilot_total_xds_rejects', help: 'xDS responses rejected (NACKed) by clients, by type.', labelNames: ['type'], registers }),
    pushTriggers: new Counter({ name: 'pilot_push_triggers', help: 'Config changes that triggered a push.', labelNames: ['type'], registers }),
    configSize: new Histogram({ name: 'pilot_xds_config_size_bytes', help: 'Size of xDS responses in bytes.', labelNames: ['type'], buckets: [1e2, 1e3, 1e4, 1e5, 1e6, 1e7], registers, collect }),
    convergence: new Histogram({ name: 'pilot_proxy_convergence_time', help: 'Seconds from a config change to the push written to every client.', buckets, registers }),
    badRequests: new Counter({ name: 'weft_xds_bad_requests_total', help: 'xDS requests ignored or refused, by reason.', labelNames: ['reason'], registers }),
    snapshotFailures: new Counter({ name: 'weft_xds_snapshot_failures_total', help: 'Model generations whose xDS snapshot failed to build (last good kept).', registers }),
  };
  recordersOf.set(metrics, recorders);
  return metrics;
}

/** The per-type metrics of one push, resolved once per type (see {@link metricsForType}). */
export interface TypeMetrics {
  pushes: { inc(): void };
  pushTime: { observe(seconds: number): void };
  configSize: { observe(bytes: number): void };
}

/** Most observations held per histogram and type before they are handed over on the push path. */
export const MAX_PENDING_OBSERVATIONS = 16_384;

/** Observations kept as numbers until the metric is read (or the buffer is full). */
class PendingObservations {
  #values = new Float64Array(64);
  #count = 0;
  readonly #child: { observe(value: number): void };

  constructor(child: { observe(value: number): void }) {
    this.#child = child;
  }

  observe(value: number): void {
    if (this.#count === this.#values.length) {
      if (this.#count >= MAX_PENDING_OBSERVATIONS) this.flush();
      else {
        const grown = new Float64Array(this.#values.length * 2);
        grown.set(this.#values);
        this.#values = grown;
      }
    }
    this.#values[this.#count++] = value;
  }

  /** True when more than half the bound is pending. */
  get isFilling(): boolean {
    return this.#count > MAX_PENDING_OBSERVATIONS / 2;
  }

  flush(): void {
    const n = this.#count;
    this.#count = 0;
    for (let i = 0; i < n; i++) this.#child.observe(this.#values[i] as number);
  }
}

/** The recorders of one type label: plain counts, handed to the prom-client children on read. */
class TypeRecorder implements TypeMetrics {
  #pushCount = 0;
  readonly #pushesChild: { inc(n?: number): void };
  readonly pushes = { inc: (): void => void this.#pushCount++ };
  readonly pushTime: PendingObservations;
  readonly configSize: PendingObservations;

  constructor(metrics: XdsMetrics, type: string) {
    this.#pushesChild = metrics.pushes.labels(type);
    this.pushTime = new PendingObservations(metrics.pushTime.labels(type));
    this.configSize = new PendingObservations(metrics.configSize.labels(type));
  }

  flush(): void {
    if (this.#pushCount) {
      this.#pushesChild.inc(this.#pushCount);
      this.#pushCount = 0;
    }
    this.pushTime.flush();
    this.configSize.flush();
  }

  /** Flushes the series that are more than half full. */
  settle(): void {
    if (this.pushTime.isFilling) this.pushTime.flush();
    if (this.configSize.isFilling) this.configSize.flush();
  }
}

/**
 * Hands pending observations to prom-client for the series more than half full. The xDS server
 * calls it after a push round is over and its bytes are sent, so a buffer reaching its bound (and
 * flushing on the push path, ~1 µs per observation) does not happen in the middle of a round
 * unless one round pushes more than half the bound to one type.
 */
export function settlePushMetrics(metrics: XdsMetrics): void {
  const recorders = recordersOf.get(metrics);
  if (recorders) for (const r of recorders.values()) r.settle();
}

/** Recorders by type label, per metrics set made by {@link createXdsMetrics} (whose `collect` flushes them). */
const recordersOf = new WeakMap<XdsMetrics, Map<string, TypeRecorder>>();
/** Direct children for a metrics set made some other way (nothing would flush recorders). */
const directOf = new WeakMap<XdsMetrics, Map<string, TypeMetrics>>();

/** The per-type recorders of {@link XdsMetrics} for one type label, cached per metrics set. */
export function metricsForType(metrics: XdsMetrics, type: string): TypeMetrics {
  const recorders = recordersOf.get(metrics);
  if (recorders) {
    let r = recorders.get(type);
    if (!r) {
      r = new TypeRecorder(metrics, type);
      recorders.set(type, r);
    }
    return r;
  }
  let byType = directOf.get(metrics);
  if (!byType) {
    byType = new Map();
    directOf.set(metrics, byType);
  }
  let m = byType.get(type);
  if (!m) {
    m = { pushes: metrics.pushes.labels(type), pushTime: metrics.pushTime.labels(type), configSize: metrics.configSize.labels(type) };
    byType.set(type, m);
  }
  return m;
}
