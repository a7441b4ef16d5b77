/**
 * Consecutive-failure outlier detection for one cluster, on gRPC status codes (gRFC A50's
 * consecutive-errors part, Envoy's `consecutive_5xx`). Shim: moves to `@weft/core` once core's
 * outlier detection lands; the adapter only calls {@link OutlierDetector.record}.
 *
 * A host that fails `consecutive5xx` calls in a row is ejected for `baseEjectionTimeMs × n`
 * (n = how often it was ejected, capped at `maxEjectionTimeMs`), unless `maxEjectionPercent` of
 * the cluster is already ejected. Re-admission runs on an unref'd timer; {@link close} clears them.
 */
import type { OutlierDetection } from '@weft/xds-client';
import { isSampled } from './core-imports.ts';
import type { ClusterLoadBalancer } from './core-imports.ts';

/** gRPC codes counted as upstream failures (those Envoy maps to 5xx: UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS). */
const FAILURE_CODES: ReadonlySet<number> = new Set([2, 4, 13, 14, 15]);

interface HostRecord {
  consecutiveFailures: number;
  ejectionCount: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Per-cluster detector; long-lived across config updates (host records are keyed by `ip:port`). */
export class OutlierDetector {
  #config: OutlierDetection;
  #balancer: ClusterLoadBalancer | undefined;
  readonly #hosts = new Map<string, HostRecord>();
  #isClosed = false;

  /** `config` is the cluster's decoded outlier detection (defaults applied). */
  constructor(config: OutlierDetection) {
    this.#config = config;
  }

  /** Applies a new config and the balancer compiled for the new endpoints; re-applies current ejections to it. */
  update(config: OutlierDetection, balancer: ClusterLoadBalancer | undefined): void {
    this.#config = config;
    this.#balancer = balancer;
    if (balancer === undefined) return;
    let isChanged = false;
    for (const e of balancer.endpoints) {
      const h = this.#hosts.get(e.key);
      const isEjected = h?.timer !== undefined;
      if (e.state.isEjected !== isEjected) {
        e.state.isEjected = isEjected;
        isChanged = true;
      }
    }
    if (isChanged) balancer.refresh();
  }

  /** Number of hosts currently ejected. */
  get ejectedCount(): number {
    let n = 0;
    for (const h of this.#hosts.values()) if (h.timer !== undefined) n++;
    return n;
  }

  /** Records the final status of one call to `hostKey`; may eject the host. */
  record(hostKey: string, grpcStatus: number): void {
    if (this.#isClosed) return;
    let h = this.#hosts.get(hostKey);
    if (!FAILURE_CODES.has(grpcStatus)) {
      if (h !== undefined) h.consecutiveFailures = 0;
      return;
    }
    if (h === undefined) this.#hosts.set(hostKey, (h = { consecutiveFailures: 0, ejectionCount: 0, timer: undefined }));
    h.consecutiveFailures++;
    const cfg = this.#config;
    if (h.timer !== undefined || cfg.consecutive5xx <= 0 || h.consecutiveFailures < cfg.consecutive5xx) return;
    if (!isSampled({ numerator: cfg.enforcingConsecutive5xx, denominator: 100 })) return;
    const total = this.#balancer?.endpoints.length ?? 0;
    if (total === 0 || (this.ejectedCount * 100) / total >= cfg.maxEjectionPercent) return;
    this.#eject(hostKey, h);
  }

  #eject(hostKey: string, h: HostRecord): void {
    const cfg = this.#config;
    h.ejectionCount++;
    h.consecutiveFailures = 0;
    const cap = Math.max(cfg.baseEjectionTimeMs, cfg.maxEjectionTimeMs);
    const jitter = cfg.maxEjectionTimeJitterMs > 0 ? Math.floor(Math.random() * cfg.maxEjectionTimeJitterMs) : 0;
    const ms = Math.min(cfg.baseEjectionTimeMs * h.ejectionCount, cap) + jitter;
    h.timer = setTimeout(() => {
      h.timer = undefined;
      this.#balancer?.setEjected(hostKey, false);
    }, ms);
    h.timer.unref?.();
    this.#balancer?.setEjected(hostKey, true);
  }

  /** Clears every re-admission timer (the channel is closing). Idempotent. */
  close(): void {
    this.#isClosed = true;
    for (const h of this.#hosts.values()) {
      if (h.timer !== undefined) clearTimeout(h.timer);
      h.timer = undefined;
    }
  }
}
