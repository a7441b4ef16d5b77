/**
 * Decoding and validation of `envoy.config.listener.v3.Listener` (LDS): client-side API
 * listeners whose `api_listener` is an HttpConnectionManager (gRFC A27/A39/A31), and server-side
 * listeners with filter chains (gRFC A36), each chain holding one HttpConnectionManager.
 */
import { TypeUrl, unpackAny, type AnyMessage } from '../protos.ts';
import {
  arr,
  cidrRange,
  decodeSafely,
  durationMs,
  has,
  invalid,
  num,
  obj,
  str,
  wrapped,
  type Obj,
} from './common.ts';
import { decodeHttpFilters } from './http-filters.ts';
import { routeConfigurationFrom } from './route-configuration.ts';
import { certificateSource } from './tls.ts';
import type { DecodeResult, DownstreamTls, FilterChain, FilterChainMatch, HcmTracing, HttpConnectionManager, Listener } from './types.ts';

const HCM_V2 = 'type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager';

/** Checks an RDS `config_source` is one this client can follow: ADS or `self` (A27). */
function checkConfigSource(value: unknown, field: string): void {
  const c = obj(value);
  if (!has(c, 'ads') && !has(c, 'self')) invalid(field, 'config_source must be ads or self');
}

function httpConnectionManager(any: unknown, field: string): HttpConnectionManager {
  const a = obj(any) as unknown as AnyMessage;
  if (a.type_url === HCM_V2) invalid(`${field}.type_url`, 'xDS v2 is not supported; use v3');
  if (a.type_url !== TypeUrl.httpConnectionManager) invalid(`${field}.type_url`, `expected HttpConnectionManager, got ${a.type_url}`);
  let m: Obj;
  try {
    m = unpackAny(a);
  } catch (err) {
    return invalid(field, `cannot decode HttpConnectionManager: ${(err as Error).message}`);
  }
  let routeSource: HttpConnectionManager['routeSource'];
  if (has(m, 'rds')) {
    const rds = obj(m['rds']);
    checkConfigSource(rds['config_source'], `${field}.rds.config_source`);
    const routeConfigName = str(rds['route_config_name']);
    if (routeConfigName === '') invalid(`${field}.rds.route_config_name`, 'must not be empty');
    routeSource = { type: 'rds', routeConfigName };
  } else if (has(m, 'route_config')) {
    routeSource = { type: 'inline', routeConfig: routeConfigurationFrom(obj(m['route_config']), `${field}.route_config`) };
  } else {
    return invalid(field, 'neither rds nor route_config is set (scoped routes are not supported)');
  }
  const common = obj(m['common_http_protocol_options']);
  const maxStreamDurationMs = durationMs(common['max_stream_duration'], `${field}.common_http_protocol_options.max_stream_duration`);
  const idleTimeoutMs = durationMs(common['idle_timeout'], `${field}.common_http_protocol_options.idle_timeout`);
  const tracing = has(m, 'tracing') ? hcmTracing(obj(m['tracing']), `${field}.tracing`) : undefined;
  return {
    routeSource,
    httpFilters: decodeHttpFilters(m['http_filters'], `${field}.http_filters`),
    ...(maxStreamDurationMs ? { maxStreamDurationMs } : {}),
    ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    statPrefix: str(m['stat_prefix']),
    ...(tracing ? { tracing } : {}),
  };
}

/** `HttpConnectionManager.Tracing`: `random_sampling` must be a Percent in [0, 100] (Envoy validates the same). */
function hcmTracing(t: Obj, field: string): HcmTracing {
  if (!has(t, 'random_sampling')) return {};
  const value = obj(t['random_sampling'])['value'] ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    invalid(`${field}.random_sampling.value`, `must be a percentage in [0, 100], got ${String(value)}`);
  }
  return { randomSamplingPercent: value as number };
}

