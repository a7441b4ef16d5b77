/**
 * The pieces of `@weft/core` this adapter uses, in one place. What core's committed public
 * index exports comes from `@weft/core`; the rest (resilience policies, header matchers) is
 * re-exported from core's modules directly until core's index exports them — shim: those lines
 * move to `@weft/core` then, and nothing else in the adapter changes. Nothing is re-implemented.
 */
export { compileRouteTable, compileClusterLoadBalancer, EndpointStateStore, loadHasher, RequestHasher } from '@weft/core';
export type { RouteTable, CompiledRoute, CompiledVirtualHost, RequestFacts, ClusterLoadBalancer, ClusterLbConfig, Hasher, LbPolicyName, Endpoint as LbEndpoint } from '@weft/core';
export type { LocalityEndpointsSpec } from '../../../core/src/lb/types.ts';
export { compileHeaderMatcher } from '../../../core/src/route/string-matcher.ts';
export type { RequestPredicate } from '../../../core/src/route/string-matcher.ts';
export { createClusterCircuitBreaker } from '../../../core/src/resilience/circuit-breaker.ts';
export type { ClusterCircuitBreaker } from '../../../core/src/resilience/circuit-breaker.ts';
export { isSampled } from '../../../core/src/resilience/fractional-percent.ts';
export { minTimeoutMs } from '../../../core/src/resilience/timeouts.ts';
export { createOutlierDetector, grpcStatusToHttpStatus } from '../../../core/src/resilience/outlier-detector.ts';
export type { OutlierDetector } from '../../../core/src/resilience/outlier-detector.ts';
export { syncEjections } from '../../../core/src/resilience/outlier-ejection-sync.ts';
