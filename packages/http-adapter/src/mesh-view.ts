/**
 * The "mesh view": the read-only slice of `@weft/core`'s `Mesh` that the HTTP adapter needs.
 * Declared structurally here so the adapter depends on a contract, not on a class: core's
 * `Mesh` / `HostSnapshot` satisfy it, and tests may inject any object of this shape.
 *
 * Contract (same as core's): `resolve()` is synchronous and returns the current immutable
 * snapshot of a host or `undefined` when none has arrived yet (the first call starts the xDS
 * watch); `waitForHost()` is bounded and abortable; a snapshot's `route()` / `pickEndpoint()`
 * throw `MeshError` (`WEFT_ERR_NO_ROUTE`/`NR`, `WEFT_ERR_NO_HEALTHY_UPSTREAM`/`UH`).
 */
import type { Cluster, HttpFilter, MeshError, Route, RouteConfiguration, VirtualHost, WeightedCluster } from '@weft/xds-client';

/** Header values by lower-case name, as routing reads them. */
export type RequestHeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The facts about one outgoing request that routing and hashing read (core's `RequestFacts`). */
export interface MeshRequestFacts {
  method?: string;
  /** Path plus optional `?query`. */
  path: string;
  headers: RequestHeaderMap;
  authority?: string;
  sourceIp?: string;
}

/** Mutable, long-lived runtime state of one endpoint, shared with the load balancer. */
export interface EndpointStateView {
  activeRequests: number;
  isEjected: boolean;
}

/** One picked endpoint. */
export interface EndpointView {
  readonly address: string;
  readonly port: number;
  /** `address:port` (`[v6]:port`): the key for pools, outlier detection and retries. */
  readonly key: string;
  readonly hostname: string | undefined;
  readonly state: EndpointStateView;
  /** The endpoint's EDS metadata (`filter_metadata` by filter name), when it has any. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The balancer of one cluster, as far as the adapter touches it. */
export interface BalancerView {
  readonly endpoints: readonly EndpointView[];
  /** Outlier detection's verdict fed back to the picker. Unknown keys are ignored. */
  setEjected(key: string, isEjected: boolean): void;
}

/** A compiled cluster. */
export interface ClusterView {
  readonly name: string;
  readonly spec: Cluster;
  readonly balancer: BalancerView | undefined;
}

/** A compiled route (core's `CompiledRoute`). */
export interface RouteView {
  readonly spec: Route;
  readonly virtualHost: { readonly spec: VirtualHost };
  readonly index: number;
  weightedCluster(name: string): WeightedCluster | undefined;
}

/** The immutable compiled view of one host (core's `HostSnapshot`). */
export interface HostView {
  readonly listenerName: string;
  readonly httpFilters: readonly HttpFilter[];
  readonly clusters: ReadonlyMap<string, ClusterView | MeshError>;
  /** The decoded update the snapshot was compiled from (route-configuration-level header mutations). */
  readonly config?: { readonly routeConfig: RouteConfiguration };
  /** Throws MeshError `WEFT_ERR_NO_ROUTE` (`NR`). Redirects/direct responses have `clusterName` ''. */
  route(authority: string, req: MeshRequestFacts): { readonly route: RouteView; readonly clusterName: string };
  /** Throws MeshError `WEFT_ERR_NO_HEALTHY_UPSTREAM` (`UH`). Each call is an independent pick. */
  pickEndpoint(clusterName: string, req: MeshRequestFacts, route?: RouteView): EndpointView;
}

/** Options of {@link MeshView.waitForHost}. */
export interface MeshWaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  defaultPort?: number;
}

/** What the dispatcher reads per request; see the module comment. */
export interface MeshView {
  resolve(authority: string, defaultPort?: number): HostView | undefined;
  /**
   * Rejects with `WEFT_ERR_XDS_UNAVAILABLE` after the timeout, `WEFT_ERR_UNKNOWN_HOST` when the
   * xDS server says the host does not exist, the signal's reason on abort.
   */
  waitForHost(authority: string, options?: MeshWaitOptions): Promise<HostView>;
}
