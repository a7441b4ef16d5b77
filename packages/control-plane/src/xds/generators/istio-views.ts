/**
 * Narrow, read-only views of the Istio spec fields the generators read. The generated
 * `@kubernetes-models/istio` types spell every oneOf as a union of variants, which makes plain
 * field access verbose; the generators read the validated spec through these views instead.
 */

/** Istio `StringMatch`. */
export interface StringMatchView {
  exact?: string;
  prefix?: string;
  regex?: string;
}

/** Istio `HTTPMatchRequest`. */
export interface HttpMatchView {
  name?: string;
  uri?: StringMatchView;
  method?: StringMatchView;
  authority?: StringMatchView;
  headers?: Record<string, StringMatchView>;
  withoutHeaders?: Record<string, StringMatchView>;
  queryParams?: Record<string, StringMatchView>;
  ignoreUriCase?: boolean;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
}

/** Istio `Destination`. */
export interface DestinationView {
  host: string;
  subset?: string;
  port?: { number?: number };
}

/** Istio `HTTPRoute`. */
export interface HttpRouteView {
  name?: string;
  match?: HttpMatchView[];
  route?: { destination: DestinationView; weight?: number }[];
  redirect?: { uri?: string; authority?: string; redirectCode?: number; scheme?: string };
  directResponse?: { status: number; body?: { string?: string; bytes?: string } };
  rewrite?: { uri?: string; authority?: string };
  timeout?: string;
  retries?: { attempts?: number; perTryTimeout?: string; retryOn?: string };
  fault?: {
    delay?: { fixedDelay?: string; percentage?: { value?: number }; percent?: number };
    abort?: { httpStatus?: number; grpcStatus?: string; percentage?: { value?: number } };
  };
  mirror?: DestinationView;
  mirrorPercentage?: { value?: number };
  corsPolicy?: unknown;
  headers?: unknown;
}

/** Istio `VirtualService` spec. */
export interface VirtualServiceView {
  hosts?: string[];
  gateways?: string[];
  http?: HttpRouteView[];
  exportTo?: string[];
}

/** Istio `LoadBalancerSettings`. */
export interface LoadBalancerView {
  simple?: string;
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: {
    enabled?: boolean;
    distribute?: { from?: string; to?: Record<string, number> }[];
    failover?: { from?: string; to?: string }[];
    failoverPriority?: string[];
  };
  warmupDurationSecs?: string;
}

/** Istio `ConnectionPoolSettings`. */
export interface ConnectionPoolView {
  tcp?: { maxConnections?: number; connectTimeout?: string; idleTimeout?: string };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    maxConcurrentStreams?: number;
    /** `UPGRADE` makes the cluster HTTP/2; `DEFAULT` and `DO_NOT_UPGRADE` leave the port's protocol. */
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    /** Upstream protocol follows the downstream one (`use_downstream_protocol_config`). */
    useClientProtocol?: boolean;
  };
}

/** Istio `OutlierDetection`. */
export interface OutlierDetectionView {
  consecutiveErrors?: number;
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

/** Istio `TrafficPolicy` (and its port-level variant). */
export interface TrafficPolicyView {
  loadBalancer?: LoadBalancerView;
  connectionPool?: ConnectionPoolView;
  outlierDetection?: OutlierDetectionView;
  tls?: unknown;
  portLevelSettings?: (Omit<TrafficPolicyView, 'portLevelSettings'> & { port?: { number?: number } })[];
}

/** Istio `Subset`. */
export interface SubsetView {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicyView;
}

/** Istio `DestinationRule` spec. */
export interface DestinationRuleView {
  host: string;
  trafficPolicy?: TrafficPolicyView;
  subsets?: SubsetView[];
  exportTo?: string[];
}

/** Istio `Sidecar` spec: the parts that decide what a client may see. */
export interface SidecarView {
  workloadSelector?: { labels?: Record<string, string> };
  /** Each listener's `hosts` are `namespace/host` (`*`, `.`, `~` or a name / `*`, FQDN or `*.suffix`). */
  egress?: { hosts?: string[] }[];
}
