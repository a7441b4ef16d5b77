/**
 * The shapes every load balancer in core shares: endpoints as EDS describes them, their
 * health, the per-request facts a picker may hash on, and the picker contract itself.
 *
 * Ownership: endpoint *state* objects ({@link EndpointState}) are long-lived and shared across
 * config snapshots (keyed by address), so active-request counts and outlier ejections survive an
 * EDS update; everything else here is immutable once compiled.
 */

/** Envoy's endpoint health statuses (`envoy.config.core.v3.HealthStatus`). */
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

/** The load-balancing policies core implements (`envoy.config.cluster.v3.Cluster.LbPolicy`). */
export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

/** Where an endpoint runs (`envoy.config.core.v3.Locality`). */
export interface LocalityName {
  region?: string;
  zone?: string;
  subZone?: string;
}

/** One endpoint as EDS delivers it (before compilation). */
export interface EndpointSpec {
  /** IP address (v4 or v6) or host name. */
  address: string;
  port: number;
  /** `load_balancing_weight`; 1 when absent. Must be ≥ 1. */
  weight?: number;
  /** EDS health status; `UNKNOWN` when absent (which counts as healthy, as in Envoy). */
  healthStatus?: HealthStatus;
  /** Optional host name (Envoy's `hostname`), carried through for TLS SNI and logs. */
  hostname?: string;
  /** Endpoint metadata (labels etc.), carried through untouched. */
  metadata?: Readonly<Record<string, unknown>>;
}

/** One locality of one priority (`LocalityLbEndpoints`). */
export interface LocalityEndpointsSpec {
  locality?: LocalityName;
  /** `load_balancing_weight` of the locality; absent means locality weighting is off for it. */
  weight?: number;
  /** Priority, 0 is the highest. */
  priority?: number;
  endpoints: readonly EndpointSpec[];
}

/**
 * Mutable, long-lived runtime state of one endpoint address. The adapters bump
 * `activeRequests` around each request (LEAST_REQUEST reads it); outlier detection sets
 * `isEjected` through `ClusterLoadBalancer.setEjected` (which rebuilds the healthy sets).
 */
export interface EndpointState {
  /** Requests in flight to this endpoint, maintained by the adapter (never negative). */
  activeRequests: number;
  /** True while outlier detection has ejected this endpoint. */
  isEjected: boolean;
}

/** A compiled endpoint: immutable facts plus the shared {@link EndpointState}. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
  /** `address:port`, or `[address]:port` for IPv6: the key for hashing and state. */
  readonly key: string;
  readonly weight: number;
  readonly healthStatus: HealthStatus;
  readonly locality: Readonly<LocalityName>;
  readonly priority: number;
  readonly hostname: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly state: EndpointState;
}

/**
 * The request facts a picker may use. Header names are lower-case. Only hash-based pickers read
 * anything here; a pick with no context at all is valid for the others.
 */
export interface PickContext {
  /** Hash computed from the route's hash policies (see `computeRequestHash`), if any. */
  hash?: bigint;
}

/** A picker chooses one endpoint per call; it never awaits and never rebuilds its tables. */
export interface EndpointPicker {
  /** The chosen endpoint, or `undefined` when the picker has no endpoints. */
  pick(context: PickContext | undefined): Endpoint | undefined;
}

/** Source of uniform random numbers in [0, 1); tests inject a seeded one. */
export type RandomSource = () => number;
