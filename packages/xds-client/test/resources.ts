/** Builders of xDS resources (proto-shaped plain objects) for the xds-client tests. */
import { packAny, TypeUrl } from '@weft/xds-client';

/** An EDS cluster over ADS. */
export function edsCluster(name: string, extra: object = {}): object {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name }, ...extra };
}

/** A cluster that fails validation (Maglev table size not prime). */
export function invalidCluster(name: string): object {
  return edsCluster(name, { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 100 } } });
}

/** A ClusterLoadAssignment with the given loopback ports in one locality. */
export function assignment(name: string, ports: readonly number[]): object {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'local' },
        lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, health_status: 'HEALTHY' })),
      },
    ],
  };
}

/** An API listener whose HttpConnectionManager fetches `routeName` over RDS (ADS). */
export function apiListener(name: string, routeName: string): object {
  return {
    name,
    api_listener: {
      api_listener: packAny(TypeUrl.httpConnectionManager, {
        rds: { route_config_name: routeName, config_source: { ads: {} } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) }],
      }),
    },
  };
}

/** A route configuration with one catch-all route splitting over weighted clusters. */
export function routeConfig(name: string, clusters: readonly [string, number][]): object {
  return {
    name,
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [
          {
            match: { prefix: '/' },
            route:
              clusters.length === 1
                ? { cluster: clusters[0]?.[0] }
                : { weighted_clusters: { clusters: clusters.map(([c, w]) => ({ name: c, weight: { value: w } })) } },
          },
        ],
      },
    ],
  };
}
