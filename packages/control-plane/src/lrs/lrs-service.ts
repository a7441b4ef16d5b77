/**
 * The LRS server: `envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats`, mounted on
 * the xDS port's grpc-js server beside ADS. The first request of a stream names the node; the
 * server answers once with `send_all_clusters: true` and the configured
 * `load_reporting_interval`, then feeds every report's `cluster_stats` into the
 * {@link ServiceGraph}. A stream without a node id in its first request ends with
 * INVALID_ARGUMENT; a malformed report is counted and skipped, never thrown through the stream.
 */
import { status, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { lrsServiceDefinition, type XdsNode } from '@weft/xds-client';
import { resolveHostname } from '../registry/hostname.ts';
import { durationFromMs } from '../xds/durations.ts';
import { nodeMetadata } from '../xds/server/client-connection.ts';
import { onStreamEnd } from '../xds/server/stream-end.ts';
import type { LrsMetrics } from './lrs-metrics.ts';
import type { ClusterStatsMessage, Reporter, ServiceGraph } from './service-graph.ts';

/** `LoadStatsRequest`, decoded. */
interface LoadStatsRequest {
  node?: XdsNode;
  cluster_stats?: ClusterStatsMessage[];
}

/** Options of {@link createLrsService}. */
export interface LrsServiceOptions {
  graph: ServiceGraph;
  /** Interval the server asks clients to report at, ms; default 5,000. */
  reportingIntervalMs?: number;
  /** DNS suffix for short service names in node metadata; default `svc.cluster.local`. */
  domainSuffix?: string;
  metrics?: LrsMetrics;
}

/** The mounted service: definition and handlers for `Server.addService`, plus its lifetime. */
export interface LrsService {
  readonly definition: ServiceDefinition;
  readonly handlers: UntypedServiceImplementation;
  /** Number of open streams. */
  readonly streams: number;
  /** Ends every stream with UNAVAILABLE and refuses new ones. Idempotent. */
  close(): void;
}

/** Reads the reporting workload's identity from its node (Istio's metadata keys plus `WEFT_SERVICE`). */
export function reporterFromNode(node: XdsNode, domainSuffix: string): Reporter {
  const md = nodeMetadata(node);
  const nodeId = node.id ?? '';
  const idParts = nodeId.split('~');
  const fromId = idParts[2]?.split('.')[1];
  const namespace = typeof md.NAMESPACE === 'string' && md.NAMESPACE ? md.NAMESPACE : fromId || 'default';
  const workload = typeof md.WORKLOAD_NAME === 'string' && md.WORKLOAD_NAME ? md.WORKLOAD_NAME : (idParts[2]?.split('.')[0] ?? nodeId);
  let version: string | undefined;
  const labels = md.LABELS;
  if (labels && typeof labels === 'object' && typeof (labels as Record<string, unknown>).version === 'string') version = (labels as Record<string, string>).version;
  else if (typeof labels === 'string') version = /(?:^|,)\s*version=([^,]+)/.exec(labels)?.[1]?.trim();
  const service = typeof md.WEFT_SERVICE === 'string' && md.WEFT_SERVICE ? md.WEFT_SERVICE : undefined;
  return {
    nodeId,
    source: service ? resolveHostname(service, namespace, domainSuffix) : `workload:${namespace}/${workload}`,
    sourceKind: service ? 'service' : 'workload',
    namespace,
    workload,
    ...(version ? { version } : {}),
  };
}

/**
 * Creates the LRS service (see the module comment); nothing listens until its `definition` and
 * `handlers` are added to a grpc-js server (`xds.grpcServer.addService`). The caller owns its
 * lifetime: `close()` ends the open streams.
 */
export function createLrsService(options: LrsServiceOptions): LrsService {
  const { graph, metrics } = options;
  const intervalMs = Math.max(1, options.reportingIntervalMs ?? 5000);
  const domainSuffix = options.domainSuffix ?? 'svc.cluster.local';
  const open = new Set<ServerDuplexStream<LoadStatsRequest, object>>();
  let isClosed = false;

  function StreamLoadStats(call: ServerDuplexStream<LoadStatsRequest, object>): void {
    if (isClosed) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'control plane shutting down' });
      return;
    }
    open.add(call);
    metrics?.streams.inc();
    let reporter: Reporter | undefined;
    let isDone = false;
    const done = (): void => {
      if (isDone) return;
      isDone = true;
      open.delete(call);
      metrics?.streams.dec();
      if (reporter) graph.reporterDisconnected(reporter.nodeId);
    };
    call.on('data', (req: LoadStatsRequest) => {
      if (!reporter) {
        if (!req.node?.id) {
          metrics?.badReports.inc({ reason: 'no_node' });
          call.emit('error', { code: status.INVALID_ARGUMENT, details: 'the first LoadStatsRequest of a stream must carry node.id' });
          done();
          return;
        }
        reporter = reporterFromNode(req.node, domainSuffix);
        graph.reporterConnected(reporter);
        call.write({ send_all_clusters: true, load_reporting_interval: durationFromMs(intervalMs) });
      }
      const stats = req.cluster_stats ?? [];
      if (stats.length === 0) return;
      try {
        graph.record(reporter, stats);
        metrics?.reports.inc();
        metrics?.clusterStats.inc(stats.length);
      } catch {
        metrics?.badReports.inc({ reason: 'malformed' });
      }
    });
    onStreamEnd(call, done);
  }

  return {
    definition: lrsServiceDefinition(),
    handlers: { StreamLoadStats } as UntypedServiceImplementation,
    get streams() {
      return open.size;
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      for (const call of [...open]) {
        try {
          call.emit('error', { code: status.UNAVAILABLE, details: 'control plane shutting down' });
        } catch {
          // the call may already be gone
        }
      }
    },
  };
}
