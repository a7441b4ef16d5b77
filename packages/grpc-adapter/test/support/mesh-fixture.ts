/**
 * Builders of decoded xDS configs (the `@weft/xds-client` types, defaults applied) for the
 * adapter's tests and benchmark: one listener, its routes, and EDS clusters on given addresses.
 */
import type { Cluster, HttpFilter, RetryPolicy, Route, RouteAction, RouteMatch, XdsClusterConfig, XdsConfig, XdsResult } from '@weft/xds-client';

const NO_MUTATIONS = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };

/** A route match on a path prefix (`''` matches everything), with optional extras. */
export function match(prefix: string, extra: Partial<RouteMatch> = {}): RouteMatch {
  return { path: { type: 'prefix', prefix }, caseSensitive: true, headers: [], queryParameters: [], grpcOnly: false, ...extra };
}

/** A forwarding route to one cluster or weighted `[name, weight]` pairs. */
export function route(m: RouteMatch, target: string | readonly (readonly [string, number])[], action: Partial<RouteAction> = {}, extra: Partial<Route> = {}): Route {
  const clusterSpecifier =
    typeof target === 'string'
      ? { type: 'cluster' as const, cluster: target }
      : {
          type: 'weightedClusters' as const,
          clusters: target.map(([name, weight]) => ({ name, weight, typedPerFilterConfig: new Map(), ...NO_MUTATIONS })),
          totalWeight: target.reduce((s, [, w]) => s + w, 0),
        };
  return {
    name: '',
    match: m,
    action: { type: 'route', route: { clusterSpecifier, hashPolicies: [], requestMirrorPolicies: [], ...action } },
    typedPerFilterConfig: new Map(),
    ...NO_MUTATIONS,
    ...extra,
  };
}

/** An EDS cluster definition with Envoy/xds-client defaults. */
export function cluster(name: string, extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    discovery: { type: 'eds', serviceName: name },
    lbPolicy: { type: 'roundRobin' },
    isLocalityWeighted: false,
    circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }],
    connectTimeoutMs: 5000,
    isLoadReportingEnabled: false,
    metadata: {},
    upstreamProtocol: 'http2',
    ...extra,
  };
}

/** Options of {@link meshConfig}. */
export interface MeshConfigOptions {
  /** Listener name, `host:port`. */
  listenerName: string;
  routes: readonly Route[];
  /** Cluster name → endpoint addresses (`127.0.0.1:port`) and optional cluster fields. */
  clusters: Record<string, { endpoints: readonly string[]; cluster?: Partial<Cluster> }>;
  /** HTTP filters before the router. */
  httpFilters?: readonly HttpFilter[];
  maxStreamDurationMs?: number;
}

/** A complete XdsConfig for one listener. */
export function meshConfig(o: MeshConfigOptions): XdsConfig {
  const host = o.listenerName.split(':')[0]!;
  const clusters = new Map<string, XdsResult<XdsClusterConfig>>();
  for (const [name, c] of Object.entries(o.clusters)) {
    clusters.set(name, {
      ok: true,
      value: {
        cluster: cluster(name, c.cluster),
        endpoints: {
          clusterName: name,
          overprovisioningFactor: 1.4,
          dropOverloads: [],
          localities: [
            {
              locality: { region: '', zone: '', subZone: '' },
              priority: 0,
              endpoints: c.endpoints.map((addr) => {
                const i = addr.lastIndexOf(':');
                return { address: addr.slice(0, i), port: Number(addr.slice(i + 1)), additionalAddresses: [], healthStatus: 'HEALTHY' as const, loadBalancingWeight: 1, metadata: {} };
              }),
            },
          ],
        },
      },
    });
  }
  return {
    listenerName: o.listenerName,
    listener: {
      name: o.listenerName,
      httpConnectionManager: {
        routeSource: { type: 'rds', routeConfigName: o.listenerName },
        httpFilters: [...(o.httpFilters ?? []), { name: 'envoy.filters.http.router', config: { type: 'router' }, isOptional: false }],
        statPrefix: '',
        ...(o.maxStreamDurationMs === undefined ? {} : { maxStreamDurationMs: o.maxStreamDurationMs }),
      },
      filterChains: [],
    },
    routeConfig: {
      name: o.listenerName,
      virtualHosts: [{ name: host, domains: [host, o.listenerName], routes: o.routes, typedPerFilterConfig: new Map(), includeRequestAttemptCount: false, ...NO_MUTATIONS }],
      ...NO_MUTATIONS,
    },
    clusters,
  };
}

/** A route retry policy for `retryOn` × `numRetries` with a short back-off (5–20 ms); `extra` overrides fields. */
export function retryPolicy(retryOn: string[], numRetries: number, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn,
    numRetries,
    retriableStatusCodes: [],
    retryBackOff: { baseIntervalMs: 5, maxIntervalMs: 20 },
    retriableHeaders: [],
    retriableRequestHeaders: [],
    retryHostPredicates: [],
    hostSelectionRetryMaxAttempts: 1,
    ...extra,
  };
}
