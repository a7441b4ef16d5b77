/**
 * Prometheus metrics of the LRS server and the service graph, registered in the control
 * plane's registry (served on admin `/metrics`).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** See the module comment. */
export interface LrsMetrics {
  /** `weft_lrs_reports_total`: load reports (LoadStatsRequests with cluster stats) received. */
  reports: Counter;
  /** `weft_lrs_cluster_stats_total`: ClusterStats entries received. */
  clusterStats: Counter;
  /** `weft_lrs_bad_reports_total`: reports refused or skipped, by reason. */
  badReports: Counter<'reason'>;
  /** `weft_lrs_streams`: open LRS streams. */
  streams: Gauge;
}

/**
 * Creates the metrics in `registry`. `edgeCount` (read at scrape time) backs
 * `weft_lrs_graph_edges`, the edges the service graph holds.
 */
export function createLrsMetrics(registry: Registry, edgeCount?: () => number): LrsMetrics {
  const registers = [registry];
  if (edgeCount) {
    new Gauge({
      name: 'weft_lrs_graph_edges',
      help: 'Edges held by the service graph built from load reports.',
      registers,
      collect() {
        this.set(edgeCount());
      },
    });
  }
  return {
    reports: new Counter({ name: 'weft_lrs_reports_total', help: 'Load reports (LRS LoadStatsRequests carrying cluster stats) received.', registers }),
    clusterStats: new Counter({ name: 'weft_lrs_cluster_stats_total', help: 'ClusterStats entries received in load reports.', registers }),
    badReports: new Counter({ name: 'weft_lrs_bad_reports_total', help: 'Load reports refused or skipped, by reason.', labelNames: ['reason'], registers }),
    streams: new Gauge({ name: 'weft_lrs_streams', help: 'Open LRS streams.', registers }),
  };
}
