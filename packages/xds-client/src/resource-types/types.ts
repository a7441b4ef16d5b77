/**
 * The decoded, validated xDS resources that `@weft/xds-client` hands to `@weft/core`.
 *
 * Contract for every type in this file:
 * - Plain readonly data, no classes, no protobuf objects: safe to share between snapshots.
 * - Names are camelCase; durations are milliseconds in fields ending in `Ms`; enums are string
 *   literal unions spelled as in the Envoy proto; oneofs are tagged unions with a `type` field.
 * - Defaults that Envoy/gRPC define are already applied (documented per field), so core never
 *   has to know proto defaults. A field that stays optional means "absent changes behaviour".
 * - A value of these types has passed validation (gRFC A27/A28/A31/A32/A33/A36/A39/A42/A44/A50):
 *   regexes compile, weights sum up, references are non-empty names.
 *
 * Fields are only ever added to these types (additively), never renamed or removed.
 */
import type { MeshError } from '../errors.ts';

// ---------------------------------------------------------------------------------------------
// Shared small types
// ---------------------------------------------------------------------------------------------

/** Result of decoding and validating one resource; decoding never throws. */
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A value or the error that stands in its place (used where one part of an update failed). */
export type XdsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MeshError };

/**
 * A fraction, as `envoy.type.v3.FractionalPercent` (or a `RuntimeFractionalPercent`'s default
 * value). The probability is `numerator / denominator`, capped at 1.
 */
export interface FractionalPercent {
  readonly numerator: number;
  /** 100 (HUNDRED), 10,000 (TEN_THOUSAND) or 1,000,000 (MILLION). */
  readonly denominator: 100 | 10000 | 1000000;
}

/**
 * `envoy.type.matcher.v3.StringMatcher`. `safeRegex` uses RE2 syntax and matches the whole
 * string (Envoy semantics); `ignoreCase` does not apply to `safeRegex`.
 */
export type StringMatcher =
  | { readonly type: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: 'safeRegex'; readonly regex: string };

/** How a header value is tested; the deprecated direct fields are folded into `StringMatcher`. */
export type HeaderValueMatch =
  | StringMatcher
  /** Matches when the header is present (`present: true`) or absent (`present: false`). */
  | { readonly type: 'present'; readonly present: boolean }
  /** Integer value in `[start, end)`; a non-integer value never matches. */
  | { readonly type: 'range'; readonly start: number; readonly end: number };

/** `envoy.config.route.v3.HeaderMatcher`. Multiple values of a header are joined with `,`. */
export interface HeaderMatcher {
  /** Lower-case header name (`:authority`, `:method`, `:path` are pseudo-headers). */
  readonly name: string;
  readonly match: HeaderValueMatch;
  /** Inverts the result (after `match` is evaluated). */
  readonly invertMatch: boolean;
  /** Treat a missing header as the empty string instead of "no match". */
  readonly treatMissingHeaderAsEmpty: boolean;
}

/** `envoy.config.route.v3.QueryParameterMatcher`. */
export interface QueryParameterMatcher {
  readonly name: string;
  /** `present` is always `{ type: 'present', present: true }` here. */
  readonly match: StringMatcher | { readonly type: 'present'; readonly present: true };
}

/** `envoy.config.core.v3.HeaderValueOption`. */
export interface HeaderValueOption {
  readonly key: string;
  readonly value: string;
  /** Default APPEND_IF_EXISTS_OR_ADD; the deprecated `append: false` maps to OVERWRITE_IF_EXISTS_OR_ADD. */
  readonly appendAction: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  readonly keepEmptyValue: boolean;
}

/** Header manipulation shared by route configuration, virtual host, route and weighted cluster. */
export interface HeaderMutations {
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
}

/** A CIDR range (`envoy.config.core.v3.CidrRange`). */
export interface CidrRange {
  readonly addressPrefix: string;
  readonly prefixLen: number;
}

/** `envoy.config.core.v3.Metadata.filter_metadata` as JSON: filter name → struct. */
export type Metadata = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

// ---------------------------------------------------------------------------------------------
// HTTP filters (A39) and their typed configs
// ---------------------------------------------------------------------------------------------

