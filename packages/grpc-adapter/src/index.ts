/**
 * @weft/grpc-adapter: grpc-js clients and servers on the Weft mesh. Public exports only.
 */
export { registerWeftGrpc, isGrpcJsXdsRegistered } from './internal/registration.ts';
export type { RegisterWeftGrpcOptions, WeftGrpcRegistration } from './internal/registration.ts';
export { createStaticXdsConfigSource } from './internal/config-source.ts';
export type { XdsConfigSource, StaticXdsConfigSource } from './internal/config-source.ts';
export { weftChannelOptions } from './internal/channel-options.ts';
export type { WeftChannelOptions } from './internal/channel-options.ts';
export { CONFIG_SOURCE_OPTION, INITIAL_RESOLUTION_TIMEOUT_OPTION, TELEMETRY_OPTION } from './internal/weft-resolver.ts';
export type { ResolverEvents } from './internal/weft-resolver.ts';
export { WEFT_ERROR_CODE_KEY } from './internal/grpc-status.ts';
export { WEFT_LB_POLICY_NAME } from './internal/weft-load-balancer.ts';
export { createWeftServer } from './internal/server-wrapper.ts';
export type { WeftServer, WeftServerOptions } from './internal/server-wrapper.ts';
export { healthServiceDefinition } from './internal/health-service.ts';
export type { ServingStatus } from './internal/health-service.ts';
export { meshConfigSource, lazyConfigSource } from './internal/mesh-source.ts';
export type { MeshLike } from './internal/mesh-source.ts';
export { createTelemetryServerInterceptor } from './internal/telemetry-server-interceptor.ts';
export type { TelemetryServerInterceptorOptions } from './internal/telemetry-server-interceptor.ts';
export { telemetryClientFilterFactory } from './internal/telemetry-client-filter.ts';
export { createWeftChannelCredentials } from './internal/mesh-credentials.ts';
export type { WeftChannelCredentialsOptions } from './internal/mesh-credentials.ts';
export type { MeshServerSecurityOptions } from './internal/server-security.ts';
