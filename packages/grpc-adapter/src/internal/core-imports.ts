/**
 * The pieces of `@weft/core` this adapter uses, in one place, all from core's public index
 * (no deep imports into core's modules). Nothing is re-implemented.
 */
export {
  compileRouteTable,
  compileClusterLoadBalancer,
  EndpointStateStore,
  loadHasher,
  RequestHasher,
  compileHeaderMatcher,
  createClusterCircuitBreaker,
  isSampled,
  minTimeoutMs,
  createOutlierDetector,
  grpcStatusToHttpStatus,
  syncEjections,
} from '@weft/core';
export type {
  RouteTable,
  CompiledRoute,
  CompiledVirtualHost,
  RequestFacts,
  ClusterLoadBalancer,
  ClusterLbConfig,
  Hasher,
  LbPolicyName,
  Endpoint as LbEndpoint,
  LocalityEndpointsSpec,
  RequestPredicate,
  ClusterCircuitBreaker,
  OutlierDetector,
} from '@weft/core';
