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
export { wrapHttpServer, createInboundListener } from './inbound/wrap-http-server.ts';
export type { InboundOptions, InboundHandle, RequestListener } from './inbound/wrap-http-server.ts';
export { wrapServersListeningOn } from './inbound/listen-hook.ts';
export type { ListenHookHandle } from './inbound/listen-hook.ts';
export { MeshError, ErrorCode, isMeshError } from '@weft/xds-client';
export { startInboundTelemetry } from './telemetry/inbound-telemetry.ts';
export type { InboundTelemetryOptions, InboundTelemetryHandle } from './telemetry/inbound-telemetry.ts';
export type { OutboundRecord } from './internal/request-context.ts';
