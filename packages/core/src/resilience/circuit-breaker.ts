/**
 * Envoy's circuit breaking: per-cluster, per-priority counters with hard thresholds
 * (`envoy.config.cluster.v3.CircuitBreakers.Thresholds`). It is an overflow guard, not
 * cockatiel's failure-rate breaker: a request that would exceed a threshold is refused at once
 * (no queueing, no open/half-open state), and the counter drops as soon as work completes.
 *
 * Adapters acquire before the work and release when it ends:
 * `requests` for every request in flight, `pendingRequests` while a request waits for a
 * connection, `connections` per open upstream connection, `retries` per retry in progress
 * (through {@link ClusterCircuitBreaker.retryGate}). Refusal is a MeshError
 * `WEFT_ERR_CIRCUIT_OPEN` with flag `UO` (HTTP: 503 + `x-envoy-overloaded: true`; gRPC:
 * UNAVAILABLE). A refused retry is no error: the request just ends with its last outcome.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { RetryGate } from './retry-policy.ts';

/** The four resources Envoy limits per cluster and priority. */
export type CircuitBreakerResource = 'connections' | 'pendingRequests' | 'requests' | 'retries';

/** Envoy routing priority; each has its own thresholds and counters. */
export type RoutingPriority = 'DEFAULT' | 'HIGH';

/** Envoy's default of `max_connections`, `max_pending_requests` and `max_requests`. */
export const DEFAULT_CIRCUIT_BREAKER_LIMIT = 1024;
/** Envoy's default of `max_retries`. */
export const DEFAULT_MAX_RETRIES = 3;

/**
 * One `Thresholds` entry; maps 1:1 from the decoded cluster's circuit breakers. Absent limits
 * take Envoy's defaults (1024, 1024, 1024, 3).
 */
export interface CircuitBreakerThresholds {
  /** Which priority these thresholds apply to; default `DEFAULT`. */
  readonly priority?: RoutingPriority;
  /** Istio `connectionPool.tcp.maxConnections`. */
  readonly maxConnections?: number;
  /** Istio `connectionPool.http.http1MaxPendingRequests`. */
  readonly maxPendingRequests?: number;
  /** Istio `connectionPool.http.http2MaxRequests`. */
  readonly maxRequests?: number;
  /** Istio `connectionPool.http.maxRetries`. Ignored when `retryBudget` is set. */
  readonly maxRetries?: number;
  /**
   * Envoy `retry_budget`: concurrent retries may be `budgetPercent` % (default 20) of the
   * requests in flight plus pending, but never fewer than `minRetryConcurrency` (default 3).
   */
  readonly retryBudget?: { readonly budgetPercent?: number; readonly minRetryConcurrency?: number };
}

/** Options of {@link createClusterCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Cluster name, used in error messages and details. */
  readonly clusterName: string;
  /** At most one entry per priority; a later duplicate replaces an earlier one. */
  readonly thresholds?: readonly CircuitBreakerThresholds[];
}

const RESOURCE_INDEX: Readonly<Record<CircuitBreakerResource, number>> = {
  connections: 0,
  pendingRequests: 1,
  requests: 2,
  retries: 3,
};
const ENVOY_NAME = ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries'] as const;

class PriorityCounters {
  readonly active = [0, 0, 0, 0];
  readonly limits = [0, 0, 0, 0];
  readonly overflows = [0, 0, 0, 0];
  budgetPercent: number | undefined;
  minRetryConcurrency = 3;

  configure(t: CircuitBreakerThresholds | undefined): void {
    this.limits[0] = limitOf(t?.maxConnections, DEFAULT_CIRCUIT_BREAKER_LIMIT);
    this.limits[1] = limitOf(t?.maxPendingRequests, DEFAULT_CIRCUIT_BREAKER_LIMIT);
    this.limits[2] = limitOf(t?.maxRequests, DEFAULT_CIRCUIT_BREAKER_LIMIT);
    this.limits[3] = limitOf(t?.maxRetries, DEFAULT_MAX_RETRIES);
    const budget = t?.retryBudget;
    this.budgetPercent = budget === undefined ? undefined : limitOf(budget.budgetPercent, 20);
    this.minRetryConcurrency = budget === undefined ? 3 : limitOf(budget.minRetryConcurrency, 3);
  }

  limitOf(index: number): number {
    if (index !== 3 || this.budgetPercent === undefined) return this.limits[index] as number;
    const base = (this.active[1] as number) + (this.active[2] as number);
    return Math.max(this.minRetryConcurrency, Math.floor((base * this.budgetPercent) / 100));
  }
}

function limitOf(value: number | undefined, fallback: number): number {
  return value === undefined || !Number.isFinite(value) || value < 0 ? fallback : Math.floor(value);
}

/**
 * The circuit breakers of one cluster. Counters survive {@link updateThresholds}, so a config
 * update never forgets requests in flight. Not thread-bound; all methods are synchronous.
 */
export class ClusterCircuitBreaker {
  /** The cluster these counters belong to. */
  readonly clusterName: string;
  readonly #default = new PriorityCounters();
  readonly #high = new PriorityCounters();
  #defaultGate: RetryGate | undefined;
  #highGate: RetryGate | undefined;

