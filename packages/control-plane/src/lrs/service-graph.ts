/**
 * The service graph built from LRS load reports: an edge per (reporting workload's service →
 * destination service, port, subset), where the destination comes from the Istio cluster name
 * `outbound|port|subset|host` the report is about. Each edge keeps a sliding window
 * ({@link EdgeWindow}) of issued / successful / error / dropped counts and, when reports carry
 * a latency load metric, latency; in-progress is the sum of the last gauge each reporter sent.
 *
 * Memory is bounded: constant per edge, at most `maxEdges` edges (the least recently reported
 * one, to one bucket's precision, is evicted first), and edges nobody reported on for a whole
 * window are dropped, which is how nodes that disconnected age out. Per report the cost is a
 * cached cluster-name lookup and a few additions per ClusterStats.
 */
import { resolveHostname } from '../registry/hostname.ts';
import { parseClusterName } from '../xds/names.ts';
import { EdgeWindow, type EdgeSample } from './edge-window.ts';

/** Load metric names read as request latency in milliseconds (sum over finished requests). */
export const LATENCY_METRIC_NAMES: readonly string[] = ['latency_ms', 'request_duration_ms'];

/** Who sent a report, as read from its xDS node. */
export interface Reporter {
  nodeId: string;
  /** Graph node id of the source: the service FQDN, or `workload:<ns>/<name>` for a client-only workload. */
  source: string;
  sourceKind: 'service' | 'workload';
  namespace: string;
  /** `WORKLOAD_NAME`, else the node id. */
  workload: string;
  /** The `version` label, when the node has one. */
  version?: string;
}

/** Per-endpoint or per-locality counters as they arrive (decoded protobuf, uint64 as numbers). */
interface Counters {
  total_successful_requests?: number;
  total_requests_in_progress?: number;
  total_error_requests?: number;
  total_issued_requests?: number;
  load_metric_stats?: { metric_name?: string; num_requests_finished_with_metric?: number; total_metric_value?: number }[];
}

/** `envoy.config.endpoint.v3.ClusterStats`, decoded. */
export interface ClusterStatsMessage {
  cluster_name?: string;
  cluster_service_name?: string;
  upstream_locality_stats?: (Counters & { upstream_endpoint_stats?: Counters[] })[];
  total_dropped_requests?: number;
}

/** One edge of `/debug/graph`. */
export interface GraphEdge {
  id: string;
  source: string;
  destination: string;
  port: number;
  /** Destination subset (its DestinationRule subset name, usually the version); empty for the whole service. */
  subset: string;
  /** The Istio cluster name the reports were about. */
  cluster: string;
  /** Requests issued per second over the covered part of the window. */
  rps: number;
  /** Errors / finished requests over the window (0..1); 0 when nothing finished. */
  errorRate: number;
  /** Sums over the window. */
  requests: number;
  successes: number;
  errors: number;
  dropped: number;
  /** Requests in flight, as last reported by each live reporter. */
  inProgress: number;
  /** Mean latency in ms over the window, when reports carry a latency metric; else null. */
  latencyMs: number | null;
  /** True when the reporters' cluster uses TLS, false when plaintext, null when unknown. */
  mtls: boolean | null;
  /** Node ids that reported on this edge within the window. */
  reporters: string[];
  lastReportAt: string;
  windowMs: number;
}

/** One node of `/debug/graph`. */
export interface GraphNode {
  id: string;
  kind: 'service' | 'workload' | 'unknown';
  namespace: string;
  /** Short label for display. */
  label: string;
  /** Versions seen: the reporters' `version` labels and the destination subsets. */
  versions: string[];
  /** Live LRS streams of workloads of this node. */
  reporters: number;
  /** Endpoints of a known service (health from EDS); null for nodes the model does not list. */
  endpoints: { total: number; healthy: number } | null;
}

/** The `/debug/graph` document. */
export interface GraphDocument {
  generatedAt: string;
  windowMs: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Reports received since start. */
  reports: number;
  /** Edges evicted because the cap was reached. */
  evictedEdges: number;
}

/** Options of {@link createServiceGraph}. */
export interface ServiceGraphOptions {
  /** Sliding window, ms; default 60,000. */
  windowMs?: number;
  /** Buckets in the window; default 30. */
  bucketCount?: number;
  /** Most edges kept; default 2,000 (the least recently reported edge is evicted beyond). */
  maxEdges?: number;
  /** DNS suffix to resolve short destination hosts with; default `svc.cluster.local`. */
  domainSuffix?: string;
  /** Services known to the model, listed as nodes even without traffic (with their endpoint counts when given). */
  knownServices?: () => Iterable<{ hostname: string; namespace: string; endpoints?: { total: number; healthy: number } }>;
  /** Whether `nodeId`'s cluster `cluster` uses TLS (from what it was sent); undefined when unknown. */
  isClusterTls?: (nodeId: string, cluster: string) => boolean | undefined;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
}

