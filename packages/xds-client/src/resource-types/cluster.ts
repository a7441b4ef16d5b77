/**
 * Decoding and validation of `envoy.config.cluster.v3.Cluster` (CDS) per gRFC A27 (EDS over
 * ADS), A37 (aggregate and logical DNS), A42 (ring hash), A32 (circuit breaking), A50 (outlier
 * detection), A52 (`load_balancing_policy`), A29 (TLS), plus Envoy's least request, random and
 * Maglev policies that grpc-js-xds rejects.
 */
import { unpackAny, type AnyMessage } from '../protos.ts';
import {
  arr,
  structToJson,
  decodeSafely,
  durationMs,
  has,
  invalid,
  metadata,
  num,
  obj,
  str,
  unwrapTypedConfig,
  UPSTREAM_HTTP_PROTOCOL_OPTIONS,
  wrapped,
  type Obj,
} from './common.ts';
import { clusterLoadAssignmentFrom } from './endpoint.ts';
import { upstreamTls } from './tls.ts';
import type { CircuitBreakerThresholds, Cluster, ClusterDiscovery, DecodeResult, LbPolicy, OutlierDetection } from './types.ts';

const AGGREGATE_URL = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig';
const LB_PREFIX = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';
const MAX_RING_SIZE = 8 * 1024 * 1024;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function ringHash(minRaw: number | undefined, maxRaw: number | undefined, fn: unknown, field: string): LbPolicy {
  const minRingSize = minRaw ?? 1024;
  const maxRingSize = maxRaw ?? MAX_RING_SIZE;
  if (minRingSize > MAX_RING_SIZE) invalid(`${field}.minimum_ring_size`, `${minRingSize} exceeds ${MAX_RING_SIZE}`);
  if (maxRingSize > MAX_RING_SIZE) invalid(`${field}.maximum_ring_size`, `${maxRingSize} exceeds ${MAX_RING_SIZE}`);
  if (minRingSize > maxRingSize) invalid(`${field}.minimum_ring_size`, `${minRingSize} is greater than maximum_ring_size ${maxRingSize}`);
  const hashFunction = fn === 'MURMUR_HASH_2' ? 'MURMUR_HASH_2' : 'XX_HASH';
  return { type: 'ringHash', minRingSize, maxRingSize, hashFunction };
}

function maglev(tableSize: number | undefined, field: string): LbPolicy {
  const size = tableSize ?? 65537;
  if (!isPrime(size) || size > 5000011) invalid(`${field}.table_size`, `${size} must be a prime no larger than 5000011`);
  return { type: 'maglev', tableSize: size };
}

/** One `load_balancing_policy` entry → policy, or undefined when the type is not supported. */
function typedLbPolicy(any: unknown, field: string): LbPolicy | undefined {
  const typeUrl = str(obj(any)['type_url']);
  if (!typeUrl.startsWith(LB_PREFIX)) return undefined;
  const { message: m } = unwrapTypedConfig(any, field);
  const kind = typeUrl.slice(LB_PREFIX.length).split('.')[0];
  switch (kind) {
    case 'round_robin':
      return { type: 'roundRobin' };
    case 'least_request': {
      const choiceCount = wrapped(m['choice_count']) ?? 2;
      if (choiceCount < 2) invalid(`${field}.choice_count`, 'must be at least 2');
      return { type: 'leastRequest', choiceCount };
    }
    case 'random':
      return { type: 'random' };
    case 'ring_hash':
      return ringHash(wrapped(m['minimum_ring_size']), wrapped(m['maximum_ring_size']), m['hash_function'], field);
    case 'maglev':
      return maglev(wrapped(m['table_size']), field);
    case 'pick_first':
      return { type: 'pickFirst', shuffleAddressList: m['shuffle_address_list'] === true };
    case 'wrr_locality': {
      const inner = policyList(obj(m['endpoint_picking_policy']), `${field}.endpoint_picking_policy`);
      return { type: 'wrrLocality', endpointPickingPolicy: inner };
    }
    default:
      return undefined;
  }
}

