/**
 * The one telemetry object of a meshed process: who this workload is, its Istio metrics, its
 * tracer, its access log (optional) and its load-stats store. The register hooks create one
 * with {@link meshTelemetryFromEnv} and hand it to the adapters, the admin server and the LRS
 * client; libraries never create one at import time.
 */
import { accessLogFromEnv } from './access-log.ts';
import type { AccessLog } from './access-log.ts';
import { createMeshMetrics } from './istio-metrics.ts';
import type { MeshMetrics, MeshMetricsOptions } from './istio-metrics.ts';
import { LoadStatsStore } from './load-stats-store.ts';
import { createMeshTracer } from './mesh-tracer.ts';
import type { MeshTracer, MeshTracerOptions } from './mesh-tracer.ts';
import { encodePeerMetadataHeader } from './peer-metadata.ts';
import { localWorkloadFromEnv } from './workload-identity-labels.ts';
import type { PeerIdentity } from './workload-identity-labels.ts';

/** See the module comment. All members are long-lived; `close()` flushes the access log. */
export interface MeshTelemetry {
  /** This workload (source labels of outbound requests, destination labels of inbound ones). */
  readonly local: PeerIdentity;
  /** This workload's `x-envoy-peer-metadata` value, computed once. */
  readonly peerMetadataHeader: string;
  /** This workload's `x-envoy-peer-metadata-id` (its xDS node id). */
  readonly peerMetadataId: string;
  readonly metrics: MeshMetrics;
  readonly tracer: MeshTracer;
  /** Undefined when access logging is off. */
  readonly accessLog: AccessLog | undefined;
  readonly loadStats: LoadStatsStore;
  /** Flushes and closes what it owns; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createMeshTelemetry}. */
export interface MeshTelemetryOptions {
  readonly local: PeerIdentity;
  /** Node id for `x-envoy-peer-metadata-id`; default Istio's sidecar form from the identity. */
  readonly nodeId?: string;
  readonly metrics?: MeshMetricsOptions;
  readonly tracer?: MeshTracerOptions;
  readonly accessLog?: AccessLog;
}

/** Assembles a {@link MeshTelemetry}. */
export function createMeshTelemetry(options: MeshTelemetryOptions): MeshTelemetry {
  const local = options.local;
  const accessLog = options.accessLog;
  return {
    local,
    peerMetadataHeader: encodePeerMetadataHeader(local),
    peerMetadataId: options.nodeId ?? `sidecar~127.0.0.1~${local.workload}.${local.namespace}~${local.namespace}.svc.cluster.local`,
    metrics: createMeshMetrics(options.metrics),
    tracer: createMeshTracer(options.tracer),
    accessLog,
    loadStats: new LoadStatsStore(),
    close: async () => {
      await accessLog?.close();
    },
  };
}

/**
 * Telemetry configured from the environment: identity from `WEFT_*`, access log from
 * `WEFT_ACCESS_LOG`, sampling from `WEFT_TRACE_SAMPLING` (percent, default 1),
 * series cap from `WEFT_METRICS_MAX_SERIES` (default 10,000).
 */
export function meshTelemetryFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, overrides: Partial<MeshTelemetryOptions> = {}): MeshTelemetry {
  const sampling = Number(env['WEFT_TRACE_SAMPLING']);
  const maxSeries = Number(env['WEFT_METRICS_MAX_SERIES']);
  return createMeshTelemetry({
    local: localWorkloadFromEnv(env),
    accessLog: accessLogFromEnv(env),
    ...overrides,
    tracer: { samplingPercent: env['WEFT_TRACE_SAMPLING'] !== undefined && Number.isFinite(sampling) ? Math.min(100, Math.max(0, sampling)) : 1, ...overrides.tracer },
    metrics: { maxSeries: Number.isInteger(maxSeries) && maxSeries > 0 ? maxSeries : undefined, ...overrides.metrics },
  });
}
