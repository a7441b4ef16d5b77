/**
 * The xDS protocol definitions, loaded once per process from the `.proto` files that the
 * `@grpc/grpc-js-xds` package ships in its `deps/` folders (Envoy API, xDS, googleapis,
 * protoc-gen-validate). Nothing is copied into this repository.
 *
 * Both sides of ADS use this module: the xds-client to decode what it receives and the control
 * plane to encode what it sends, so encoding and decoding agree by construction.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/** The Envoy and Istio `.proto` files Weft needs; imports are resolved from the same roots. */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/load_stats/v3/lrs.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/wrappers.proto',
  'google/rpc/status.proto',
];

/** Type URLs of the resources ADS carries, as every xDS implementation spells them. */
export const TypeUrl = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  clusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  httpConnectionManager:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  rbacPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  localRateLimit: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  upstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  typedStructUdpa: 'type.googleapis.com/udpa.type.v1.TypedStruct',
  typedStructXds: 'type.googleapis.com/xds.type.v3.TypedStruct',
} as const;

/** The four resource types of the LDS → RDS → CDS → EDS chain, plus SDS secrets. */
export type ResourceTypeUrl =
  | typeof TypeUrl.listener
  | typeof TypeUrl.routeConfiguration
  | typeof TypeUrl.cluster
  | typeof TypeUrl.clusterLoadAssignment
  | typeof TypeUrl.secret;

/** A protobuf `Any` as it travels inside a DiscoveryResponse. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** Directories holding the `.proto` trees, taken from the installed `@grpc/grpc-js-xds`. */
export function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xdsRoot = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const dirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(xdsRoot, 'deps', d));
  // protobufjs ships google/protobuf/descriptor.proto, which the validate annotations import.
  dirs.push(dirname(require.resolve('protobufjs/package.json')));
  return dirs;
}

let cachedRoot: protobuf.Root | undefined;

/**
 * The protobufjs root with every message Weft uses, loaded synchronously on first call and
 * shared by the whole process afterwards (loading takes a few hundred milliseconds).
 * Field names are kept in their proto `snake_case` form, as in Envoy's JSON config dumps.
 */
export function xdsRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const includeDirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Looks up a message type by its full name or type URL; throws if the protos lack it. */
export function messageType(nameOrTypeUrl: string): protobuf.Type {
  const name = nameOrTypeUrl.slice(nameOrTypeUrl.lastIndexOf('/') + 1);
  return xdsRoot().lookupType(name);
}

/** Options that turn a decoded message into plain JSON-able objects (enums as names). */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
};

/** Encodes a plain object as a protobuf `Any` of the given type URL. */
export function packAny(typeUrl: string, value: object): AnyMessage {
  const type = messageType(typeUrl);
  return { type_url: typeUrl, value: type.encode(type.fromObject(value)).finish() };
}

/** Decodes a protobuf `Any` into a plain object (see {@link TO_OBJECT_OPTIONS}); throws on garbage. */
export function unpackAny(any: AnyMessage): Record<string, unknown> {
  const type = messageType(any.type_url);
  return type.toObject(type.decode(any.value), TO_OBJECT_OPTIONS);
}
