/**
 * The immutable, compiled view of one listener (one `host:port` the application calls): its
 * route table and its clusters with their balancers. A new snapshot replaces the old one
 * atomically whenever xds-client delivers an update; requests in flight keep the one they read.
 * Everything here is synchronous: a request is `route()` then `pickEndpoint()`.
 */
import { MeshError, ErrorCode } from '@weft/xds-client';
import type { HttpFilter, Listener, XdsConfig } from '@weft/xds-client';
import type { CompiledCluster } from '../cluster/compiled-cluster.ts';
import { RequestHasher } from '../lb/request-hash.ts';
import type { Hasher } from '../lb/hasher.ts';
import type { Endpoint } from '../lb/types.ts';
import { compileRouteTable } from '../route/route-table.ts';
import type { CompiledRoute, RouteTable } from '../route/route-table.ts';
import type { RequestFacts } from '../route/request-facts.ts';
import type { RandomSource } from '../lb/types.ts';

/** The outcome of routing one request. */
export interface RouteDecision {
  readonly route: CompiledRoute;
  /** The upstream cluster chosen for this request (weighted draw already made). */
  readonly clusterName: string;
}

/** The compiled view of one listener; see the module comment. */
export class HostSnapshot {
  /** The watched listener name (`reviews.default.svc.cluster.local:9080`). */
  readonly listenerName: string;
  /** Increases by one with every update of this listener (starts at 1). */
  readonly generation: number;
  readonly config: XdsConfig;
  readonly routeTable: RouteTable;
  /** Cluster name → compiled cluster, or the error standing in its place (answers 503 `UH`). */
  readonly clusters: ReadonlyMap<string, CompiledCluster | MeshError>;
  readonly #hashers: Map<CompiledRoute, RequestHasher>;
  readonly #random: RandomSource;

  /** Use {@link compileHostSnapshot}. */
  constructor(
    listenerName: string,
    generation: number,
    config: XdsConfig,
    routeTable: RouteTable,
    clusters: ReadonlyMap<string, CompiledCluster | MeshError>,
    hashers: Map<CompiledRoute, RequestHasher>,
    random: RandomSource = Math.random,
  ) {
    this.listenerName = listenerName;
    this.generation = generation;
    this.config = config;
    this.routeTable = routeTable;
    this.clusters = clusters;
    this.#hashers = hashers;
    this.#random = random;
  }

  /** The decoded listener (HTTP filters, stream limits). */
  get listener(): Listener {
    return this.config.listener;
  }

  /** The listener's HTTP filter chain, in order (the router last). */
  get httpFilters(): readonly HttpFilter[] {
    return this.config.listener.httpConnectionManager?.httpFilters ?? [];
  }

  /**
   * Routes a request sent to `authority` (the virtual host is looked up by `authority`, then by
   * the listener name, so `reviews:9080` finds a virtual host that lists only the FQDN). Throws `MeshError` `WEFT_ERR_NO_ROUTE` (flag `NR`) when
   * no virtual host or route matches, or the route names no cluster for this request (redirects
   * and direct responses are returned as routes with their action; their `clusterName` is '').
   */
  route(authority: string, req: RequestFacts): RouteDecision {
    const table = this.routeTable;
    const vh = table.virtualHostFor(authority) ?? table.virtualHostFor(this.listenerName);
    const route = vh === undefined ? undefined : table.matchInVirtualHost(vh, req);
    if (route === undefined) {
      throw new MeshError(ErrorCode.noRoute, `no route for ${authority}${req.path} in route_config ${this.routeTable.spec.name}`, {
        responseFlag: 'NR',
        details: { host: authority, path: req.path, listener: this.listenerName },
      });
    }
    if (route.spec.action.type !== 'route') return { route, clusterName: '' };
    const clusterName = route.chooseCluster(req);
    if (clusterName === undefined) {
      throw new MeshError(ErrorCode.noRoute, `route ${route.spec.name || route.index} of ${authority}: no cluster for this request (cluster header missing)`, {
        responseFlag: 'NR',
        details: { host: authority, listener: this.listenerName },
      });
    }
    return { route, clusterName };
  }

