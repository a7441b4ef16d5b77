export { createMeshDispatcher, MeshDispatcher } from './mesh-dispatcher.ts';
export type { MeshDispatcherOptions } from './mesh-dispatcher.ts';
export type { OutboundTrafficPolicy } from './interceptors/route-interceptor.ts';
export { RESPONSE_FLAGS_HEADER } from './internal/local-reply.ts';
export type { LocalReplyMode } from './internal/local-reply.ts';
export type {
  MeshView,
  MeshWaitOptions,
  HostView,
  RouteView,
  ClusterView,
  BalancerView,
  EndpointView,
  EndpointStateView,
  MeshRequestFacts,
  RequestHeaderMap,
} from './mesh-view.ts';
export { MeshError, ErrorCode, isMeshError } from '@weft/xds-client';
