/**
 * A real grpc-js LRS client for tests: opens `StreamLoadStats`, sends the node, waits for the
 * server's `LoadStatsResponse`, then sends the reports the test gives it — what a workload's
 * load reporter does, without the SDK. Test support only.
 */
import { credentials, makeGenericClientConstructor, type ClientDuplexStream } from '@grpc/grpc-js';
import { lrsServiceDefinition, type XdsNode } from '@weft/xds-client';
import type { ClusterStatsMessage } from '../service-graph.ts';

/** The server's answer to the node. */
export interface LoadStatsResponseMessage {
  clusters?: string[];
  send_all_clusters?: boolean;
  load_reporting_interval?: { seconds?: number; nanos?: number };
}

/** One open LRS stream. */
export interface LrsTestStream {
  /** The first response (bounded wait). */
  readonly response: Promise<LoadStatsResponseMessage>;
  /** Sends one report. */
  report(clusterStats: ClusterStatsMessage[]): void;
  /** Cancels the stream and closes the channel. */
  close(): void;
}

/** Opens a stream to `address` as `node`. */
export function openLrsStream(address: string, node: XdsNode, timeoutMs = 5000): LrsTestStream {
  const Ctor = makeGenericClientConstructor(lrsServiceDefinition(), 'LoadReportingService');
  const client = new Ctor(address, credentials.createInsecure()) as unknown as { StreamLoadStats(): ClientDuplexStream<object, object>; close(): void };
  const call = client.StreamLoadStats();
  const response = new Promise<LoadStatsResponseMessage>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no LoadStatsResponse within ${timeoutMs} ms`)), timeoutMs);
    call.once('data', (r: LoadStatsResponseMessage) => {
      clearTimeout(t);
      resolve(r);
    });
    call.once('error', (e: Error) => {
      clearTimeout(t);
      reject(e);
    });
  });
  response.catch(() => {});
  call.on('error', () => {});
  call.write({ node });
  return {
    response,
    report: (clusterStats) => void call.write({ node, cluster_stats: clusterStats }),
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** A ClusterStats for `cluster` with one locality (and an optional latency metric). */
export function clusterStats(cluster: string, counts: { issued: number; ok: number; errors?: number; inProgress?: number; latencyMs?: number; dropped?: number }): ClusterStatsMessage {
  const finished = counts.ok + (counts.errors ?? 0);
  return {
    cluster_name: cluster,
    total_dropped_requests: counts.dropped ?? 0,
    upstream_locality_stats: [{
      total_issued_requests: counts.issued,
      total_successful_requests: counts.ok,
      total_error_requests: counts.errors ?? 0,
      total_requests_in_progress: counts.inProgress ?? 0,
      ...(counts.latencyMs !== undefined && finished > 0 ? { load_metric_stats: [{ metric_name: 'latency_ms', num_requests_finished_with_metric: finished, total_metric_value: counts.latencyMs * finished }] } : {}),
    }],
  };
}