/** `envoy.extensions.filters.http.fault.v3.HTTPFault` (gRFC A33). */
export interface FaultFilterConfig {
  readonly delay?: {
    /** Fixed delay; absent when `headerDelay` is set. */
    readonly fixedDelayMs?: number;
    /** Take the delay from the `x-envoy-fault-delay-request` header. */
    readonly headerDelay: boolean;
    /** Default 100 % (Envoy's default percentage when absent is 100/HUNDRED). */
    readonly percentage: FractionalPercent;
  };
  readonly abort?: {
    /** Exactly one of `httpStatus`, `grpcStatus`, `headerAbort` is set. */
    readonly httpStatus?: number;
    readonly grpcStatus?: number;
    /** Take the status from `x-envoy-fault-abort-request` / `x-envoy-fault-abort-grpc-request`. */
    readonly headerAbort: boolean;
    readonly percentage: FractionalPercent;
  };
  /** Cap on concurrently active faults; absent means unlimited. */
  readonly maxActiveFaults?: number;
  /** Faults apply only when all these match the request. */
  readonly headers: readonly HeaderMatcher[];
  /** Faults apply only to requests routed to this cluster, when set. */
  readonly upstreamCluster?: string;
  /** Faults apply only to requests from these downstream nodes (`x-envoy-downstream-service-node`). */
  readonly downstreamNodes: readonly string[];
}

/** `envoy.config.rbac.v3.Permission` (gRFC A41 subset plus a few Envoy fields). */
export type RbacPermission =
  | { readonly type: 'any' }
  | { readonly type: 'and'; readonly rules: readonly RbacPermission[] }
  | { readonly type: 'or'; readonly rules: readonly RbacPermission[] }
  | { readonly type: 'not'; readonly rule: RbacPermission }
  | { readonly type: 'header'; readonly header: HeaderMatcher }
  | { readonly type: 'urlPath'; readonly path: StringMatcher }
  | { readonly type: 'destinationIp'; readonly cidr: CidrRange }
  | { readonly type: 'destinationPort'; readonly port: number }
  | { readonly type: 'destinationPortRange'; readonly start: number; readonly end: number }
  | { readonly type: 'requestedServerName'; readonly matcher: StringMatcher };

/** `envoy.config.rbac.v3.Principal`. */
export type RbacPrincipal =
  | { readonly type: 'any' }
  | { readonly type: 'and'; readonly ids: readonly RbacPrincipal[] }
  | { readonly type: 'or'; readonly ids: readonly RbacPrincipal[] }
  | { readonly type: 'not'; readonly id: RbacPrincipal }
  /** mTLS peer; without `principalName` any authenticated peer matches. Matched against URI SAN, else subject. */
  | { readonly type: 'authenticated'; readonly principalName?: StringMatcher }
  | { readonly type: 'sourceIp' | 'directRemoteIp' | 'remoteIp'; readonly cidr: CidrRange }
  | { readonly type: 'header'; readonly header: HeaderMatcher }
  | { readonly type: 'urlPath'; readonly path: StringMatcher };

/** One named policy: matches when any permission and any principal match. */
export interface RbacPolicy {
  readonly permissions: readonly RbacPermission[];
  readonly principals: readonly RbacPrincipal[];
}

/** `envoy.config.rbac.v3.RBAC`. Policies keep the order they had on the wire (sorted by name). */
export interface RbacRules {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  readonly policies: ReadonlyMap<string, RbacPolicy>;
}

/**
 * `envoy.extensions.filters.http.rbac.v3.RBAC`, or its per-route override `RBACPerRoute`.
 * Absent `rules` means the filter enforces nothing (Envoy semantics).
 */
export interface RbacFilterConfig {
  readonly rules?: RbacRules;
  /** Evaluated and reported but never enforced. */
  readonly shadowRules?: RbacRules;
}

