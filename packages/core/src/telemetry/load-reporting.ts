/**
 * Wires the {@link LoadStatsStore} to the xds-client's LRS client: converts the store's
 * per-interval deltas to `ClusterStats` and starts reporting to the bootstrap's xDS server
 * (the LRS server `self`, as istiod and Weft's control plane serve it).
 */
import { createLrsClient, loadBootstrap } from '@weft/xds-client';
import type { ClusterStats, LrsClient, LrsRequestedClusters, XdsBootstrap } from '@weft/xds-client';
import type { ClusterLoad, LoadStatsStore } from './load-stats-store.ts';

function splitKey(key: string): { address: string; port: number } {
  const i = key.lastIndexOf(':');
  return { address: key.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(key.slice(i + 1)) };
}

/** The LRS wire shape of collected loads. */
export function clusterStatsOf(loads: readonly ClusterLoad[]): ClusterStats[] {
  return loads.map((c) => ({
    cluster_name: c.clusterName,
    ...(c.edsServiceName === undefined ? {} : { cluster_service_name: c.edsServiceName }),
    upstream_locality_stats: c.localities.map((l) => ({
      locality: { region: l.locality.region ?? '', zone: l.locality.zone ?? '', sub_zone: l.locality.subZone ?? '' },
      total_successful_requests: l.successful,
      total_requests_in_progress: l.inProgress,
      total_error_requests: l.error,
      total_issued_requests: l.issued,
      upstream_endpoint_stats: [...l.endpoints].map(([key, e]) => {
        const { address, port } = splitKey(key);
        return {
          address: { socket_address: { address, port_value: port } },
          total_successful_requests: e.successful,
          total_requests_in_progress: e.inProgress,
          total_error_requests: e.error,
          total_issued_requests: e.issued,
        };
      }),
    })),
    total_dropped_requests: c.totalDropped,
    dropped_requests: [...c.dropped].map(([category, dropped_count]) => ({ category, dropped_count })),
    load_report_interval: { seconds: Math.floor(c.intervalMs / 1000), nanos: Math.floor((c.intervalMs % 1000) * 1e6) },
  }));
}

/** Options of {@link startLoadReporting}. */
export interface LoadReportingOptions {
  readonly store: LoadStatsStore;
  /** The bootstrap (default: loaded from `env`). Reports go to its first xDS server. */
  readonly bootstrap?: XdsBootstrap;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Called after each report (diagnostics, tests). */
  onReport?(stats: readonly ClusterStats[]): void;
}

/**
 * Starts LRS reporting of `store` (see the module comment). Throws `WEFT_ERR_BOOTSTRAP_INVALID`
 * when no bootstrap can be loaded. The returned client's `close()` stops it.
 */
export function startLoadReporting(options: LoadReportingOptions): LrsClient {
  const bootstrap = options.bootstrap ?? loadBootstrap({ env: options.env });
  const store = options.store;
  return createLrsClient({
    server: bootstrap.xdsServers[0]!,
    node: bootstrap.node,
    collect: (requested: LrsRequestedClusters) => {
      store.setClusterFilter(requested.clusters);
      return clusterStatsOf(store.collect(requested.clusters));
    },
    onReport: options.onReport,
  });
}
