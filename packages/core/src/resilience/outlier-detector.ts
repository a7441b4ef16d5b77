/**
 * Outlier detection for one cluster, with Envoy's and gRFC A50's semantics.
 *
 * - Consecutive errors (5xx, gateway errors, local-origin failures) are counted per host as
 *   results arrive; reaching a threshold ejects the host at once (subject to the enforcing
 *   percentage and max ejection percent).
 * - Every interval a sweep runs: success-rate ejection (mean − stdev × factor over hosts with
 *   enough volume), failure-percentage ejection, then re-admission of hosts whose ejection time
 *   `min(base × multiplier, max)` has passed; a healthy host's multiplier drops by one per sweep.
 * - `isEjected(host)` / `ejectedHosts` tell the load balancer whom to skip; `onEject` and
 *   `onUneject` report changes (cockatiel events).
 *
 * Results are reported by the adapters with protocol-agnostic outcomes; gRPC statuses are
 * mapped to HTTP codes first ({@link grpcStatusToHttpStatus}), as Envoy does.
 */
import { EventEmitter, type Event } from 'cockatiel';
import { isSampled } from './fractional-percent.ts';
import type { RandomSource } from './fractional-percent.ts';
import { resolveOutlierDetectionOptions } from './outlier-detection-options.ts';
import type { OutlierDetectionOptions, ResolvedOutlierDetectionOptions } from './outlier-detection-options.ts';

/**
 * What one request to a host came to.
 * `response`: an upstream answer with its HTTP status (external origin). `connect-failure`,
 * `reset`, `timeout`: local-origin failures (counted as 503/504 unless errors are split).
 * `connect-success`: a connection was established (resets the local-origin streak when split).
 */
export type OutlierResult =
  | { readonly kind: 'response'; readonly status: number }
  | { readonly kind: 'connect-failure' | 'reset' | 'timeout' | 'connect-success' };

/** Why a host was ejected. */
export type EjectionReason =
  | 'consecutive-5xx'
  | 'consecutive-gateway-failure'
  | 'consecutive-local-origin-failure'
  | 'success-rate'
  | 'failure-percentage';

/** Payload of {@link OutlierDetector.onEject}. */
export interface EjectionEvent {
  readonly cluster: string;
  readonly host: string;
  readonly reason: EjectionReason;
  /** The multiplier after this ejection (1 for a first ejection). */
  readonly multiplier: number;
  /** How long the host stays out, at least (re-admission happens at the next sweep after). */
  readonly durationMs: number;
}

/** Payload of {@link OutlierDetector.onUneject}. */
export interface UnejectionEvent {
  readonly cluster: string;
  readonly host: string;
}

/** Options of {@link createOutlierDetector}. */
export interface OutlierDetectorOptions extends OutlierDetectionOptions {
  /** Cluster name for events and errors. */
  readonly clusterName: string;
  /** Clock; default `Date.now` (mockable with `mock.timers`). */
  readonly now?: () => number;
  /** Random source for the enforcing percentages; default `Math.random`. */
  readonly random?: RandomSource;
  /** Start the interval timer (unref'd) at creation; default true. Tests may sweep by hand. */
  readonly isTimerStarted?: boolean;
}

class HostState {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocal = 0;
  successes = 0;
  failures = 0;
  multiplier = 0;
  ejectedAt: number | undefined;
}

/** Maps a gRPC status code to the HTTP status Envoy uses for outlier detection. */
export function grpcStatusToHttpStatus(code: number): number {
  switch (code) {
    case 0:
      return 200;
    case 1:
      return 499;
    case 3:
    case 9:
    case 11:
      return 400;
    case 4:
      return 504;
    case 5:
      return 404;
    case 6:
    case 10:
      return 409;
    case 7:
      return 403;
    case 8:
      return 429;
    case 12:
      return 501;
    case 14:
      return 503;
    case 16:
      return 401;
    default:
      return 500;
  }
}

/**
 * The outlier detector of one cluster. Owns one unref'd interval timer; `close()` stops it
 * (idempotent). Hosts are keyed by adapter-chosen strings (`ip:port`) and must be declared with
 * {@link setHosts}; results for undeclared hosts are ignored.
 */