/** `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`. */
export interface LocalRateLimitFilterConfig {
  readonly statPrefix: string;
  /** Absent: the filter does nothing at this level (e.g. a listener-level default without bucket). */
  readonly tokenBucket?: { readonly maxTokens: number; readonly tokensPerFill: number; readonly fillIntervalMs: number };
  /** Share of requests checked against the bucket; default 0 % (Envoy default). */
  readonly filterEnabled: FractionalPercent;
  /** Share of the over-limit requests actually rejected; default 0 % (Envoy default). */
  readonly filterEnforced: FractionalPercent;
  /** HTTP status of a rejection; default 429. */
  readonly statusCode: number;
  /** Added to the response of rate-limited requests. */
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  /** Added to requests that were over the limit but not enforced. */
  readonly requestHeadersToAddWhenNotEnforced: readonly HeaderValueOption[];
  readonly localRateLimitPerDownstreamConnection: boolean;
  /** Emit `x-ratelimit-*` headers (`DRAFT_VERSION_03`) or not (`OFF`, default). */
  readonly enableXRatelimitHeaders: 'OFF' | 'DRAFT_VERSION_03';
  /** gRPC: answer RESOURCE_EXHAUSTED instead of UNAVAILABLE (`rate_limited_as_resource_exhausted`). */
  readonly rateLimitedAsResourceExhausted: boolean;
}

/**
 * A decoded HTTP filter config. `router` terminates the chain. Optional filters (A39
 * `is_optional`) of unsupported types are dropped at decode time and never appear.
 */
export type HttpFilterConfig =
  | { readonly type: 'router' }
  | { readonly type: 'fault'; readonly fault: FaultFilterConfig }
  | { readonly type: 'rbac'; readonly rbac: RbacFilterConfig }
  | { readonly type: 'localRateLimit'; readonly localRateLimit: LocalRateLimitFilterConfig };

/**
 * A per-route override (`typed_per_filter_config` value), keyed by the filter's instance name.
 * `disabled` comes from `envoy.config.route.v3.FilterConfig { disabled: true }`.
 */
export type FilterOverride = Exclude<HttpFilterConfig, { type: 'router' }> | { readonly type: 'disabled' };

/** Map of filter instance name → override, as found on a virtual host, route or weighted cluster. */
export type TypedPerFilterConfig = ReadonlyMap<string, FilterOverride>;

/** One `http_filters` entry of an HttpConnectionManager. */
export interface HttpFilter {
  /** Instance name, the key for `typedPerFilterConfig` overrides. */
  readonly name: string;
  readonly config: HttpFilterConfig;
  readonly isOptional: boolean;
}

// ---------------------------------------------------------------------------------------------
// RouteConfiguration (RDS)
// ---------------------------------------------------------------------------------------------

/** How a route matches the path; `pathSeparatedPrefix` matches `/a` for `/a`, `/a/…`, `/a?…`. */
export type PathMatch =
  | { readonly type: 'prefix'; readonly prefix: string }
  | { readonly type: 'path'; readonly path: string }
  | { readonly type: 'safeRegex'; readonly regex: string }
  | { readonly type: 'pathSeparatedPrefix'; readonly prefix: string };

/** `envoy.config.route.v3.RouteMatch`. Every present condition must hold. */
export interface RouteMatch {
  readonly path: PathMatch;
  /** Default true; applies to `prefix`, `path` and `pathSeparatedPrefix` (a regex carries its own flags). */
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  /** The route matches only this share of requests (drawn per request); absent = always. */
  readonly runtimeFraction?: FractionalPercent;
  /** Only gRPC requests (`content-type: application/grpc…`) match when true. */
  readonly grpcOnly: boolean;
}

/** One cluster of a `weighted_clusters` action. */
export interface WeightedCluster extends HeaderMutations {
  readonly name: string;
  /** Positive weight (A28: zero-weight entries are dropped; the sum fits in uint32). */
  readonly weight: number;
  readonly typedPerFilterConfig: TypedPerFilterConfig;
  /** Host rewrite specific to this cluster, when set. */
  readonly hostRewriteLiteral?: string;
}

/** Which cluster(s) a route forwards to. */
export type ClusterSpecifier =
  | { readonly type: 'cluster'; readonly cluster: string }
  | { readonly type: 'weightedClusters'; readonly clusters: readonly WeightedCluster[]; readonly totalWeight: number }
  /** Cluster named by a request header; an absent header or unknown cluster answers 503 `NR`/`NC`. */
  | { readonly type: 'clusterHeader'; readonly header: string };

/** `envoy.type.matcher.v3.RegexMatchAndSubstitute`. */
export interface RegexRewrite {
  /** RE2 pattern; every match in the path is replaced. */
  readonly pattern: string;
  /** Substitution with `\1`-style capture references. */
  readonly substitution: string;
}