/** A52: the first supported entry of `policies` wins; none supported is an error. */
function policyList(list: Obj, field: string): LbPolicy {
  const policies = arr(list['policies']);
  for (let i = 0; i < policies.length; i++) {
    const ext = obj(policies[i]?.['typed_extension_config']);
    const policy = typedLbPolicy(ext['typed_config'], `${field}.policies[${i}].typed_extension_config.typed_config`);
    if (policy) return policy;
  }
  return invalid(`${field}.policies`, 'no supported load balancing policy in the list');
}

function lbPolicy(m: Obj): LbPolicy {
  if (has(m, 'load_balancing_policy')) return policyList(obj(m['load_balancing_policy']), 'load_balancing_policy');
  switch (str(m['lb_policy']) || 'ROUND_ROBIN') {
    case 'ROUND_ROBIN':
      return { type: 'roundRobin' };
    case 'LEAST_REQUEST': {
      const choiceCount = wrapped(obj(m['least_request_lb_config'])['choice_count']) ?? 2;
      if (choiceCount < 2) invalid('least_request_lb_config.choice_count', 'must be at least 2');
      return { type: 'leastRequest', choiceCount };
    }
    case 'RANDOM':
      return { type: 'random' };
    case 'RING_HASH': {
      const c = obj(m['ring_hash_lb_config']);
      return ringHash(wrapped(c['minimum_ring_size']), wrapped(c['maximum_ring_size']), c['hash_function'], 'ring_hash_lb_config');
    }
    case 'MAGLEV':
      return maglev(wrapped(obj(m['maglev_lb_config'])['table_size']), 'maglev_lb_config');
    default:
      return invalid('lb_policy', `unsupported lb_policy ${str(m['lb_policy'])}`);
  }
}