function downstreamTls(value: unknown, field: string): DownstreamTls | undefined {
  const ts = obj(value);
  if (!has(ts, 'typed_config')) return undefined;
  const a = obj(ts['typed_config']) as unknown as AnyMessage;
  if (a.type_url !== TypeUrl.downstreamTlsContext) invalid(`${field}.typed_config`, `unsupported transport socket ${a.type_url}`);
  const m = unpackAny(a);
  const common = obj(m['common_tls_context']);
  const identity = certificateSource(common, 'identity', `${field}.common_tls_context`);
  if (!identity) invalid(`${field}.common_tls_context`, 'a server TLS context needs an identity certificate');
  const validation = certificateSource(common, 'validation', `${field}.common_tls_context`);
  const requireClientCertificate = obj(m['require_client_certificate'])['value'] === true;
  if (requireClientCertificate && !validation) invalid(`${field}.require_client_certificate`, 'set without a validation context');
  return { identity, ...(validation ? { validation } : {}), requireClientCertificate };
}

function filterChainMatch(value: unknown, field: string): FilterChainMatch {
  const m = obj(value);
  const port = wrapped(m['destination_port']);
  return {
    ...(port === undefined ? {} : { destinationPort: port }),
    prefixRanges: arr(m['prefix_ranges']).map((r, i) => cidrRange(r, `${field}.prefix_ranges[${i}]`)),
    sourceType: (str(m['source_type']) || 'ANY') as FilterChainMatch['sourceType'],
    sourcePrefixRanges: arr(m['source_prefix_ranges']).map((r, i) => cidrRange(r, `${field}.source_prefix_ranges[${i}]`)),
    sourcePorts: arr(m['source_ports']).map((p) => num(p)),
    serverNames: arr(m['server_names']).map(String),
    transportProtocol: str(m['transport_protocol']),
    applicationProtocols: arr(m['application_protocols']).map(String),
  };
}

function filterChain(c: Obj, field: string): FilterChain {
  const filters = arr(c['filters']);
  const hcmIndex = filters.findIndex((f) => str(obj(f['typed_config'])['type_url']) === TypeUrl.httpConnectionManager);
  if (hcmIndex === -1 || filters.length !== 1) invalid(`${field}.filters`, 'must hold exactly one HttpConnectionManager (A36)');
  const hcm = httpConnectionManager(obj(filters[hcmIndex])['typed_config'], `${field}.filters[${hcmIndex}].typed_config`);
  const tls = downstreamTls(c['transport_socket'], `${field}.transport_socket`);
  return {
    name: str(c['name']),
    match: filterChainMatch(c['filter_chain_match'], `${field}.filter_chain_match`),
    ...(tls ? { tls } : {}),
    httpConnectionManager: hcm,
  };
}

function listenerFrom(m: Obj): Listener {
  const name = str(m['name']);
  if (has(m, 'api_listener')) {
    const hcm = httpConnectionManager(obj(m['api_listener'])['api_listener'], 'api_listener.api_listener');
    return { name, httpConnectionManager: hcm, filterChains: [] };
  }
  if (!has(m, 'address')) invalid('api_listener', 'neither api_listener nor address is set');
  const socket = obj(obj(m['address'])['socket_address']);
  if (str(socket['address']) === '') invalid('address.socket_address.address', 'must not be empty');
  const chains = arr(m['filter_chains']).map((c, i) => filterChain(c, `filter_chains[${i}]`));
  const defaultChain = has(m, 'default_filter_chain') ? filterChain(obj(m['default_filter_chain']), 'default_filter_chain') : undefined;
  return {
    name,
    address: { address: str(socket['address']), port: num(socket['port_value']) },
    filterChains: chains,
    ...(defaultChain ? { defaultFilterChain: defaultChain } : {}),
  };
}

/** Decodes one LDS resource (already unpacked from its `Any`). Never throws. */
export function decodeListener(message: Obj): DecodeResult<Listener> {
  return decodeSafely(() => listenerFrom(message));
}