export class OutlierDetector {
  /** The cluster this detector watches. */
  readonly clusterName: string;
  /** Options with defaults applied. */
  readonly options: ResolvedOutlierDetectionOptions;
  /** Fires when a host is ejected. */
  readonly onEject: Event<EjectionEvent>;
  /** Fires when an ejected host is re-admitted (or removed while ejected). */
  readonly onUneject: Event<UnejectionEvent>;
  readonly #ejectEmitter = new EventEmitter<EjectionEvent>();
  readonly #unejectEmitter = new EventEmitter<UnejectionEvent>();
  readonly #hosts = new Map<string, HostState>();
  readonly #ejected = new Set<string>();
  readonly #now: () => number;
  readonly #random: RandomSource;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Use {@link createOutlierDetector}. */
  constructor(options: OutlierDetectorOptions) {
    this.clusterName = options.clusterName;
    this.options = resolveOutlierDetectionOptions(options, `cluster "${options.clusterName}".outlierDetection`);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.onEject = this.#ejectEmitter.addListener;
    this.onUneject = this.#unejectEmitter.addListener;
    if (options.isTimerStarted !== false) {
      this.#timer = setInterval(() => this.sweep(), this.options.intervalMs);
      this.#timer.unref?.();
    }
  }

  /** Hosts currently ejected; the load balancer skips them. Live view, do not mutate. */
  get ejectedHosts(): ReadonlySet<string> {
    return this.#ejected;
  }

  /** True when `host` is ejected now. */
  isEjected(host: string): boolean {
    return this.#ejected.has(host);
  }

  /** The current ejection multiplier of `host` (0 when never ejected or fully decayed). */
  multiplierOf(host: string): number {
    return this.#hosts.get(host)?.multiplier ?? 0;
  }

