export { MeshError, ErrorCode, isMeshError } from '@weft/xds-client';
export type { ErrorCodeValue, ResponseFlag, MeshErrorOptions } from '@weft/xds-client';
export { createWorkloadIdentity } from './identity/workload-identity.ts';
export type { WorkloadIdentity, WorkloadIdentityOptions, IdentityMaterial, ListenerHandle } from './identity/workload-identity.ts';
export type { CertificateSigner, CertificateSigningRequest, SignedCertificateChain, SignerCredentials } from './identity/certificate-signer.ts';
export { verifyPeerSpiffeId, createSpiffeServerIdentityCheck, formatSpiffeId, parseSpiffeId, spiffeUrisOf } from './identity/spiffe-id.ts';
export type { SpiffeId, PeerIdentityPolicy } from './identity/spiffe-id.ts';
export { verifyCertificateChain, splitPemCertificates } from './identity/certificate-chain.ts';
export type { ChainPolicy, VerifiedCertificate } from './identity/certificate-chain.ts';
export { createWorkloadCsr } from './identity/csr.ts';
export type { WorkloadCsr } from './identity/csr.ts';
export { readJoinToken } from './identity/token-source.ts';
// Mesh, route table and load balancing (issue 5).
export { Mesh } from './mesh/mesh.ts';
export type { MeshOptions, WaitForHostOptions, RoutedRequest, XdsConfigSource, XdsWatchHandle, HostUpdateListener } from './mesh/mesh.ts';
export { HostSnapshot } from './mesh/host-snapshot.ts';
export type { RouteDecision } from './mesh/host-snapshot.ts';
export { listenerNameFor, splitAuthority } from './mesh/authority.ts';
export type { AuthorityOptions } from './mesh/authority.ts';
export { RouteTable, compileRouteTable } from './route/route-table.ts';
export type { CompiledRoute, CompiledVirtualHost, RouteTableOptions } from './route/route-table.ts';
export { DomainMatcher } from './route/domain-matcher.ts';
export type { RequestFacts, HeaderMap } from './route/request-facts.ts';
export { compileCluster } from './cluster/compiled-cluster.ts';
export type { CompiledCluster } from './cluster/compiled-cluster.ts';
export { ClusterLoadBalancer, compileClusterLoadBalancer } from './lb/cluster-load-balancer.ts';
export type { ClusterLbConfig, ClusterLbDependencies } from './lb/cluster-load-balancer.ts';
export { EndpointStateStore, endpointKey } from './lb/endpoint-state-store.ts';
export { loadHasher } from './lb/hasher.ts';
export type { Hasher } from './lb/hasher.ts';
export { RequestHasher } from './lb/request-hash.ts';
export { computePriorityLoad } from './lb/priority-load.ts';
export type { PriorityLoad, PriorityCounts } from './lb/priority-load.ts';
export type { Endpoint, EndpointState, HealthStatus, LbPolicyName, PickContext, EndpointPicker } from './lb/types.ts';
// Resilience policies (issue 6): retries, timeouts, circuit breaking, outlier detection, local rate limit, faults.
export { FractionalPercentDenominator, ALWAYS, NEVER, fractionOf, fromPercentage, parseDenominator, isSampled } from './resilience/fractional-percent.ts';
export type { FractionalPercent, FractionalPercentDenominatorValue, RandomSource } from './resilience/fractional-percent.ts';
export { readHeader, compileHeaderCondition, compileAllHeaders, compileAnyHeader } from './resilience/header-match.ts';
export type { HeaderRecord, HeaderValueMatcher, HeaderCondition, HeaderPredicate } from './resilience/header-match.ts';
export { RetryPolicy, RetryState, compileRetryPolicy, ISTIO_DEFAULT_RETRY_POLICY, RETRY_CONDITIONS, PREVIOUS_HOSTS_PREDICATE } from './resilience/retry-policy.ts';
export type { RetryPolicyOptions, RetryCondition, AttemptOutcome, RetryDecision, NoRetryReason, RetryGate, RetryStateOptions } from './resilience/retry-policy.ts';
export { createRetryBackoff, retryBackoffCeilingMs, DEFAULT_RETRY_BASE_INTERVAL_MS } from './resilience/retry-backoff.ts';
export type { RetryBackoffOptions } from './resilience/retry-backoff.ts';
export { RequestDeadline, AttemptDeadline, createRequestDeadline, createTimeoutError, minTimeoutMs, parseGrpcTimeout, formatGrpcTimeout } from './resilience/timeouts.ts';
export type { RequestDeadlineOptions, TimeoutScope } from './resilience/timeouts.ts';
export { ClusterCircuitBreaker, createClusterCircuitBreaker, DEFAULT_CIRCUIT_BREAKER_LIMIT, DEFAULT_MAX_RETRIES } from './resilience/circuit-breaker.ts';
export type { CircuitBreakerResource, RoutingPriority, CircuitBreakerThresholds, CircuitBreakerOptions } from './resilience/circuit-breaker.ts';
export { OutlierDetector, createOutlierDetector, grpcStatusToHttpStatus } from './resilience/outlier-detector.ts';
export type { OutlierResult, EjectionReason, EjectionEvent, UnejectionEvent, OutlierDetectorOptions } from './resilience/outlier-detector.ts';
export { OUTLIER_DETECTION_DEFAULTS, resolveOutlierDetectionOptions } from './resilience/outlier-detection-options.ts';
export type { OutlierDetectionOptions, ResolvedOutlierDetectionOptions } from './resilience/outlier-detection-options.ts';
export { syncEjections } from './resilience/outlier-ejection-sync.ts';
export type { EjectionTarget } from './resilience/outlier-ejection-sync.ts';
export { TokenBucket, MIN_FILL_INTERVAL_MS } from './resilience/token-bucket.ts';
export type { TokenBucketOptions } from './resilience/token-bucket.ts';
export { LocalRateLimiter, createLocalRateLimiter } from './resilience/local-rate-limit.ts';
export type { LocalRateLimitOptions, RateLimitDecision, RateLimitDescriptor, RateLimitDescriptorEntry, RateLimitHeader, LocalRateLimitStats } from './resilience/local-rate-limit.ts';
export {
  FaultInjector,
  createFaultInjector,
  createFaultAbortError,
  httpStatusToGrpcStatus,
  FAULT_DELAY_HEADER,
  FAULT_DELAY_PERCENTAGE_HEADER,
  FAULT_ABORT_HEADER,
  FAULT_ABORT_GRPC_HEADER,
  FAULT_ABORT_PERCENTAGE_HEADER,
  DOWNSTREAM_NODE_HEADER,
} from './resilience/fault-injection.ts';
export type { FaultInjectionOptions, FaultRequest, FaultAbort, FaultDecision } from './resilience/fault-injection.ts';
export { runResilientCall } from './resilience/resilient-call.ts';
export type { ResilientCallOptions, ResilientCallResult, AttemptContext, AttemptResult } from './resilience/resilient-call.ts';
export { identityTlsOptions, identitySecureContext } from './identity/tls-material.ts';
export type { IdentityTlsOptions } from './identity/tls-material.ts';
export { policyErrorResponse } from './resilience/error-responses.ts';
export type { PolicyErrorResponse } from './resilience/error-responses.ts';
export type { RetryBackoffFormula } from './resilience/retry-backoff.ts';
// Telemetry (issue H3): Istio metrics, tracing, access log, load stats; per-workload admin server.
export { MeshMetrics, createMeshMetrics, destinationServiceOf, ISTIO_LABEL_NAMES, ISTIO_DURATION_BUCKETS_MS, ISTIO_BYTE_BUCKETS, UNKNOWN_SERVICE } from './telemetry/istio-metrics.ts';
export type { MeshMetricsOptions, RequestSample, DestinationService } from './telemetry/istio-metrics.ts';
export { createPeerIdentity, localWorkloadFromEnv, peerFromEndpointMetadata, withPrincipal, UNKNOWN, UNKNOWN_PEER } from './telemetry/workload-identity-labels.ts';
export type { PeerIdentity, PeerIdentityInput } from './telemetry/workload-identity-labels.ts';
export { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, PEER_EXCHANGE_PER_CONNECTION, takesPeerMetadataOncePerConnection, encodePeerMetadataHeader, decodePeerMetadataHeader, encodeStruct, decodeStruct, peerFromStruct, peerMetadataStruct } from './telemetry/peer-metadata.ts';
export { extractTraceContext, parseTraceparent, formatTraceparent, newTraceId, newSpanId } from './telemetry/trace-context.ts';
export type { WireTraceContext, HeaderGetter } from './telemetry/trace-context.ts';
export { MeshTracer, createMeshTracer } from './telemetry/mesh-tracer.ts';
export type { MeshSpan, MeshTracerOptions, InboundTraceState } from './telemetry/mesh-tracer.ts';
export { AccessLog, createAccessLog, accessLogFromEnv } from './telemetry/access-log.ts';
export type { AccessLogEntry, AccessLogOptions } from './telemetry/access-log.ts';
export { LoadStatsStore, createLoadStatsStore, isLoadError } from './telemetry/load-stats-store.ts';
export type { ClusterLoad, LocalityLoad, LoadLocality, RequestCounts, DropCategory, LoadAttempt } from './telemetry/load-stats-store.ts';
export { createMeshTelemetry, meshTelemetryFromEnv } from './telemetry/mesh-telemetry.ts';
export type { MeshTelemetry, MeshTelemetryOptions } from './telemetry/mesh-telemetry.ts';
export { startTelemetryFromEnv, isTraceExportConfigured } from './telemetry/otel-sdk-start.ts';
export type { TelemetrySdkHandle } from './telemetry/otel-sdk-start.ts';
export { startAdminServer, startAdminServerFromEnv, UNMESHED_SERVER } from './admin/admin-server.ts';
export type { AdminServerOptions, AdminServerHandle, AdminMeshView } from './admin/admin-server.ts';
// Security (mTLS, PeerAuthentication, AuthorizationPolicy): RBAC engine, inbound policy, upstream TLS, certificate providers.
export { compileRbacFilter, compileRbacChain, createAccessDeniedError, RBAC_DENIED_BODY } from './security/rbac-engine.ts';
export type { RbacRequest, RbacDenial, CompiledRbacFilter, RbacChain } from './security/rbac-engine.ts';
export { compileInboundPolicy, defaultInboundPolicy, createMtlsRequiredError } from './security/inbound-policy.ts';
export type { InboundPolicy, InboundChain, InboundTlsMode } from './security/inbound-policy.ts';
export { inboundListenerName, DEFAULT_SERVER_LISTENER_TEMPLATE } from './security/inbound-watch.ts';
export type { InboundPolicyWatcher, ListenerWatchSource } from './security/inbound-watch.ts';
export { compileUpstreamTls, PLAINTEXT_UPSTREAM } from './security/upstream-tls.ts';
export type { UpstreamTlsMode, UpstreamTlsRequirement, CompiledUpstreamTls } from './security/upstream-tls.ts';
export { createCertificateProviders } from './security/certificate-providers.ts';
export type { CertificateProviders, CertificateProvidersOptions, TlsCredentials } from './security/certificate-providers.ts';
export { compileCidr, normalizeIp } from './security/cidr.ts';
export type { IpPredicate } from './security/cidr.ts';
export { upstreamTlsOf } from './cluster/compiled-cluster.ts';
export { clusterStatsOf, startLoadReporting } from './telemetry/load-reporting.ts';
export type { LoadReportingOptions } from './telemetry/load-reporting.ts';
export { createIdentityFromEnv, isMtlsEnabled } from './identity/identity-from-env.ts';
export { followListenerSampling, samplingPercentOfListener } from './telemetry/listener-sampling.ts';
export { startWorkloadTelemetry } from './telemetry/workload-telemetry.ts';
export type { WorkloadTelemetryOptions, WorkloadTelemetryHandle } from './telemetry/workload-telemetry.ts';
// Used by the gRPC adapter (previously deep-imported through its core-imports shim).
export { compileHeaderMatcher, compileStringMatcher } from './route/string-matcher.ts';
export type { RequestPredicate, StringPredicate } from './route/string-matcher.ts';
export type { LocalityEndpointsSpec } from './lb/types.ts';
// The process's shared workload (register hooks).
export { startProcessWorkload, parseServedPorts } from './workload/process-workload.ts';
export type { ProcessWorkload, WorkloadEnv } from './workload/process-workload.ts';
export { upstreamSecureContext } from './security/upstream-context.ts';
