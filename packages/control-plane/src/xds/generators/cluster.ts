/**
 * CDS generator: one EDS cluster per service port (`outbound|port||host`) and one per
 * DestinationRule subset (`outbound|port|subset|host`), with the DestinationRule traffic policy
 * applied: load balancer, consistent hash (ring hash), locality weighting, connection pool →
 * circuit breaker thresholds, outlier detection, upstream TLS (upstream-tls.ts: ISTIO_MUTUAL,
 * auto mTLS, SIMPLE/MUTUAL) and the upstream HTTP protocol (upstream-protocol.ts: HTTP/2 for
 * HTTP2/GRPC ports, `h2UpgradePolicy`, `useClientProtocol`).
 */
import { TypeUrl } from '@weft/xds-client';
import { durationFromMs, parseDurationMs, protoDuration } from '../durations.ts';
import { clusterName } from '../names.ts';
import type { TrafficPolicyView } from './istio-views.ts';
import type { GeneratedResource, GeneratorContext } from './types.ts';
import { upstreamProtocolFields } from './upstream-protocol.ts';
import { upstreamTransport } from './upstream-tls.ts';

/** The type URL this generator produces. */
export const CLUSTER_TYPE_URL = TypeUrl.cluster;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function lbPolicy(ctx: GeneratorContext, name: string, policy: TrafficPolicyView, out: Record<string, unknown>): void {
  const lb = policy.loadBalancer;
  let wanted = 'ROUND_ROBIN';
  if (lb?.consistentHash) wanted = lb.consistentHash.maglev ? 'MAGLEV' : 'RING_HASH';
  else if (lb?.simple && lb.simple !== 'UNSPECIFIED' && lb.simple !== 'PASSTHROUGH') wanted = lb.simple;
  if (!ctx.caps.lbPolicies.has(wanted)) {
    ctx.omit({ type: 'cluster', resource: name, field: 'trafficPolicy.loadBalancer', reason: `${wanted} is not supported by ${ctx.caps.kind} clients; ROUND_ROBIN sent` });
    wanted = 'ROUND_ROBIN';
  }
  out.lb_policy = wanted;
  if (wanted === 'RING_HASH') {
    const minimum = lb?.consistentHash?.ringHash?.minimumRingSize ?? lb?.consistentHash?.minimumRingSize;
    out.ring_hash_lb_config = { hash_function: 'XX_HASH', ...(minimum ? { minimum_ring_size: { value: minimum } } : {}) };
  }
  if (wanted === 'MAGLEV' && lb?.consistentHash?.maglev?.tableSize) {
    out.maglev_lb_config = { table_size: { value: lb.consistentHash.maglev.tableSize } };
  }
  if (lb?.localityLbSetting && lb.localityLbSetting.enabled !== false) {
    out.common_lb_config = { locality_weighted_lb_config: {} };
  }
}

function circuitBreakers(policy: TrafficPolicyView): Record<string, unknown> | undefined {
  const pool = policy.connectionPool;
  if (!pool) return undefined;
  const t: Record<string, unknown> = {};
  if (pool.tcp?.maxConnections) t.max_connections = { value: pool.tcp.maxConnections };
  if (pool.http?.http1MaxPendingRequests) t.max_pending_requests = { value: pool.http.http1MaxPendingRequests };
  if (pool.http?.http2MaxRequests) t.max_requests = { value: pool.http.http2MaxRequests };
  if (pool.http?.maxRetries) t.max_retries = { value: pool.http.maxRetries };
  if (Object.keys(t).length === 0) return undefined;
  return { thresholds: [{ priority: 'DEFAULT', ...t }] };
}

function outlierDetection(ctx: GeneratorContext, name: string, policy: TrafficPolicyView): Record<string, unknown> | undefined {
  const od = policy.outlierDetection;
  if (!od) return undefined;
  const out: Record<string, unknown> = {};
  const consecutive5xx = od.consecutive5xxErrors ?? od.consecutiveErrors;
  if (consecutive5xx !== undefined) {
    out.consecutive_5xx = { value: consecutive5xx };
    out.enforcing_consecutive_5xx = { value: consecutive5xx > 0 ? 100 : 0 };
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
    out.enforcing_consecutive_gateway_failure = { value: od.consecutiveGatewayErrors > 0 ? 100 : 0 };
  }
  const interval = protoDuration(od.interval);
  if (interval) out.interval = interval;
  const ejection = protoDuration(od.baseEjectionTime);
  if (ejection) out.base_ejection_time = ejection;
  if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = { value: od.maxEjectionPercent };
  // Istio turns success-rate ejection off; consecutive errors are the only trigger.
  out.enforcing_success_rate = { value: 0 };
  if (!ctx.caps.hasConsecutiveErrorOutlierDetection) {
    // gRFC A50 ejects by success rate / failure percentage; translate consecutive errors to a
    // failure-percentage rule so the client still ejects failing endpoints.
    ctx.omit({ type: 'cluster', resource: name, field: 'trafficPolicy.outlierDetection.consecutive5xxErrors', reason: `${ctx.caps.kind} clients eject by failure percentage only (gRFC A50); sent as failure_percentage_threshold` });
    if (consecutive5xx) {
      out.failure_percentage_threshold = { value: 50 };
      out.enforcing_failure_percentage = { value: 100 };
      out.failure_percentage_minimum_hosts = { value: 1 };
      out.failure_percentage_request_volume = { value: Math.max(consecutive5xx, 1) };
    }
  }
  return out;
}

/** Builds one cluster for a service port and (optional) subset. */
export function buildCluster(ctx: GeneratorContext, hostname: string, port: number, subset: string): GeneratedResource {
  const name = clusterName(hostname, port, subset);
  const policy = ctx.index.trafficPolicyFor(hostname, port, subset);
  const connectTimeoutMs = parseDurationMs(policy.connectionPool?.tcp?.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const message: Record<string, unknown> = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    // clients report per-locality load to the server that sent this cluster (our LRS service)
    lrs_server: { self: {} },
    connect_timeout: durationFromMs(connectTimeoutMs),
  };
  lbPolicy(ctx, name, policy, message);
  const breakers = circuitBreakers(policy);
  if (breakers) message.circuit_breakers = breakers;
  const outlier = outlierDetection(ctx, name, policy);
  if (outlier) message.outlier_detection = outlier;
  const healthy = policy.outlierDetection?.minHealthPercent;
  if (healthy !== undefined) {
    message.common_lb_config = { ...((message.common_lb_config as object) ?? {}), healthy_panic_threshold: { value: healthy } };
  }
  const portProtocol = ctx.index.model.services.get(hostname)?.ports.find((p) => p.number === port)?.protocol;
  Object.assign(message, upstreamProtocolFields(portProtocol, policy.connectionPool));
  Object.assign(message, upstreamTransport(ctx, name, hostname, port, subset));
  return { name, message };
}

/** Every cluster of the model: per service port, plus per subset of its DestinationRule. */
export function generateClusters(ctx: GeneratorContext): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const svc of ctx.index.services) {
    const subsets = ctx.index.destinationRuleFor(svc.hostname)?.spec.subsets ?? [];
    for (const port of svc.ports) {
      out.push(buildCluster(ctx, svc.hostname, port.number, ''));
      for (const s of subsets) out.push(buildCluster(ctx, svc.hostname, port.number, s.name));
    }
  }
  return out;
}
