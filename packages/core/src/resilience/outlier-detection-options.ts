/**
 * Options of outlier detection (`envoy.config.cluster.v3.OutlierDetection`, gRFC A50) and
 * their Envoy defaults. Field names map 1:1 from the decoded cluster; percentages are plain
 * numbers in `[0, 100]` like the proto's `UInt32Value`s.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';

/** The outlier detection fields Weft applies. Every field is optional; see {@link OUTLIER_DETECTION_DEFAULTS}. */
export interface OutlierDetectionOptions {
  /** Consecutive 5xx (including mapped local-origin failures unless split) before an ejection. */
  readonly consecutive5xx?: number;
  /** Consecutive 502/503/504 (and mapped local-origin failures unless split) before an ejection. */
  readonly consecutiveGatewayFailure?: number;
  /** Consecutive local-origin failures (connect failure, reset, timeout); only with `splitExternalLocalOriginErrors`. */
  readonly consecutiveLocalOriginFailure?: number;
  /** Time between sweeps (success-rate/failure-percentage analysis, re-admission). */
  readonly intervalMs?: number;
  /** Ejection time is `baseEjectionTimeMs × ejection multiplier`. */
  readonly baseEjectionTimeMs?: number;
  /** Cap of one ejection's duration (never below base). */
  readonly maxEjectionTimeMs?: number;
  /** An ejection may not bring the ejected share of hosts above this percentage. */
  readonly maxEjectionPercent?: number;
  /** Allow one ejection whatever `maxEjectionPercent` says, when no host is ejected (Envoy `always_eject_one_host`). */
  readonly alwaysEjectOneHost?: boolean;
  /** Chance (%) that a consecutive-5xx detection is enforced. */
  readonly enforcingConsecutive5xx?: number;
  /** Chance (%) that a consecutive-gateway-failure detection is enforced. */
  readonly enforcingConsecutiveGatewayFailure?: number;
  /** Chance (%) that a consecutive-local-origin detection is enforced. */
  readonly enforcingConsecutiveLocalOriginFailure?: number;
  /** Chance (%) that a success-rate outlier is ejected. */
  readonly enforcingSuccessRate?: number;
  /** Success-rate analysis needs at least this many hosts with enough volume. */
  readonly successRateMinimumHosts?: number;
  /** Requests a host needs in an interval to take part in success-rate analysis. */
  readonly successRateRequestVolume?: number;
  /** Threshold = mean − stdev × (factor / 1000). */
  readonly successRateStdevFactor?: number;
  /** A host whose failure percentage is at least this is an outlier. */
  readonly failurePercentageThreshold?: number;
  /** Chance (%) that a failure-percentage outlier is ejected (Envoy default 0: off). */
  readonly enforcingFailurePercentage?: number;
  /** Failure-percentage analysis needs at least this many hosts with enough volume. */
  readonly failurePercentageMinimumHosts?: number;
  /** Requests a host needs in an interval to take part in failure-percentage analysis. */
  readonly failurePercentageRequestVolume?: number;
  /** Track local-origin failures apart from upstream responses (Istio `splitExternalLocalOriginErrors`). */
  readonly splitExternalLocalOriginErrors?: boolean;
}

/** {@link OutlierDetectionOptions} with every default applied. */
export type ResolvedOutlierDetectionOptions = { readonly [K in keyof OutlierDetectionOptions]-?: NonNullable<OutlierDetectionOptions[K]> };

/** Envoy's defaults (the proto's documented values). */
export const OUTLIER_DETECTION_DEFAULTS: ResolvedOutlierDetectionOptions = Object.freeze({
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: false,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
});

const PERCENT_FIELDS = new Set<string>([
  'maxEjectionPercent',
  'enforcingConsecutive5xx',
  'enforcingConsecutiveGatewayFailure',
  'enforcingConsecutiveLocalOriginFailure',
  'enforcingSuccessRate',
  'failurePercentageThreshold',
  'enforcingFailurePercentage',
]);

/**
 * Applies defaults and validates. `where` names the config location (e.g. `cluster "x"
 * .outlierDetection`). Throws MeshError `WEFT_ERR_CONFIG_INVALID` naming the field when a value
 * is negative or not finite, a percentage exceeds 100, or `intervalMs` is 0.
 */
export function resolveOutlierDetectionOptions(options: OutlierDetectionOptions, where = 'outlierDetection'): ResolvedOutlierDetectionOptions {
  const out: Record<string, number | boolean> = { ...OUTLIER_DETECTION_DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || !(key in OUTLIER_DETECTION_DEFAULTS)) continue;
    if (key === 'splitExternalLocalOriginErrors' || key === 'alwaysEjectOneHost') {
      out[key] = value === true;
      continue;
    }
    const field = `${where}.${key}`;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new MeshError(ErrorCode.configInvalid, `${field}: expected a non-negative number, got ${String(value)}`, { details: { field } });
    }
    if (PERCENT_FIELDS.has(key) && value > 100) {
      throw new MeshError(ErrorCode.configInvalid, `${field}: a percentage must be at most 100, got ${value}`, { details: { field } });
    }
    out[key] = value;
  }
  if (out.intervalMs === 0) {
    throw new MeshError(ErrorCode.configInvalid, `${where}.intervalMs: must be greater than 0`, { details: { field: `${where}.intervalMs` } });
  }
  // Envoy: an unset max_ejection_time is max(300 s, base); a set one below base is raised to base.
  if (options.maxEjectionTimeMs === undefined) out.maxEjectionTimeMs = Math.max(300_000, out.baseEjectionTimeMs as number);
  out.maxEjectionTimeMs = Math.max(out.maxEjectionTimeMs as number, out.baseEjectionTimeMs as number);
  return Object.freeze(out) as ResolvedOutlierDetectionOptions;
}