/** The aggregate; see the module comment. */
export interface ServiceGraph {
  /** Adds one `LoadStatsRequest`'s cluster stats from `reporter`. Returns the number of edges updated. */
  record(reporter: Reporter, clusterStats: readonly ClusterStatsMessage[]): number;
  /** A reporter's stream started (counts toward its node's live reporters). */
  reporterConnected(reporter: Reporter): void;
  /** A reporter's stream ended: its in-progress gauges are dropped; its counts age out with the window. */
  reporterDisconnected(nodeId: string): void;
  /** The JSON document of `/debug/graph`. */
  document(): GraphDocument;
  /** Number of edges held. */
  readonly edgeCount: number;
}

interface Edge {
  id: string;
  source: string;
  destination: string;
  port: number;
  subset: string;
  cluster: string;
  window: EdgeWindow;
  inProgress: Map<string, number>;
  /** node id → last report time (ms). */
  reporters: Map<string, number>;
  lastReportAt: number;
}

function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function addLatency(c: Counters, into: { sum: number; count: number }): void {
  for (const m of c.load_metric_stats ?? []) {
    if (!m.metric_name || !LATENCY_METRIC_NAMES.includes(m.metric_name)) continue;
    into.sum += n(m.total_metric_value);
    into.count += n(m.num_requests_finished_with_metric);
  }
}

/** Sums one ClusterStats over its localities (and their endpoints for latency when the locality has none). */
function sampleOf(cs: ClusterStatsMessage): { sample: EdgeSample; inProgress: number } {
  const sample: EdgeSample = { issued: 0, successful: 0, errors: 0, dropped: n(cs.total_dropped_requests), latencySumMs: 0, latencyCount: 0 };
  let inProgress = 0;
  const latency = { sum: 0, count: 0 };
  for (const l of cs.upstream_locality_stats ?? []) {
    sample.issued += n(l.total_issued_requests);
    sample.successful += n(l.total_successful_requests);
    sample.errors += n(l.total_error_requests);
    inProgress += n(l.total_requests_in_progress);
    const before = latency.count;
    addLatency(l, latency);
    if (latency.count === before) for (const e of l.upstream_endpoint_stats ?? []) addLatency(e, latency);
  }
  sample.latencySumMs = latency.sum;
  sample.latencyCount = latency.count;
  return { sample, inProgress };
}

/**
 * Creates an empty graph (see the module comment). It holds no timers or sockets, so there is
 * nothing to close; edges age out as their window moves.
 */
