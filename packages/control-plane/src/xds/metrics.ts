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
 */
export function createXdsMetrics(registry = new Registry(), hasProcessMetrics = false): XdsMetrics {
  const registers = [registry];
  if (hasProcessMetrics) collectDefaultMetrics({ register: registry });
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  return {
    registry,
    connections: new Gauge({ name: 'pilot_xds', help: 'Number of clients connected to this control plane using xDS.', labelNames: ['kind', 'protocol'], registers }),
    pushes: new Counter({ name: 'pilot_xds_pushes', help: 'xDS responses sent, by type.', labelNames: ['type'], registers }),
    pushTime: new Histogram({ name: 'pilot_xds_push_time', help: 'Seconds to build and write one push to one client.', labelNames: ['type'], buckets, registers }),
    rejects: new Counter({ name: 'pilot_total_xds_rejects', help: 'xDS responses rejected (NACKed) by clients, by type.', labelNames: ['type'], registers }),
    pushTriggers: new Counter({ name: 'pilot_push_triggers', help: 'Config changes that triggered a push.', labelNames: ['type'], registers }),
    configSize: new Histogram({ name: 'pilot_xds_config_size_bytes', help: 'Size of xDS responses in bytes.', labelNames: ['type'], buckets: [1e2, 1e3, 1e4, 1e5, 1e6, 1e7], registers }),
    convergence: new Histogram({ name: 'pilot_proxy_convergence_time', help: 'Seconds from a config change to the push written to every client.', buckets, registers }),
    badRequests: new Counter({ name: 'weft_xds_bad_requests_total', help: 'xDS requests ignored or refused, by reason.', labelNames: ['reason'], registers }),
    snapshotFailures: new Counter({ name: 'weft_xds_snapshot_failures_total', help: 'Model generations whose xDS snapshot failed to build (last good kept).', registers }),
  };
}

/** The per-type metric children, resolved once (label lookups dominate per-client pushes otherwise). */
export interface TypeMetrics {
  pushes: { inc(): void };
  pushTime: { observe(seconds: number): void };
  configSize: { observe(bytes: number): void };
}

const typeChildren = new WeakMap<XdsMetrics, Map<string, TypeMetrics>>();

/** The children of {@link XdsMetrics} for one type label, cached per metrics set. */
export function metricsForType(metrics: XdsMetrics, type: string): TypeMetrics {
  let byType = typeChildren.get(metrics);
  if (!byType) {
    byType = new Map();
    typeChildren.set(metrics, byType);
  }
  let m = byType.get(type);
  if (!m) {
    m = { pushes: metrics.pushes.labels(type), pushTime: metrics.pushTime.labels(type), configSize: metrics.configSize.labels(type) };
    byType.set(type, m);
  }
  return m;
}