function circuitBreakers(m: Obj): CircuitBreakerThresholds[] {
  const out: CircuitBreakerThresholds[] = [];
  arr(obj(m['circuit_breakers'])['thresholds']).forEach((t, i) => {
    const priority = str(t['priority']) === 'HIGH' ? 'HIGH' : 'DEFAULT';
    if (out.some((o) => o.priority === priority)) invalid(`circuit_breakers.thresholds[${i}].priority`, `duplicate priority ${priority}`);
    const budget = obj(t['retry_budget']);
    out.push({
      priority,
      maxConnections: wrapped(t['max_connections']) ?? 1024,
      maxPendingRequests: wrapped(t['max_pending_requests']) ?? 1024,
      maxRequests: wrapped(t['max_requests']) ?? 1024,
      maxRetries: wrapped(t['max_retries']) ?? 3,
      ...(has(t, 'retry_budget')
        ? { retryBudget: { budgetPercent: num(obj(budget['budget_percent'])['value'] ?? 20), minRetryConcurrency: wrapped(budget['min_retry_concurrency']) ?? 3 } }
        : {}),
    });
  });
  if (!out.some((o) => o.priority === 'DEFAULT')) {
    out.unshift({ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
  }
  return out.sort((a, b) => (a.priority === b.priority ? 0 : a.priority === 'DEFAULT' ? -1 : 1));
}

function outlierDetection(value: unknown): OutlierDetection {
  const o = obj(value);
  const f = 'outlier_detection';
  const pct = (key: string, fallback: number): number => {
    const v = wrapped(o[key]) ?? fallback;
    if (v > 100) invalid(`${f}.${key}`, `${v} exceeds 100`);
    return v;
  };
  const baseEjectionTimeMs = durationMs(o['base_ejection_time'], `${f}.base_ejection_time`) ?? 30000;
  return {
    consecutive5xx: wrapped(o['consecutive_5xx']) ?? 5,
    intervalMs: durationMs(o['interval'], `${f}.interval`) ?? 10000,
    baseEjectionTimeMs,
    maxEjectionTimeMs: durationMs(o['max_ejection_time'], `${f}.max_ejection_time`) ?? Math.max(300000, baseEjectionTimeMs),
    maxEjectionTimeJitterMs: durationMs(o['max_ejection_time_jitter'], `${f}.max_ejection_time_jitter`) ?? 0,
    maxEjectionPercent: pct('max_ejection_percent', 10),
    enforcingConsecutive5xx: pct('enforcing_consecutive_5xx', 100),
    enforcingSuccessRate: pct('enforcing_success_rate', 100),
    successRateMinimumHosts: wrapped(o['success_rate_minimum_hosts']) ?? 5,
    successRateRequestVolume: wrapped(o['success_rate_request_volume']) ?? 100,
    successRateStdevFactor: wrapped(o['success_rate_stdev_factor']) ?? 1900,
    consecutiveGatewayFailure: wrapped(o['consecutive_gateway_failure']) ?? 5,
    enforcingConsecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    splitExternalLocalOriginErrors: o['split_external_local_origin_errors'] === true,
    consecutiveLocalOriginFailure: wrapped(o['consecutive_local_origin_failure']) ?? 5,
    enforcingConsecutiveLocalOriginFailure: pct('enforcing_consecutive_local_origin_failure', 100),
    enforcingLocalOriginSuccessRate: pct('enforcing_local_origin_success_rate', 100),
    failurePercentageThreshold: pct('failure_percentage_threshold', 85),
    enforcingFailurePercentage: pct('enforcing_failure_percentage', 0),
    enforcingFailurePercentageLocalOrigin: pct('enforcing_failure_percentage_local_origin', 0),
    failurePercentageMinimumHosts: wrapped(o['failure_percentage_minimum_hosts']) ?? 5,
    failurePercentageRequestVolume: wrapped(o['failure_percentage_request_volume']) ?? 50,
    isSuccessRateConfigured: ['success_rate_minimum_hosts', 'success_rate_request_volume', 'success_rate_stdev_factor', 'enforcing_success_rate'].some((k) => has(o, k)),
    isFailurePercentageConfigured: ['failure_percentage_threshold', 'enforcing_failure_percentage', 'failure_percentage_minimum_hosts', 'failure_percentage_request_volume'].some((k) => has(o, k)),
  };
}

function discovery(m: Obj, name: string): ClusterDiscovery {
  if (m['cluster_discovery_type'] === 'cluster_type' || has(m, 'cluster_type')) {
    const ct = obj(m['cluster_type']);
    const typed = obj(ct['typed_config']) as unknown as AnyMessage;
    if (typed.type_url !== AGGREGATE_URL) invalid('cluster_type.typed_config', `unsupported cluster type ${typed.type_url}`);
    const clusters = arr(unpackAny(typed)['clusters']).map(String);
    if (clusters.length === 0) invalid('cluster_type.typed_config.clusters', 'an aggregate cluster needs at least one cluster');
    return { type: 'aggregate', clusters };
  }
  switch (str(m['type']) || 'STATIC') {
    case 'EDS': {
      const eds = obj(m['eds_cluster_config']);
      const source = obj(eds['eds_config']);
      if (!has(source, 'ads') && !has(source, 'self')) invalid('eds_cluster_config.eds_config', 'must be ads or self');
      return { type: 'eds', serviceName: str(eds['service_name']) || name };
    }
    case 'LOGICAL_DNS': {
      const cla = clusterLoadAssignmentFrom(obj(m['load_assignment']), 'load_assignment');
      const all = cla.localities.flatMap((l) => l.endpoints);
      const only = all[0];
      if (all.length !== 1 || !only) invalid('load_assignment', 'a LOGICAL_DNS cluster needs exactly one endpoint');
      return { type: 'logicalDns', host: only.address, port: only.port };
    }
    case 'STATIC':
      return { type: 'static', endpoints: clusterLoadAssignmentFrom(obj(m['load_assignment']), 'load_assignment', name) };
    default:
      return invalid('type', `unsupported discovery type ${str(m['type'])}`);
  }
}

function protocol(m: Obj): { upstreamProtocol: Cluster['upstreamProtocol']; common: Obj; http2: Obj | undefined } {
  const ext = obj(m['typed_extension_protocol_options'])['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  if (ext !== undefined) {
    const field = 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]';
    if (str(obj(ext)['type_url']) !== UPSTREAM_HTTP_PROTOCOL_OPTIONS) invalid(field, 'unexpected type');
    const { message: o } = unwrapTypedConfig(ext, field);
    const common = obj(o['common_http_protocol_options']);
    if (has(o, 'explicit_http_config')) {
      const explicit = obj(o['explicit_http_config']);
      if (has(explicit, 'http2_protocol_options')) return { upstreamProtocol: 'http2', common, http2: obj(explicit['http2_protocol_options']) };
      return { upstreamProtocol: 'http1', common, http2: undefined };
    }
    if (has(o, 'use_downstream_protocol_config')) return { upstreamProtocol: 'useDownstream', common, http2: undefined };
    return { upstreamProtocol: 'auto', common, http2: undefined };
  }
  if (has(m, 'http2_protocol_options')) return { upstreamProtocol: 'http2', common: obj(m['common_http_protocol_options']), http2: obj(m['http2_protocol_options']) };
  return { upstreamProtocol: 'http1', common: obj(m['common_http_protocol_options']), http2: undefined };
}

function clusterFrom(m: Obj): Cluster {
  const name = str(m['name']);
  if (name === '') invalid('name', 'must not be empty');
  const lb = lbPolicy(m);
  const od = has(m, 'outlier_detection') ? outlierDetection(m['outlier_detection']) : undefined;
  const tls = upstreamTls(m['transport_socket'], 'transport_socket');
  const transportSocketMatches = arr(m['transport_socket_matches']).map((t, i) => {
    const f = `transport_socket_matches[${i}]`;
    const matchTls = upstreamTls(t['transport_socket'], `${f}.transport_socket`);
    return { name: str(t['name']), match: structToJson(t['match']), ...(matchTls ? { tls: matchTls } : {}) };
  });
  const p = protocol(m);
  const maxRequestsPerConnection = wrapped(p.common['max_requests_per_connection']) ?? wrapped(m['max_requests_per_connection']);
  const idleTimeoutMs = durationMs(p.common['idle_timeout'], 'common_http_protocol_options.idle_timeout');
  const http2MaxConcurrentStreams = p.http2 ? wrapped(p.http2['max_concurrent_streams']) : undefined;
  const lrs = obj(m['lrs_server']);
  return {
    name,
    discovery: discovery(m, name),
    lbPolicy: lb,
    isLocalityWeighted: lb.type === 'wrrLocality' || has(obj(m['common_lb_config']), 'locality_weighted_lb_config'),
    circuitBreakers: circuitBreakers(m),
    ...(od ? { outlierDetection: od } : {}),
    ...(tls ? { tls } : {}),
    ...(transportSocketMatches.length > 0 ? { transportSocketMatches } : {}),
    connectTimeoutMs: durationMs(m['connect_timeout'], 'connect_timeout') ?? 5000,
    isLoadReportingEnabled: has(lrs, 'self') || has(lrs, 'ads'),
    metadata: metadata(m['metadata']),
    upstreamProtocol: p.upstreamProtocol,
    ...(maxRequestsPerConnection ? { maxRequestsPerConnection } : {}),
    ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    ...(http2MaxConcurrentStreams ? { http2MaxConcurrentStreams } : {}),
  };
}

/** Decodes one CDS resource (already unpacked from its `Any`). Never throws. */
export function decodeCluster(message: Obj): DecodeResult<Cluster> {
  return decodeSafely(() => clusterFrom(message));
}