export function createServiceGraph(options: ServiceGraphOptions = {}): ServiceGraph {
  const windowMs = options.windowMs ?? 60_000;
  const bucketCount = options.bucketCount ?? 30;
  const maxEdges = Math.max(1, options.maxEdges ?? 2000);
  const domainSuffix = options.domainSuffix ?? 'svc.cluster.local';
  const now = options.now ?? Date.now;
  /** Insertion order doubles as recency order: an edge is re-inserted on every report. */
  const edges = new Map<string, Edge>();
  const liveReporters = new Map<string, Reporter & { streams: number }>();
  let reports = 0;
  let evicted = 0;

  function sweep(t: number): void {
    for (const [id, e] of edges) {
      // Recency order (to one bucket): past the first edge reported within the window, the rest
      // were reported at most one bucket earlier, so the next sweep gets them.
      if (t - e.lastReportAt <= windowMs) break;
      edges.delete(id);
    }
  }

  /** Recency order is kept to this granularity (an edge is re-inserted at most once per bucket). */
  const recencyMs = windowMs / Math.max(1, bucketCount);
  let lastSweepAt = -Infinity;
  /** Parsed cluster names per reporter namespace (bounded: cleared when it grows past 10,000). */
  const parsed = new Map<string, { destination: string; port: number; subset: string } | null>();

  function destinationOf(cluster: string, namespace: string): { destination: string; port: number; subset: string } | null {
    const cacheKey = `${namespace}\u0000${cluster}`;
    let hit = parsed.get(cacheKey);
    if (hit !== undefined) return hit;
    const key = parseClusterName(cluster);
    hit = key ? { destination: resolveHostname(key.hostname, namespace, domainSuffix), port: key.port, subset: key.subset } : null;
    if (parsed.size >= 10_000) parsed.clear();
    parsed.set(cacheKey, hit);
    return hit;
  }

  return {
    get edgeCount() {
      return edges.size;
    },
    record(reporter, clusterStats) {
      const t = now();
      reports++;
      let updated = 0;
      for (const cs of clusterStats) {
        const cluster = cs.cluster_name ?? '';
        const dst = destinationOf(cluster, reporter.namespace);
        if (!dst) continue; // not an Istio outbound cluster: nothing to place in the graph
        const id = `${reporter.source}|${dst.destination}|${dst.port}|${dst.subset}`;
        let edge = edges.get(id);
        if (!edge) {
          if (edges.size >= maxEdges) {
            const oldest = edges.keys().next().value;
            if (oldest !== undefined) {
              edges.delete(oldest);
              evicted++;
            }
          }
          edge = { id, source: reporter.source, destination: dst.destination, port: dst.port, subset: dst.subset, cluster, window: new EdgeWindow(windowMs, bucketCount, t), inProgress: new Map(), reporters: new Map(), lastReportAt: t };
          edges.set(id, edge);
        } else if (t - edge.lastReportAt >= recencyMs) {
          edges.delete(id);
          edges.set(id, edge);
        }
        const { sample, inProgress } = sampleOf(cs);
        edge.window.add(sample, t);
        edge.inProgress.set(reporter.nodeId, inProgress);
        edge.reporters.set(reporter.nodeId, t);
        edge.lastReportAt = t;
        updated++;
      }
      if (t - lastSweepAt >= recencyMs) {
        lastSweepAt = t;
        sweep(t);
      }
      return updated;
    },
    reporterConnected(reporter) {
      const live = liveReporters.get(reporter.nodeId);
      if (live) live.streams++;
      else liveReporters.set(reporter.nodeId, { ...reporter, streams: 1 });
    },
    reporterDisconnected(nodeId) {
      const live = liveReporters.get(nodeId);
      if (live && --live.streams > 0) return;
      liveReporters.delete(nodeId);
      for (const e of edges.values()) e.inProgress.delete(nodeId);
    },
    document() {
      const t = now();
      sweep(t);
      const nodes = new Map<string, GraphNode>();
      const node = (id: string, kind: GraphNode['kind'], namespace: string): GraphNode => {
        let g = nodes.get(id);
        if (!g) {
          const label = kind === 'workload' ? id.slice(id.indexOf('/') + 1) : id.endsWith(`.${namespace}.${domainSuffix}`) ? id.slice(0, id.length - namespace.length - domainSuffix.length - 2) : id;
          g = { id, kind, namespace, label, versions: [], reporters: 0, endpoints: null };
          nodes.set(id, g);
        }
        return g;
      };
      const addVersion = (g: GraphNode, v: string | undefined): void => {
        if (v && !g.versions.includes(v)) g.versions.push(v);
      };
      for (const s of options.knownServices?.() ?? []) {
        const g = node(s.hostname, 'service', s.namespace);
        if (s.endpoints) g.endpoints = { ...s.endpoints };
      }
      for (const r of liveReporters.values()) {
        const g = node(r.source, r.sourceKind, r.namespace);
        g.reporters++;
        addVersion(g, r.version);
      }
      const out: GraphEdge[] = [];
      for (const e of edges.values()) {
        const tot = e.window.totals(t);
        for (const [id, at] of e.reporters) if (t - at > windowMs) e.reporters.delete(id);
        const reporters = [...e.reporters.keys()];
        let mtls: boolean | null = null;
        for (const r of reporters) {
          const tls = options.isClusterTls?.(r, e.cluster);
          if (tls === true) mtls = true;
          else if (tls === false && mtls === null) mtls = false;
        }
        let inProgress = 0;
        for (const v of e.inProgress.values()) inProgress += v;
        const finished = tot.successful + tot.errors;
        const srcKind = e.source.startsWith('workload:') ? 'workload' : 'service';
        node(e.source, nodes.get(e.source)?.kind ?? srcKind, e.source.startsWith('workload:') ? e.source.slice(9, e.source.indexOf('/')) : (e.source.split('.')[1] ?? ''));
        const dst = nodes.get(e.destination) ?? node(e.destination, 'unknown', e.destination.split('.')[1] ?? '');
        addVersion(dst, e.subset);
        out.push({
          id: e.id, source: e.source, destination: e.destination, port: e.port, subset: e.subset, cluster: e.cluster,
          rps: tot.issued / Math.max(1, tot.coveredMs / 1000),
          errorRate: finished > 0 ? tot.errors / finished : 0,
          requests: tot.issued, successes: tot.successful, errors: tot.errors, dropped: tot.dropped, inProgress,
          latencyMs: tot.latencyCount > 0 ? tot.latencySumMs / tot.latencyCount : null,
          mtls, reporters, lastReportAt: new Date(e.lastReportAt).toISOString(), windowMs,
        });
      }
      for (const g of nodes.values()) g.versions.sort();
      return { generatedAt: new Date(t).toISOString(), windowMs, nodes: [...nodes.values()], edges: out, reports, evictedEdges: evicted };
    },
  };
}
