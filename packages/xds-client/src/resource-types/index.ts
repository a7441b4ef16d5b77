/**
 * The resource types the client understands: for each type URL, how to take the resource name
 * out of a received `Any` and how to decode + validate it. Decoding never throws; a resource
 * whose name cannot be read is reported with an empty name.
 */
import { TypeUrl, unpackAny, type AnyMessage } from '../protos.ts';
import { obj, str, type Obj } from './common.ts';
import { decodeCluster } from './cluster.ts';
import { decodeClusterLoadAssignment } from './endpoint.ts';
import { decodeListener } from './listener.ts';
import { decodeRouteConfiguration } from './route-configuration.ts';
import type { Cluster, ClusterLoadAssignment, DecodeResult, Listener, RouteConfiguration } from './types.ts';

/** The four types of the LDS → RDS → CDS → EDS chain. */
export type XdsResourceTypeUrl =
  | typeof TypeUrl.listener
  | typeof TypeUrl.routeConfiguration
  | typeof TypeUrl.cluster
  | typeof TypeUrl.clusterLoadAssignment;

/** Decoded value type per type URL. */
export interface XdsResourceValues {
  [TypeUrl.listener]: Listener;
  [TypeUrl.routeConfiguration]: RouteConfiguration;
  [TypeUrl.cluster]: Cluster;
  [TypeUrl.clusterLoadAssignment]: ClusterLoadAssignment;
}

/** Any decoded resource value. */
export type XdsResourceValue = Listener | RouteConfiguration | Cluster | ClusterLoadAssignment;

/** One resource taken out of a response: its name and its decode result. */
export interface DecodedResource {
  readonly name: string;
  readonly result: DecodeResult<XdsResourceValue>;
}

const WRAPPER_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

const DECODERS: Record<XdsResourceTypeUrl, { nameField: string; decode: (m: Obj) => DecodeResult<XdsResourceValue> }> = {
  [TypeUrl.listener]: { nameField: 'name', decode: decodeListener },
  [TypeUrl.routeConfiguration]: { nameField: 'name', decode: decodeRouteConfiguration },
  [TypeUrl.cluster]: { nameField: 'name', decode: decodeCluster },
  [TypeUrl.clusterLoadAssignment]: { nameField: 'cluster_name', decode: decodeClusterLoadAssignment },
};

/** True when the client can decode this type URL. */
export function isSupportedTypeUrl(typeUrl: string): typeUrl is XdsResourceTypeUrl {
  return Object.hasOwn(DECODERS, typeUrl);
}

/**
 * Decodes one resource `Any` of a response whose type is `typeUrl`. An `Any` of another type
 * (or undecodable bytes) yields a failed result naming what was wrong.
 */
export function decodeResource(typeUrl: XdsResourceTypeUrl, any: AnyMessage): DecodedResource {
  let message: Obj;
  let inner = any;
  try {
    if (any.type_url === WRAPPER_URL) {
      const wrapper = unpackAny(any);
      inner = obj(wrapper['resource']) as unknown as AnyMessage;
    }
    if (inner.type_url !== typeUrl) {
      return { name: '', result: { ok: false, error: `resource of type ${inner.type_url} in a response of type ${typeUrl}` } };
    }
    message = unpackAny(inner);
  } catch (err) {
    return { name: '', result: { ok: false, error: `cannot decode resource: ${(err as Error).message}` } };
  }
  const decoder = DECODERS[typeUrl];
  const name = str(message[decoder.nameField]);
  if (name === '') return { name, result: { ok: false, error: `${decoder.nameField}: must not be empty` } };
  return { name, result: decoder.decode(message) };
}