/** How the `:authority` is rewritten when forwarding. */
export type HostRewrite =
  | { readonly type: 'literal'; readonly host: string }
  | { readonly type: 'header'; readonly header: string }
  | { readonly type: 'auto' }
  | { readonly type: 'pathRegex'; readonly rewrite: RegexRewrite };

/** `envoy.config.route.v3.RetryPolicy` (gRFC A44 plus Envoy's HTTP conditions). */
export interface RetryPolicy {
  /**
   * Retry conditions, lower-case and trimmed: HTTP (`5xx`, `gateway-error`, `reset`,
   * `connect-failure`, `retriable-4xx`, `refused-stream`, `retriable-status-codes`,
   * `retriable-headers`, …) and gRPC (`cancelled`, `deadline-exceeded`, `internal`,
   * `resource-exhausted`, `unavailable`). Unknown names are kept; core ignores what it cannot apply.
   */
  readonly retryOn: readonly string[];
  /** Default 1 (Envoy/A44). */
  readonly numRetries: number;
  /** Absent: each try may use the route's whole timeout. */
  readonly perTryTimeoutMs?: number;
  readonly perTryIdleTimeoutMs?: number;
  /** HTTP status codes for `retriable-status-codes`. */
  readonly retriableStatusCodes: readonly number[];
  /** Defaults 25 ms base, max 10 × base (A44); validated `maxIntervalMs >= baseIntervalMs`. */
  readonly retryBackOff: { readonly baseIntervalMs: number; readonly maxIntervalMs: number };
  /** For `retriable-headers`: a response matching any of these is retried. */
  readonly retriableHeaders: readonly HeaderMatcher[];
  /** Only requests matching all of these are retried (empty: all). */
  readonly retriableRequestHeaders: readonly HeaderMatcher[];
  /** Names of host predicates, e.g. `envoy.retry_host_predicates.previous_hosts` (retry elsewhere). */
  readonly retryHostPredicates: readonly string[];
  /** Default 1. */
  readonly hostSelectionRetryMaxAttempts: number;
}

/** `envoy.config.route.v3.RouteAction.HashPolicy`; evaluated in order until a terminal policy hashes. */
export type HashPolicy = (
  | { readonly type: 'header'; readonly headerName: string; readonly regexRewrite?: RegexRewrite }
  | { readonly type: 'cookie'; readonly name: string; readonly ttlMs?: number; readonly path?: string }
  | { readonly type: 'sourceIp' }
  | { readonly type: 'queryParameter'; readonly name: string }
  | { readonly type: 'filterState'; readonly key: string }
) & { readonly terminal: boolean };

/** `envoy.config.route.v3.RouteAction.RequestMirrorPolicy`: fire-and-forget shadow traffic. */
export interface RequestMirrorPolicy {
  readonly cluster: string;
  /** Share of requests mirrored; absent = all. */
  readonly runtimeFraction?: FractionalPercent;
  readonly traceSampled?: boolean;
}

/** `envoy.config.route.v3.RouteAction`. */
export interface RouteAction {
  readonly clusterSpecifier: ClusterSpecifier;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewrite;
  readonly hostRewrite?: HostRewrite;
  /**
   * Route timeout: absent means Envoy's default of 15 s for HTTP (gRPC clients use
   * `maxStreamDuration` instead, A31); 0 means disabled.
   */
  readonly timeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** `max_stream_duration` (A31): gRPC stream deadline and the `grpc-timeout` cap. */
  readonly maxStreamDuration?: {
    readonly maxStreamDurationMs?: number;
    /** When set, the caller's `grpc-timeout` is honoured up to this value (0 = no cap). */
    readonly grpcTimeoutHeaderMaxMs?: number;
    readonly grpcTimeoutHeaderOffsetMs?: number;
  };
  readonly retryPolicy?: RetryPolicy;
  readonly hashPolicies: readonly HashPolicy[];
  readonly requestMirrorPolicies: readonly RequestMirrorPolicy[];
}

/** `envoy.config.route.v3.RedirectAction`. */
export interface RedirectAction {
  readonly schemeRedirect?: string;
  readonly hostRedirect?: string;
  readonly portRedirect?: number;
  readonly pathRedirect?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewrite;
  /** 301 (default), 302, 303, 307 or 308. */
  readonly responseCode: 301 | 302 | 303 | 307 | 308;
  readonly stripQuery: boolean;
}

