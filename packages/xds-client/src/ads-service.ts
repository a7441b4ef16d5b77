/**
 * gRPC service definitions for the xDS services Weft speaks, built from the shared protobufjs
 * root so that the client and the control plane encode messages identically. Messages cross
 * the wire as plain objects with proto field names (`type_url`, `version_info`, …).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { messageType, TO_OBJECT_OPTIONS, type AnyMessage } from './protos.ts';
import { isStructShaped, toStruct } from './struct.ts';

/** `google.rpc.Status` as carried in a NACK's `error_detail`. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

/** Istio/Envoy node identity sent on the first request of a stream. */
export interface XdsNode {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

/** The node as it goes on the wire: plain-JSON metadata becomes a `google.protobuf.Struct`. */
export function nodeForWire(node: XdsNode): XdsNode {
  if (node.metadata === undefined || isStructShaped(node.metadata)) return node;
  return { ...node, metadata: toStruct(node.metadata) };
}

/** `envoy.service.discovery.v3.DiscoveryRequest` (state of the world). */
export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

/** `envoy.service.discovery.v3.DiscoveryResponse` (state of the world). */
export interface DiscoveryResponse {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
}

/** `envoy.service.discovery.v3.DeltaDiscoveryRequest` (incremental). */
export interface DeltaDiscoveryRequest {
  node?: XdsNode;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

/** One resource inside a delta response. */
export interface DeltaResource {
  name?: string;
  version?: string;
  resource?: AnyMessage;
  aliases?: string[];
}

/** `envoy.service.discovery.v3.DeltaDiscoveryResponse` (incremental). */
export interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: DeltaResource[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
}

function codec<T extends object>(fullName: string) {
  const type = messageType(fullName);
  return {
    serialize: (value: T): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish()),
    deserialize: (bytes: Buffer): T => type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as T,
  };
}

function bidi<Req extends object, Res extends object>(path: string, req: string, res: string) {
  const requestCodec = codec<Req>(req);
  const responseCodec = codec<Res>(res);
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: requestCodec.serialize,
    requestDeserialize: requestCodec.deserialize,
    responseSerialize: responseCodec.serialize,
    responseDeserialize: responseCodec.deserialize,
  };
}

let ads: ServiceDefinition | undefined;

/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService` with both methods
 * (`StreamAggregatedResources`, `DeltaAggregatedResources`), for `Server.addService` and
 * `makeGenericClientConstructor`. Built once per process.
 */
export function adsServiceDefinition(): ServiceDefinition {
  ads ??= {
    StreamAggregatedResources: bidi<DiscoveryRequest, DiscoveryResponse>(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      'envoy.service.discovery.v3.DiscoveryRequest',
      'envoy.service.discovery.v3.DiscoveryResponse',
    ),
    DeltaAggregatedResources: bidi<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
      'envoy.service.discovery.v3.DeltaDiscoveryRequest',
      'envoy.service.discovery.v3.DeltaDiscoveryResponse',
    ),
  } as ServiceDefinition;
  return ads;
}

let lrs: ServiceDefinition | undefined;

/** `envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats` (LRS). */
export function lrsServiceDefinition(): ServiceDefinition {
  lrs ??= {
    StreamLoadStats: bidi<object, object>(
      '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats',
      'envoy.service.load_stats.v3.LoadStatsRequest',
      'envoy.service.load_stats.v3.LoadStatsResponse',
    ),
  } as ServiceDefinition;
  return lrs;
}