  /**
   * Declares the cluster's hosts (EDS update). New hosts start clean; hosts no longer present
   * are forgotten (an ejected one is reported through `onUneject`).
   */
  setHosts(hosts: Iterable<string>): void {
    const next = new Set(hosts);
    for (const host of this.#hosts.keys()) {
      if (next.has(host)) continue;
      this.#hosts.delete(host);
      if (this.#ejected.delete(host)) this.#unejectEmitter.emit({ cluster: this.clusterName, host });
    }
    for (const host of next) if (!this.#hosts.has(host)) this.#hosts.set(host, new HostState());
  }

  /** Records one result for `host`; may eject it at once on a consecutive-error threshold. */
  record(host: string, result: OutlierResult): void {
    const s = this.#hosts.get(host);
    if (s === undefined) return;
    const o = this.options;
    let status: number;
    if (result.kind === 'response') {
      status = result.status;
    } else if (o.splitExternalLocalOriginErrors) {
      if (result.kind === 'connect-success') {
        s.consecutiveLocal = 0;
        return;
      }
      s.failures++;
      s.consecutiveLocal++;
      if (s.consecutiveLocal >= o.consecutiveLocalOriginFailure) {
        s.consecutiveLocal = 0;
        this.#tryEject(host, s, 'consecutive-local-origin-failure', o.enforcingConsecutiveLocalOriginFailure);
      }
      return;
    } else if (result.kind === 'connect-success') {
      return;
    } else {
      status = result.kind === 'timeout' ? 504 : 503;
    }
    if (status < 500) {
      s.successes++;
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return;
    }
    s.failures++;
    s.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) s.consecutiveGateway++;
    else s.consecutiveGateway = 0;
    if (s.consecutiveGateway >= o.consecutiveGatewayFailure) {
      s.consecutiveGateway = 0;
      if (this.#tryEject(host, s, 'consecutive-gateway-failure', o.enforcingConsecutiveGatewayFailure)) {
        s.consecutive5xx = 0;
        return;
      }
    }
    if (s.consecutive5xx >= o.consecutive5xx) {
      s.consecutive5xx = 0;
      this.#tryEject(host, s, 'consecutive-5xx', o.enforcingConsecutive5xx);
    }
  }

  /**
   * One interval's work (the timer calls it; tests may call it directly): success-rate and
   * failure-percentage ejections over this interval's counts, then re-admission and multiplier
   * decay, then the counts restart.
   */
  sweep(): void {
    const o = this.options;
    this.#successRateEjections(o);
    this.#failurePercentageEjections(o);
    const now = this.#now();
    for (const [host, s] of this.#hosts) {
      if (s.ejectedAt !== undefined) {
        if (now - s.ejectedAt >= this.#ejectionTimeMs(s)) {
          s.ejectedAt = undefined;
          s.consecutive5xx = s.consecutiveGateway = s.consecutiveLocal = 0;
          this.#ejected.delete(host);
          this.#unejectEmitter.emit({ cluster: this.clusterName, host });
        }
      } else if (s.multiplier > 0) {
        s.multiplier--;
      }
      s.successes = 0;
      s.failures = 0;
    }
  }

  /** Stops the interval timer. Idempotent; the detector keeps answering `isEjected`. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #ejectionTimeMs(s: HostState): number {
    const o = this.options;
    return Math.min(o.baseEjectionTimeMs * Math.max(1, s.multiplier), o.maxEjectionTimeMs);
  }

  #successRateEjections(o: ResolvedOutlierDetectionOptions): void {
    if (o.enforcingSuccessRate <= 0) return;
    const rates: Array<[string, HostState, number]> = [];
    for (const [host, s] of this.#hosts) {
      const volume = s.successes + s.failures;
      if (s.ejectedAt === undefined && volume > 0 && volume >= o.successRateRequestVolume) {
        rates.push([host, s, (100 * s.successes) / volume]);
      }
    }
    if (rates.length === 0 || rates.length < o.successRateMinimumHosts) return;
    const mean = rates.reduce((sum, r) => sum + r[2], 0) / rates.length;
    const variance = rates.reduce((sum, r) => sum + (r[2] - mean) ** 2, 0) / rates.length;
    const threshold = mean - Math.sqrt(variance) * (o.successRateStdevFactor / 1000);
    for (const [host, s, rate] of rates) {
      if (rate < threshold) this.#tryEject(host, s, 'success-rate', o.enforcingSuccessRate);
    }
  }

  #failurePercentageEjections(o: ResolvedOutlierDetectionOptions): void {
    if (o.enforcingFailurePercentage <= 0) return;
    const candidates: Array<[string, HostState, number]> = [];
    for (const [host, s] of this.#hosts) {
      const volume = s.successes + s.failures;
      if (s.ejectedAt === undefined && volume > 0 && volume >= o.failurePercentageRequestVolume) {
        candidates.push([host, s, (100 * s.failures) / volume]);
      }
    }
    if (candidates.length === 0 || candidates.length < o.failurePercentageMinimumHosts) return;
    for (const [host, s, failurePercent] of candidates) {
      if (failurePercent >= o.failurePercentageThreshold) this.#tryEject(host, s, 'failure-percentage', o.enforcingFailurePercentage);
    }
  }

  #tryEject(host: string, s: HostState, reason: EjectionReason, enforcingPercent: number): boolean {
    if (s.ejectedAt !== undefined) return false;
    const o = this.options;
    const total = this.#hosts.size;
    // Envoy (since 1.27): the share ejected *after* this ejection must not exceed the cap,
    // unless `alwaysEjectOneHost` lets the first ejection through regardless.
    const isFirstAllowed = o.alwaysEjectOneHost && this.#ejected.size === 0;
    if (!isFirstAllowed && (100 * (this.#ejected.size + 1)) / total > o.maxEjectionPercent) return false;
    if (!isSampled({ numerator: enforcingPercent, denominator: 100 }, this.#random)) return false;
    // The multiplier stops growing once base × multiplier reaches the cap (Envoy).
    if (o.baseEjectionTimeMs * s.multiplier < o.maxEjectionTimeMs) s.multiplier++;
    s.ejectedAt = this.#now();
    this.#ejected.add(host);
    this.#ejectEmitter.emit({
      cluster: this.clusterName,
      host,
      reason,
      multiplier: s.multiplier,
      durationMs: this.#ejectionTimeMs(s),
    });
    return true;
  }
}

/**
 * Creates the outlier detector of one cluster; throws MeshError `WEFT_ERR_CONFIG_INVALID` for
 * invalid options (see `resolveOutlierDetectionOptions`).
 */
export function createOutlierDetector(options: OutlierDetectorOptions): OutlierDetector {
  return new OutlierDetector(options);
}