/** What a matched route does. `nonForwarding` is for server-side (A36) routes. */
export type RouteActionKind =
  | { readonly type: 'route'; readonly route: RouteAction }
  | { readonly type: 'redirect'; readonly redirect: RedirectAction }
  | { readonly type: 'directResponse'; readonly status: number; readonly body?: string }
  | { readonly type: 'nonForwarding' };

/** `envoy.config.route.v3.Route`. */
export interface Route extends HeaderMutations {
  /** Route name, empty when the server sent none. */
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: RouteActionKind;
  readonly typedPerFilterConfig: TypedPerFilterConfig;
  /** `decorator.operation`, used as the span name when present. */
  readonly decoratorOperation?: string;
}

/** `envoy.config.route.v3.VirtualHost`. */
export interface VirtualHost extends HeaderMutations {
  readonly name: string;
  /** Lower-cased domains: exact, `*.suffix`, `prefix.*` or `*` (Envoy matching order). */
  readonly domains: readonly string[];
  /** In order; the first matching route wins. */
  readonly routes: readonly Route[];
  readonly typedPerFilterConfig: TypedPerFilterConfig;
  /** Virtual-host level retry policy, used by routes without their own. */
  readonly retryPolicy?: RetryPolicy;
  readonly includeRequestAttemptCount: boolean;
}

/** `envoy.config.route.v3.RouteConfiguration`. */
export interface RouteConfiguration extends HeaderMutations {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
}

// ---------------------------------------------------------------------------------------------
// Listener (LDS): client-side API listeners and server-side listeners (A36)
// ---------------------------------------------------------------------------------------------

/** `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`. */
export interface HttpConnectionManager {
  /** Route configuration to fetch over RDS, or inline (no RDS subscription). */
  readonly routeSource:
    | { readonly type: 'rds'; readonly routeConfigName: string }
    | { readonly type: 'inline'; readonly routeConfig: RouteConfiguration };
  /** In order; the last one is the router (validated). */
  readonly httpFilters: readonly HttpFilter[];
  /** `common_http_protocol_options.max_stream_duration` (A31), absent when unset or 0. */
  readonly maxStreamDurationMs?: number;
  /** `common_http_protocol_options.idle_timeout`. */
  readonly idleTimeoutMs?: number;
  readonly statPrefix: string;
  /** `tracing`, present when the field is set on the wire. */
  readonly tracing?: HcmTracing;
}

/** `HttpConnectionManager.Tracing`: what a proxyless client applies of it. */
export interface HcmTracing {
  /**
   * `random_sampling.value` (`envoy.type.v3.Percent`, 0–100): share of new traces sampled.
   * Absent when `random_sampling` is unset (the client keeps its tracer's rate).
   */
  readonly randomSamplingPercent?: number;
}

/**
 * A TLS certificate source: a gRPC certificate provider plugin instance, an SDS secret name, or
 * files on the client's disk (DestinationRule SIMPLE/MUTUAL `caCertificates`,
 * `clientCertificate`/`privateKey`, sent as `trusted_ca.filename` and `tls_certificates`
 * filenames). For `file`, `path` is the PEM trust roots (validation) or certificate chain
 * (identity); an identity also has `privateKeyPath`. The decoder does not read the files: whoever
 * builds the TLS context does, when it connects.
 */
export type CertificateSource =
  | { readonly type: 'certificateProvider'; readonly instanceName: string; readonly certificateName: string }
  | { readonly type: 'sds'; readonly secretName: string }
  | { readonly type: 'file'; readonly path: string; readonly privateKeyPath?: string };

/** `envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext` for server listeners (A29/A36). */
export interface DownstreamTls {
  readonly identity: CertificateSource;
  /** Root used to verify clients; absent = clients are not verified. */
  readonly validation?: CertificateSource;
  readonly requireClientCertificate: boolean;
}

/** `envoy.config.listener.v3.FilterChainMatch` (A36 subset). */
export interface FilterChainMatch {
  readonly destinationPort?: number;
  readonly prefixRanges: readonly CidrRange[];
  readonly sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly sourcePrefixRanges: readonly CidrRange[];
  readonly sourcePorts: readonly number[];
  readonly serverNames: readonly string[];
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
}