  /**
   * Picks an endpoint of `clusterName` for `req`, hashing with `route`'s hash policies when the
   * cluster uses RING_HASH or MAGLEV. Aggregate clusters try their leaves in order. Throws
   * `MeshError` `WEFT_ERR_NO_HEALTHY_UPSTREAM` naming the cluster when it is unknown, invalid, or
   * has no endpoint (flag `UH`), or when EDS `drop_overloads` drops the request (no flag;
   * `details.dropCategory` names the category). Call again for a retry (the pick is independent).
   */
  pickEndpoint(clusterName: string, req: RequestFacts, route?: CompiledRoute): Endpoint {
    const entry = this.clusters.get(clusterName);
    if (entry === undefined || entry instanceof MeshError) {
      throw new MeshError(ErrorCode.noHealthyUpstream, `cluster ${clusterName} of ${this.listenerName} is ${entry === undefined ? 'not known' : `unusable: ${entry.message}`}`, {
        responseFlag: 'UH',
        cause: entry,
        details: { cluster: clusterName, listener: this.listenerName },
      });
    }
    const drops = entry.dropOverloads;
    for (let i = 0; i < drops.length; i++) {
      const drop = drops[i]!;
      if (this.#random() < drop.probability) {
        throw new MeshError(ErrorCode.noHealthyUpstream, `request to cluster ${clusterName} dropped by EDS drop_overload category ${drop.category}`, {
          details: { cluster: clusterName, listener: this.listenerName, dropCategory: drop.category },
        });
      }
    }
    const hasher = route === undefined ? undefined : this.#hashers.get(route);
    const hash = hasher?.compute(req);
    const endpoint = this.#pickFrom(entry, hash, 0);
    if (endpoint === undefined) {
      throw new MeshError(ErrorCode.noHealthyUpstream, `no healthy upstream in cluster ${clusterName} (${this.listenerName})`, {
        responseFlag: 'UH',
        details: { cluster: clusterName, listener: this.listenerName },
      });
    }
    return endpoint;
  }

  #pickFrom(cluster: CompiledCluster, hash: bigint | undefined, depth: number): Endpoint | undefined {
    if (cluster.balancer !== undefined) return cluster.balancer.pick(hash === undefined ? undefined : { hash });
    if (depth > 8 || cluster.leafClusters === undefined) return undefined;
    let fallback: Endpoint | undefined;
    for (const leafName of cluster.leafClusters) {
      const leaf = this.clusters.get(leafName);
      if (leaf === undefined || leaf instanceof MeshError) continue;
      if (leaf.balancer !== undefined && leaf.balancer.endpoints.length > 0 && leaf.balancer.priorityLoad.isPanic.every(Boolean)) {
        fallback ??= leaf.balancer.pick(hash === undefined ? undefined : { hash });
        continue;
      }
      const e = this.#pickFrom(leaf, hash, depth + 1);
      if (e !== undefined) return e;
    }
    return fallback;
  }
}

/** What {@link compileHostSnapshot} needs. */
export interface HostCompileContext {
  hasher: Hasher;
  random?: RandomSource;
  /** Compiles (or reuses) one cluster; errors are returned, not thrown. */
  cluster(name: string, config: XdsConfig): CompiledCluster | MeshError;
}

/**
 * Compiles an `XdsConfig` into a snapshot. Throws `MeshError` `WEFT_ERR_XDS_INVALID` when the
 * route configuration cannot be compiled (the caller keeps the previous snapshot); a cluster
 * that cannot be compiled is kept as an error entry so the other clusters keep serving.
 */
export function compileHostSnapshot(listenerName: string, generation: number, config: XdsConfig, ctx: HostCompileContext): HostSnapshot {
  const routeTable = compileRouteTable(config.routeConfig, { random: ctx.random });
  const hashers = new Map<CompiledRoute, RequestHasher>();
  for (const vh of routeTable.virtualHosts) {
    for (const r of vh.routes) {
      const action = r.spec.action;
      if (action.type !== 'route' || action.route.hashPolicies.length === 0) continue;
      hashers.set(r, new RequestHasher(action.route.hashPolicies, ctx.hasher, `route_config ${config.routeConfig.name}, routes[${r.index}]`));
    }
  }
  const clusters = new Map<string, CompiledCluster | MeshError>();
  for (const name of config.clusters.keys()) clusters.set(name, ctx.cluster(name, config));
  return new HostSnapshot(listenerName, generation, config, routeTable, clusters, hashers, ctx.random);
}
