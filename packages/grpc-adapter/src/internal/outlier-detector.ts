/**
 * Outlier detection of one cluster within a channel: core's `OutlierDetector` (consecutive
 * 5xx / gateway errors, success rate, failure percentage, growing ejection time, max ejection
 * percent) fed with each call's final gRPC status (mapped to HTTP as Envoy does), its ejections
 * mirrored into the cluster's endpoint states so core's balancer skips ejected hosts.
 */
import { createOutlierDetector, grpcStatusToHttpStatus, syncEjections } from './core-imports.ts';
import type { OutlierDetector } from './core-imports.ts';
import type { OutlierDetection } from '@weft/xds-client';
import type { ClusterLoadBalancer, EndpointStateStore } from './core-imports.ts';

/** Binding of core's detector to one cluster's balancer; long-lived across config updates. */
export class ClusterOutlierDetection {
  readonly #clusterName: string;
  readonly #states: EndpointStateStore;
  #config: OutlierDetection;
  #detector: OutlierDetector;
  #sync: { dispose(): void };

  /** `config` is the cluster's decoded outlier detection (defaults applied). */
  constructor(clusterName: string, config: OutlierDetection, states: EndpointStateStore) {
    this.#clusterName = clusterName;
    this.#states = states;
    this.#config = config;
    this.#detector = this.#create(config);
    this.#sync = syncEjections(this.#detector, states);
  }

  #create(config: OutlierDetection): OutlierDetector {
    const { isSuccessRateConfigured: _sr, isFailurePercentageConfigured: _fp, maxEjectionTimeJitterMs: _j, enforcingLocalOriginSuccessRate: _l, enforcingFailurePercentageLocalOrigin: _f, ...options } = config;
    return createOutlierDetector({ clusterName: this.#clusterName, ...options });
  }

  /** Applies a new config (a changed config restarts detection) and the new endpoint set. */
  update(config: OutlierDetection, balancer: ClusterLoadBalancer): void {
    if (config !== this.#config && JSON.stringify(config) !== JSON.stringify(this.#config)) {
      this.#sync.dispose();
      this.#detector.close();
      for (const host of this.#detector.ejectedHosts) {
        const state = this.#states.peek(host);
        if (state !== undefined) state.isEjected = false;
      }
      this.#config = config;
      this.#detector = this.#create(config);
      this.#sync = syncEjections(this.#detector, this.#states);
    }
    this.#detector.setHosts(balancer.endpoints.map((e) => e.key));
  }

  /** Records the final status of one call to `hostKey`. */
  record(hostKey: string, grpcStatus: number): void {
    this.#detector.record(hostKey, { kind: 'response', status: grpcStatusToHttpStatus(grpcStatus) });
  }

  /** Stops the detector's timer. Idempotent. */
  close(): void {
    this.#sync.dispose();
    this.#detector.close();
  }
}