/** One server-side filter chain: match criteria, optional TLS and its HttpConnectionManager. */
export interface FilterChain {
  readonly name: string;
  readonly match: FilterChainMatch;
  readonly tls?: DownstreamTls;
  readonly httpConnectionManager: HttpConnectionManager;
}

/**
 * `envoy.config.listener.v3.Listener`. Exactly one of `httpConnectionManager` (client-side API
 * listener, named `host:port`) or `address` + filter chains (server-side listener, A36) is set.
 */
export interface Listener {
  readonly name: string;
  /** Client side: the api_listener's HttpConnectionManager. */
  readonly httpConnectionManager?: HttpConnectionManager;
  /** Server side: the socket address the listener binds. */
  readonly address?: { readonly address: string; readonly port: number };
  readonly filterChains: readonly FilterChain[];
  readonly defaultFilterChain?: FilterChain;
}

// ---------------------------------------------------------------------------------------------
// Cluster (CDS)
// ---------------------------------------------------------------------------------------------

/**
 * A load-balancing policy, from `lb_policy` (+ its per-policy config) or from
 * `load_balancing_policy` (the first supported entry of the list, A52).
 */
export type LbPolicy =
  | { readonly type: 'roundRobin' }
  /** Default `choiceCount` 2 (power of two choices). */
  | { readonly type: 'leastRequest'; readonly choiceCount: number }
  | { readonly type: 'random' }
  /** Defaults: min 1,024, max 8,388,608 entries, XX_HASH (A42 caps max at 8M). */
  | {
      readonly type: 'ringHash';
      readonly minRingSize: number;
      readonly maxRingSize: number;
      readonly hashFunction: 'XX_HASH' | 'MURMUR_HASH_2';
    }
  /** Default table size 65,537 (must be prime). */
  | { readonly type: 'maglev'; readonly tableSize: number }
  /** Weighted locality pick first, then `endpointPickingPolicy` inside the locality. */
  | { readonly type: 'wrrLocality'; readonly endpointPickingPolicy: LbPolicy }
  | { readonly type: 'pickFirst'; readonly shuffleAddressList: boolean };

/** One priority's thresholds of `circuit_breakers` (gRFC A32 plus Envoy's fields); defaults applied. */
export interface CircuitBreakerThresholds {
  readonly priority: 'DEFAULT' | 'HIGH';
  /** Default 1,024. */
  readonly maxConnections: number;
  /** Default 1,024. */
  readonly maxPendingRequests: number;
  /** Default 1,024. */
  readonly maxRequests: number;
  /** Default 3. */
  readonly maxRetries: number;
  /** Retry budget, when set, replaces `maxRetries`. */
  readonly retryBudget?: { readonly budgetPercent: number; readonly minRetryConcurrency: number };
}

/**
 * `envoy.config.cluster.v3.OutlierDetection` with Envoy's defaults applied to every field
 * (gRFC A50 reads the same fields). Percentages are 0..100; `successRateStdevFactor` is the
 * proto value (1900 means 1.9).
 */
export interface OutlierDetection {
  /** Default 5. */
  readonly consecutive5xx: number;
  /** Default 10,000. */
  readonly intervalMs: number;
  /** Default 30,000; multiplied by the number of times the host was ejected. */
  readonly baseEjectionTimeMs: number;
  /** Default 300,000 (or `baseEjectionTimeMs` when that is larger). */
  readonly maxEjectionTimeMs: number;
  /** Default 0. */
  readonly maxEjectionTimeJitterMs: number;
  /** Default 10. */
  readonly maxEjectionPercent: number;
  /** Default 100. */
  readonly enforcingConsecutive5xx: number;
  /** Default 100. */
  readonly enforcingSuccessRate: number;
  /** Default 5. */
  readonly successRateMinimumHosts: number;
  /** Default 100. */
  readonly successRateRequestVolume: number;
  /** Default 1900. */
  readonly successRateStdevFactor: number;
  /** Default 5. */
  readonly consecutiveGatewayFailure: number;
  /** Default 0. */
  readonly enforcingConsecutiveGatewayFailure: number;
  /** Default false. */
  readonly splitExternalLocalOriginErrors: boolean;
  /** Default 5. */
  readonly consecutiveLocalOriginFailure: number;
  /** Default 100. */
  readonly enforcingConsecutiveLocalOriginFailure: number;
  /** Default 100. */
  readonly enforcingLocalOriginSuccessRate: number;
  /** Default 85. */
  readonly failurePercentageThreshold: number;
  /** Default 0. */
  readonly enforcingFailurePercentage: number;
  /** Default 0. */
  readonly enforcingFailurePercentageLocalOrigin: number;
  /** Default 5. */
  readonly failurePercentageMinimumHosts: number;
  /** Default 50. */
  readonly failurePercentageRequestVolume: number;
  /** Which of the fields were present on the wire (A50 enables algorithms by presence). */
  readonly isSuccessRateConfigured: boolean;
  readonly isFailurePercentageConfigured: boolean;
}

