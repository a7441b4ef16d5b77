/**
 * Builders of decoded xDS values (the `@weft/xds-client` types) with the defaults that
 * xds-client applies, for core's tests and benchmark. Not exported from the package.
 */
import type {
  Cluster,
  ClusterLoadAssignment,
  HeaderMatcher,
  HeaderValueMatch,
  LbPolicy,
  Metadata,
  PathMatch,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
  XdsConfig,
} from '@weft/xds-client';

const NO_MUTATIONS = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };

/** A RouteMatch with defaults (case-sensitive, no headers/query/fraction). */
export function routeMatch(path: PathMatch, extra: Partial<RouteMatch> = {}): RouteMatch {
  return { path, caseSensitive: true, headers: [], queryParameters: [], grpcOnly: false, ...extra };
}

/** A HeaderMatcher with defaults. */
export function headerMatcher(name: string, match: HeaderValueMatch, extra: Partial<HeaderMatcher> = {}): HeaderMatcher {
  return { name, match, invertMatch: false, treatMissingHeaderAsEmpty: false, ...extra };
}

/** A RouteAction to one cluster, or weighted clusters when given `[name, weight]` pairs. */
export function routeAction(target: string | readonly (readonly [string, number])[], extra: Partial<RouteAction> = {}): RouteAction {
  const clusterSpecifier =
    typeof target === 'string'
      ? { type: 'cluster' as const, cluster: target }
      : {
          type: 'weightedClusters' as const,
          clusters: target.map(([name, weight]) => ({ name, weight, typedPerFilterConfig: new Map(), ...NO_MUTATIONS })),
          totalWeight: target.reduce((s, [, w]) => s + w, 0),
        };
  return { clusterSpecifier, hashPolicies: [], requestMirrorPolicies: [], ...extra };
}

/** A forwarding route. */
export function route(name: string, match: RouteMatch, action: RouteAction): Route {
  return { name, match, action: { type: 'route', route: action }, typedPerFilterConfig: new Map(), ...NO_MUTATIONS };
}

/** A virtual host. */
export function virtualHost(name: string, domains: readonly string[], routes: readonly Route[]): VirtualHost {
  return { name, domains, routes, typedPerFilterConfig: new Map(), includeRequestAttemptCount: false, ...NO_MUTATIONS };
}

/** A route configuration. */
export function routeConfig(name: string, virtualHosts: readonly VirtualHost[]): RouteConfiguration {
  return { name, virtualHosts, ...NO_MUTATIONS };
}

/** An EDS cluster with defaults. */
export function edsCluster(name: string, lbPolicy: LbPolicy = { type: 'roundRobin' }, extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    discovery: { type: 'eds', serviceName: name },
    lbPolicy,
    isLocalityWeighted: false,
    circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }],
    connectTimeoutMs: 5000,
    isLoadReportingEnabled: false,
    metadata: {},
    upstreamProtocol: 'http1',
    ...extra,
  };
}

/** A ClusterLoadAssignment with one locality per entry of `localities` (addresses as `ip:port`). */
export function loadAssignment(
  clusterName: string,
  localities: readonly {
    zone?: string;
    priority?: number;
    weight?: number;
    endpoints: readonly (string | { addr: string; health?: 'HEALTHY' | 'UNHEALTHY' | 'DEGRADED' | 'UNKNOWN'; weight?: number; metadata?: Metadata })[];
  }[],
): ClusterLoadAssignment {
  return {
    clusterName,
    overprovisioningFactor: 1.4,
    dropOverloads: [],
    localities: localities.map((l) => ({
      locality: { region: 'r', zone: l.zone ?? 'z', subZone: '' },
      priority: l.priority ?? 0,
      loadBalancingWeight: l.weight,
      endpoints: l.endpoints.map((e) => {
        const spec = typeof e === 'string' ? { addr: e } : e;
        const [address, port] = spec.addr.split(':');
        return {
          address: address!,
          port: Number(port),
          additionalAddresses: [],
          healthStatus: spec.health ?? 'HEALTHY',
          loadBalancingWeight: spec.weight ?? 1,
          metadata: spec.metadata ?? {},
        };
      }),
    })),
  };
}

/** A complete XdsConfig for `listenerName` with an inline route config and the given clusters. */
export function xdsConfig(
  listenerName: string,
  rc: RouteConfiguration,
  clusters: readonly (readonly [Cluster, ClusterLoadAssignment | undefined])[],
): XdsConfig {
  return {
    listenerName,
    listener: {
      name: listenerName,
      httpConnectionManager: { routeSource: { type: 'inline', routeConfig: rc }, httpFilters: [{ name: 'router', config: { type: 'router' }, isOptional: false }], statPrefix: '' },
      filterChains: [],
    },
    routeConfig: rc,
    clusters: new Map(clusters.map(([c, e]) => [c.name, { ok: true as const, value: e === undefined ? { cluster: c } : { cluster: c, endpoints: e } }])),
  };
}
