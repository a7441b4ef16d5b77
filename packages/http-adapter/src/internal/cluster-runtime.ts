/**
 * Per-cluster runtime state that outlives config snapshots: the circuit breakers (core's
 * `ClusterCircuitBreaker`) and the outlier detector (core's `OutlierDetector`), whose ejections
 * are fed back to the cluster's load balancer through `setEjected`.
 * TODO(core): this registry belongs in `@weft/core` (one per Mesh, shared with the gRPC
 * adapter); it lives here until core exports one.
 */
import { createClusterCircuitBreaker } from '@weft/core';
import type { ClusterCircuitBreaker } from '@weft/core';
import { createOutlierDetector } from '@weft/core';
import type { OutlierDetector } from '@weft/core';
import type { Cluster, OutlierDetection } from '@weft/xds-client';
import type { BalancerView, ClusterView } from '../mesh-view.ts';

/** The runtime of one cluster. */
export class ClusterRuntime {
  readonly name: string;
  readonly breaker: ClusterCircuitBreaker;
  detector: OutlierDetector | undefined;
  /** `max_connections` of the DEFAULT priority (HTTP/1: requests beyond it are pending). */
  maxConnections = 1024;
  #spec: Cluster | undefined;
  #outlierSpec: OutlierDetection | undefined;
  #balancer: BalancerView | undefined;
  #hostsOf: BalancerView | undefined;
  #lastView: ClusterView | undefined;

  constructor(name: string) {
    this.name = name;
    this.breaker = createClusterCircuitBreaker({ clusterName: name });
  }

  /** Brings the runtime up to date with the cluster view of the current snapshot (cheap when unchanged). */
  sync(view: ClusterView): void {
    if (view === this.#lastView) return;
    this.#lastView = view;
    if (view.spec !== this.#spec) {
      this.#spec = view.spec;
      this.breaker.updateThresholds(view.spec.circuitBreakers);
      this.maxConnections = view.spec.circuitBreakers.find((t) => t.priority === 'DEFAULT')?.maxConnections ?? 1024;
      if (view.spec.outlierDetection !== this.#outlierSpec) {
        this.#outlierSpec = view.spec.outlierDetection;
        this.detector?.close();
        this.detector = undefined;
        this.#hostsOf = undefined;
        if (this.#outlierSpec !== undefined) this.#startDetector(this.#outlierSpec);
      }
    }
    this.#balancer = view.balancer;
    const balancer = view.balancer;
    if (this.detector !== undefined && balancer !== undefined && balancer !== this.#hostsOf) {
      this.#hostsOf = balancer;
      this.detector.setHosts(balancer.endpoints.map((e) => e.key));
      for (const host of this.detector.ejectedHosts) this.#balancer?.setEjected(host, true);
    }
  }

  #startDetector(spec: OutlierDetection): void {
    const detector = createOutlierDetector({
      clusterName: this.name,
      consecutive5xx: spec.consecutive5xx,
      consecutiveGatewayFailure: spec.consecutiveGatewayFailure,
      consecutiveLocalOriginFailure: spec.consecutiveLocalOriginFailure,
      intervalMs: spec.intervalMs,
      baseEjectionTimeMs: spec.baseEjectionTimeMs,
      maxEjectionTimeMs: spec.maxEjectionTimeMs,
      maxEjectionPercent: spec.maxEjectionPercent,
      enforcingConsecutive5xx: spec.enforcingConsecutive5xx,
      enforcingConsecutiveGatewayFailure: spec.enforcingConsecutiveGatewayFailure,
      enforcingConsecutiveLocalOriginFailure: spec.enforcingConsecutiveLocalOriginFailure,
      enforcingSuccessRate: spec.isSuccessRateConfigured ? spec.enforcingSuccessRate : 0,
      successRateMinimumHosts: spec.successRateMinimumHosts,
      successRateRequestVolume: spec.successRateRequestVolume,
      successRateStdevFactor: spec.successRateStdevFactor,
      failurePercentageThreshold: spec.failurePercentageThreshold,
      enforcingFailurePercentage: spec.enforcingFailurePercentage,
      failurePercentageMinimumHosts: spec.failurePercentageMinimumHosts,
      failurePercentageRequestVolume: spec.failurePercentageRequestVolume,
      splitExternalLocalOriginErrors: spec.splitExternalLocalOriginErrors,
    });
    detector.onEject((e) => this.#balancer?.setEjected(e.host, true));
    detector.onUneject((e) => this.#balancer?.setEjected(e.host, false));
    this.detector = detector;
  }

  /** Stops the detector's timer. Idempotent. */
  close(): void {
    this.detector?.close();
  }
}

/** The runtimes of one dispatcher, by cluster name. */
export class ClusterRuntimes {
  readonly #byName = new Map<string, ClusterRuntime>();

  /** The (synced) runtime of `view`. */
  of(view: ClusterView): ClusterRuntime {
    let rt = this.#byName.get(view.name);
    if (rt === undefined) this.#byName.set(view.name, (rt = new ClusterRuntime(view.name)));
    rt.sync(view);
    return rt;
  }

  /** The runtime by name, if one exists (tests, admin). */
  get(name: string): ClusterRuntime | undefined {
    return this.#byName.get(name);
  }

  /** Stops every detector. Idempotent. */
  close(): void {
    for (const rt of this.#byName.values()) rt.close();
  }
}