/** A Subject Alternative Name matcher of an upstream validation context. */
export interface SanMatcher {
  readonly sanType: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME' | 'ANY';
  readonly matcher: StringMatcher;
}

/** `envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext` (gRFC A29). */
export interface UpstreamTls {
  readonly sni?: string;
  /** Client certificate to present (mTLS); absent = plain TLS. */
  readonly identity?: CertificateSource;
  /** Root to verify the server with; absent = system roots. */
  readonly validation?: CertificateSource;
  /** The peer's SAN must match one of these (empty = any). For Istio: SPIFFE URIs. */
  readonly matchSubjectAltNames: readonly SanMatcher[];
  readonly alpnProtocols: readonly string[];
}

/** One `transport_socket_matches` entry of a cluster; `tls` absent = plaintext. */
export interface TransportSocketMatch {
  readonly name: string;
  /** The `match` Struct as JSON; `{}` matches every endpoint. */
  readonly match: Readonly<Record<string, unknown>>;
  readonly tls?: UpstreamTls;
}

/** How the cluster's endpoints are found. */
export type ClusterDiscovery =
  /** EDS over ADS; `serviceName` is the EDS resource name (`eds_service_name`, else the cluster name). */
  | { readonly type: 'eds'; readonly serviceName: string }
  /** A single DNS name resolved by the client (A37). */
  | { readonly type: 'logicalDns'; readonly host: string; readonly port: number }
  /** An ordered list of other clusters, tried by priority (A37). */
  | { readonly type: 'aggregate'; readonly clusters: readonly string[] }
  /** Endpoints inline in the cluster (`load_assignment`). */
  | { readonly type: 'static'; readonly endpoints: ClusterLoadAssignment };

/** `envoy.config.cluster.v3.Cluster`. */
export interface Cluster {
  /** Istio style: `outbound|9080|v1|reviews.default.svc.cluster.local`. */
  readonly name: string;
  readonly discovery: ClusterDiscovery;
  readonly lbPolicy: LbPolicy;
  /** True when locality weights apply (`locality_weighted_lb_config` or `wrr_locality`). */
  readonly isLocalityWeighted: boolean;
  /** One entry per priority present (DEFAULT first); DEFAULT is always present with defaults. */
  readonly circuitBreakers: readonly CircuitBreakerThresholds[];
  /** Absent: outlier detection is off for this cluster. */
  readonly outlierDetection?: OutlierDetection;
  /** Absent: plaintext upstream (unless a `transportSocketMatches` entry applies). */
  readonly tls?: UpstreamTls;
  /**
   * `transport_socket_matches`: per-endpoint transport sockets (Istio auto mTLS). The first
   * entry whose `match` fields all equal the endpoint's (or its locality's)
   * `filter_metadata["envoy.transport_socket_match"]` wins; none matching falls back to `tls`.
   */
  readonly transportSocketMatches?: readonly TransportSocketMatch[];
  /** Default 5,000. */
  readonly connectTimeoutMs: number;
  /** Report load for this cluster over LRS to the ADS server (`lrs_server: self`). */
  readonly isLoadReportingEnabled: boolean;
  /** `metadata.filter_metadata` as JSON (Istio puts `istio: { services, subset, config }` here). */
  readonly metadata: Metadata;
  /** Upstream HTTP protocol: from `typed_extension_protocol_options` or the legacy fields. */
  readonly upstreamProtocol: 'http1' | 'http2' | 'useDownstream' | 'auto';
  /** `max_requests_per_connection`; absent = unlimited. */
  readonly maxRequestsPerConnection?: number;
  /** Connection idle timeout (`common_http_protocol_options.idle_timeout`). */
  readonly idleTimeoutMs?: number;
  /** `max_concurrent_streams` of HTTP/2 options, when set. */
  readonly http2MaxConcurrentStreams?: number;
}