  /** Use {@link createClusterCircuitBreaker}. */
  constructor(options: CircuitBreakerOptions) {
    this.clusterName = options.clusterName;
    this.updateThresholds(options.thresholds);
  }

  /** Applies new thresholds (config update), keeping the current counts. */
  updateThresholds(thresholds: readonly CircuitBreakerThresholds[] | undefined): void {
    let forDefault: CircuitBreakerThresholds | undefined;
    let forHigh: CircuitBreakerThresholds | undefined;
    for (const t of thresholds ?? []) {
      if (t.priority === 'HIGH') forHigh = t;
      else forDefault = t;
    }
    this.#default.configure(forDefault);
    this.#high.configure(forHigh);
  }

  #counters(priority: RoutingPriority | undefined): PriorityCounters {
    return priority === 'HIGH' ? this.#high : this.#default;
  }

  /**
   * Takes one unit of `resource` if the count is below its limit and returns true; otherwise
   * counts an overflow and returns false. The hot-path form: no allocation.
   */
  tryAcquire(resource: CircuitBreakerResource, priority?: RoutingPriority): boolean {
    const c = this.#counters(priority);
    const i = RESOURCE_INDEX[resource];
    const active = c.active[i] as number;
    if (active >= c.limitOf(i)) {
      c.overflows[i] = (c.overflows[i] as number) + 1;
      return false;
    }
    c.active[i] = active + 1;
    return true;
  }

  /** Returns one unit taken by {@link tryAcquire}. Never goes below zero. */
  release(resource: CircuitBreakerResource, priority?: RoutingPriority): void {
    const c = this.#counters(priority);
    const i = RESOURCE_INDEX[resource];
    const active = c.active[i] as number;
    if (active > 0) c.active[i] = active - 1;
  }

  /**
   * Takes one unit or throws the overflow MeshError (`WEFT_ERR_CIRCUIT_OPEN`, flag `UO`).
   * Returns an idempotent release function.
   */
  acquire(resource: CircuitBreakerResource, priority?: RoutingPriority): () => void {
    if (!this.tryAcquire(resource, priority)) throw this.createOverflowError(resource, priority);
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.release(resource, priority);
    };
  }

  /**
   * A {@link RetryGate} over the `retries` resource, for `RetryPolicy.createState({ gate })`.
   * The same object is returned for a priority every time (no per-request allocation).
   */
  retryGate(priority?: RoutingPriority): RetryGate {
    if (priority === 'HIGH') return (this.#highGate ??= this.#createGate('HIGH'));
    return (this.#defaultGate ??= this.#createGate('DEFAULT'));
  }

  #createGate(priority: RoutingPriority): RetryGate {
    return {
      tryAcquire: () => {
        if (!this.tryAcquire('retries', priority)) return undefined;
        let isReleased = false;
        return () => {
          if (isReleased) return;
          isReleased = true;
          this.release('retries', priority);
        };
      },
    };
  }

  /** Units of `resource` in use. */
  active(resource: CircuitBreakerResource, priority?: RoutingPriority): number {
    return this.#counters(priority).active[RESOURCE_INDEX[resource]] as number;
  }

  /** The limit in force now (for `retries` under a budget it moves with the load). */
  limit(resource: CircuitBreakerResource, priority?: RoutingPriority): number {
    return this.#counters(priority).limitOf(RESOURCE_INDEX[resource]);
  }

  /** Units still available (Envoy's `remaining_*` gauges). */
  remaining(resource: CircuitBreakerResource, priority?: RoutingPriority): number {
    return Math.max(0, this.limit(resource, priority) - this.active(resource, priority));
  }

  /** How many acquisitions were refused (Envoy's `upstream_cx_overflow`, `upstream_rq_pending_overflow`, …). */
  overflowCount(resource: CircuitBreakerResource, priority?: RoutingPriority): number {
    return this.#counters(priority).overflows[RESOURCE_INDEX[resource]] as number;
  }

  /** True when `resource` is at its limit (Envoy's `cx_open`, `rq_pending_open`, … gauges). */
  isOpen(resource: CircuitBreakerResource, priority?: RoutingPriority): boolean {
    return this.remaining(resource, priority) === 0;
  }

  /** The MeshError an overflow of `resource` is reported with. */
  createOverflowError(resource: CircuitBreakerResource, priority: RoutingPriority = 'DEFAULT'): MeshError {
    const i = RESOURCE_INDEX[resource];
    const limit = this.limit(resource, priority);
    return new MeshError(
      ErrorCode.circuitOpen,
      `circuit breaker open for cluster "${this.clusterName}": ${ENVOY_NAME[i]}=${limit} reached (priority ${priority})`,
      { responseFlag: 'UO', details: { cluster: this.clusterName, resource, limit, priority } },
    );
  }
}

/** Creates the circuit breakers of one cluster; see {@link ClusterCircuitBreaker}. */
export function createClusterCircuitBreaker(options: CircuitBreakerOptions): ClusterCircuitBreaker {
  return new ClusterCircuitBreaker(options);
}
