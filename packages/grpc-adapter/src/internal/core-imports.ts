/**
 * The pieces of `@weft/core` this adapter uses that core's public index does not export yet
 * (route table, cluster load balancer, circuit breaker, header matchers, fractional percents).
 *
 * Shim: this file moves to `@weft/core` — once core's `src/index.ts` exports these names, every
 * line below becomes `export … from '@weft/core'` and nothing else in the adapter changes.
 * Nothing here is re-implemented; it only re-exports core's own modules.
 */
export { compileRouteTable } from '../../../core/src/route/route-table.ts';
export type { RouteTable, CompiledRoute, CompiledVirtualHost } from '../../../core/src/route/route-table.ts';
export type { RequestFacts } from '../../../core/src/route/request-facts.ts';
export { compileHeaderMatcher } from '../../../core/src/route/string-matcher.ts';
export type { RequestPredicate } from '../../../core/src/route/string-matcher.ts';
export { compileClusterLoadBalancer } from '../../../core/src/lb/cluster-load-balancer.ts';
export type { ClusterLoadBalancer, ClusterLbConfig } from '../../../core/src/lb/cluster-load-balancer.ts';
export { EndpointStateStore } from '../../../core/src/lb/endpoint-state-store.ts';
export { loadHasher } from '../../../core/src/lb/hasher.ts';
export type { Hasher } from '../../../core/src/lb/hasher.ts';
export { RequestHasher } from '../../../core/src/lb/request-hash.ts';
export type { Endpoint as LbEndpoint, LbPolicyName, LocalityEndpointsSpec } from '../../../core/src/lb/types.ts';
export { createClusterCircuitBreaker } from '../../../core/src/resilience/circuit-breaker.ts';
export type { ClusterCircuitBreaker } from '../../../core/src/resilience/circuit-breaker.ts';
export { isSampled } from '../../../core/src/resilience/fractional-percent.ts';
export { minTimeoutMs } from '../../../core/src/resilience/timeouts.ts';