// ---------------------------------------------------------------------------------------------
// ClusterLoadAssignment (EDS)
// ---------------------------------------------------------------------------------------------

/** Health as published in EDS. */
export type EndpointHealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

/** `envoy.config.core.v3.Locality`. */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** One `lb_endpoints` entry. */
export interface Endpoint {
  /** IP address or DNS name. */
  readonly address: string;
  readonly port: number;
  /** `additional_addresses` (dual stack, A61), in order. */
  readonly additionalAddresses: readonly { readonly address: string; readonly port: number }[];
  readonly hostname?: string;
  readonly healthStatus: EndpointHealthStatus;
  /** Default 1; never 0 (validated). */
  readonly loadBalancingWeight: number;
  /** `metadata.filter_metadata` as JSON (Istio: `istio.workload`, labels, tlsMode). */
  readonly metadata: Metadata;
}

/** One `endpoints` entry: a locality at a priority. */
export interface LocalityEndpoints {
  readonly locality: Locality;
  /** 0 is the highest priority; priorities are contiguous from 0 (validated, A27). */
  readonly priority: number;
  /** Locality weight; absent (or 0) means the locality is skipped under weighted locality LB. */
  readonly loadBalancingWeight?: number;
  readonly endpoints: readonly Endpoint[];
}

/** `envoy.config.endpoint.v3.ClusterLoadAssignment`. */
export interface ClusterLoadAssignment {
  /** The EDS resource name (the cluster's `serviceName`). */
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpoints[];
  /** `policy.overprovisioning_factor / 100`; default 1.4. */
  readonly overprovisioningFactor: number;
  /** `policy.drop_overloads`: drop this share of requests up front, per category. */
  readonly dropOverloads: readonly { readonly category: string; readonly dropPercentage: FractionalPercent }[];
}

// ---------------------------------------------------------------------------------------------
// The complete update handed to core
// ---------------------------------------------------------------------------------------------

/** One cluster of an {@link XdsConfig} with what it needs to pick endpoints. */
export interface XdsClusterConfig {
  readonly cluster: Cluster;
  /**
   * EDS clusters: their endpoints (a ClusterLoadAssignment that does not exist yet or any more
   * is represented as one with no localities, as gRPC does). Static clusters: the inline
   * assignment. Logical DNS and aggregate clusters: absent.
   */
  readonly endpoints?: ClusterLoadAssignment;
  /** Aggregate clusters: the leaf clusters in priority order (each also in `XdsConfig.clusters`). */
  readonly leafClusters?: readonly string[];
}

/**
 * A complete, consistent view for one listener name: the listener, its route configuration
 * (inline or from RDS), and every cluster that any route (including weighted clusters, mirror
 * policies and aggregate children) references, each with its endpoints. Nothing referenced is
 * missing: a cluster the server says does not exist or sent invalid is present as an error, so
 * core can answer 503 for that cluster and serve the rest.
 *
 * Immutable; a new object is delivered for every change.
 */
export interface XdsConfig {
  /** The watched listener name (`host:port`). */
  readonly listenerName: string;
  readonly listener: Listener;
  readonly routeConfig: RouteConfiguration;
  /** Cluster name → its config, or the error that stands in its place. */
  readonly clusters: ReadonlyMap<string, XdsResult<XdsClusterConfig>>;
}

/**
 * Receives complete updates for one listener name (see `XdsClient.watchXdsConfig`).
 * Never called synchronously from the call that registered it, never called after the
 * watch was disposed. Callbacks must not throw (a throw is caught and ignored).
 */
export interface XdsConfigWatcher {
  /** A new complete config; replaces the previous one. */
  onUpdate(config: XdsConfig): void;
  /**
   * A transient problem (control plane unreachable, an update NACKed). The last config given
   * to `onUpdate` stays valid; keep using it.
   */
  onError(error: MeshError): void;
  /**
   * The listener or its route configuration does not exist on the server (explicit removal or
   * the 15 s does-not-exist timer). `resource` names what is missing. Stop using the config
   * until `onUpdate` is called again.
   */
  onResourceDoesNotExist(resource: { readonly typeUrl: string; readonly name: string }): void;
}
