/**
 * The HTTP protocol a cluster speaks to its endpoints, as istiod decides it for outbound
 * clusters: `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`.
 *
 * In istiod's order, each step overriding the one before:
 * 1. the port's protocol: HTTP2, GRPC and GRPC-WEB (from the ServiceEntry `protocol`, else the
 *    port name prefix `http2-`, `grpc-`) → `explicit_http_config.http2_protocol_options`;
 * 2. DestinationRule `connectionPool.http.useClientProtocol: true` → `use_downstream_protocol_config`
 *    (HTTP/1 and HTTP/2 options both present, as istiod writes them);
 * 3. `connectionPool.http.h2UpgradePolicy: UPGRADE` → HTTP/2 whatever the port says;
 *    `DO_NOT_UPGRADE` and `DEFAULT` change nothing (the mesh-wide default is not to upgrade, so an
 *    HTTP port stays HTTP/1 and an HTTP2/GRPC port stays HTTP/2).
 *
 * The same message carries the connection-pool settings that are not circuit breakers:
 * `http.idleTimeout` (else `tcp.idleTimeout`) → `common_http_protocol_options.idle_timeout`,
 * `http.maxRequestsPerConnection` → `common_http_protocol_options.max_requests_per_connection`,
 * and, on an HTTP/2 cluster, `http.maxConcurrentStreams` → `http2_protocol_options.max_concurrent_streams`.
 * When only those are set the protocol is written out as HTTP/1 (`explicit_http_config.http_protocol_options`),
 * because Envoy requires a protocol choice in the message.
 *
 * Every client kind can be sent the result: Envoy and Weft apply it, gRPC clients (grpc-js-xds
 * included) ignore `typed_extension_protocol_options`, and their channels are HTTP/2 anyway.
 */
import { parseDurationMs, durationFromMs } from '../durations.ts';
import type { ConnectionPoolView } from './istio-views.ts';
import { packResource } from './pack.ts';

/** The extension name (map key) of Envoy's upstream HTTP protocol options. */
export const UPSTREAM_HTTP_PROTOCOL_OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** The type URL of `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`. */
export const UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE_URL = `type.googleapis.com/${UPSTREAM_HTTP_PROTOCOL_OPTIONS_NAME}`;

/** Istio port protocols that are HTTP/2 on the wire (istio `protocol.Instance.IsHTTP2`). */
const HTTP2_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP2', 'GRPC', 'GRPC-WEB']);

/** The upstream protocol a cluster is given: `http1` means none was asked for. */
export type UpstreamProtocolChoice = 'http1' | 'http2' | 'useDownstream';

/**
 * The protocol istiod picks for an outbound cluster of a port with Istio protocol
 * `portProtocol` (upper case; `undefined` for a host no registry knows) under `pool`.
 */
export function upstreamProtocolChoice(portProtocol: string | undefined, pool: ConnectionPoolView | undefined): UpstreamProtocolChoice {
  let choice: UpstreamProtocolChoice = portProtocol !== undefined && HTTP2_PROTOCOLS.has(portProtocol) ? 'http2' : 'http1';
  if (pool?.http?.useClientProtocol === true) choice = 'useDownstream';
  if (pool?.http?.h2UpgradePolicy === 'UPGRADE') choice = 'http2';
  return choice;
}

/**
 * The `HttpProtocolOptions` message (proto field names) for a cluster, or `undefined` when the
 * cluster needs none (HTTP/1 with no idle timeout or per-connection limits: Envoy's default).
 */
export function httpProtocolOptions(portProtocol: string | undefined, pool: ConnectionPoolView | undefined): Record<string, unknown> | undefined {
  const choice = upstreamProtocolChoice(portProtocol, pool);
  const common: Record<string, unknown> = {};
  const idleMs = parseDurationMs(pool?.http?.idleTimeout) ?? parseDurationMs(pool?.tcp?.idleTimeout);
  if (idleMs !== undefined) common.idle_timeout = durationFromMs(idleMs);
  const perConnection = pool?.http?.maxRequestsPerConnection;
  if (perConnection !== undefined && perConnection > 0) common.max_requests_per_connection = { value: perConnection };
  const hasCommon = Object.keys(common).length > 0;
  if (choice === 'http1' && !hasCommon) return undefined;
  const message: Record<string, unknown> = hasCommon ? { common_http_protocol_options: common } : {};
  if (choice === 'useDownstream') {
    message.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
  } else if (choice === 'http2') {
    const streams = pool?.http?.maxConcurrentStreams;
    message.explicit_http_config = { http2_protocol_options: streams !== undefined && streams > 0 ? { max_concurrent_streams: { value: streams } } : {} };
  } else {
    message.explicit_http_config = { http_protocol_options: {} };
  }
  return message;
}

/**
 * The cluster fields for {@link httpProtocolOptions}: `typed_extension_protocol_options` with
 * the message packed as an `Any`, or nothing.
 */
export function upstreamProtocolFields(portProtocol: string | undefined, pool: ConnectionPoolView | undefined): Record<string, unknown> {
  const message = httpProtocolOptions(portProtocol, pool);
  if (!message) return {};
  return { typed_extension_protocol_options: { [UPSTREAM_HTTP_PROTOCOL_OPTIONS_NAME]: packResource(UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE_URL, message) } };
}
