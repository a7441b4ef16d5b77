/**
 * Conversions from Istio's duration strings (`1s`, `250ms`, `1.5s`, `2m`, `1h`) and percentages
 * to the protobuf shapes Envoy expects (`google.protobuf.Duration`, `FractionalPercent`).
 */

/** `google.protobuf.Duration` as a plain object. */
export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/**
 * Milliseconds of an Istio duration string; `undefined` for anything that is not one
 * (the config analyzer reports those; generators then leave the field unset).
 */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== value.length) return undefined;
  return total;
}

/** `google.protobuf.Duration` for a number of milliseconds. */
export function durationFromMs(ms: number): ProtoDuration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Istio duration string → `google.protobuf.Duration`, or `undefined` if unparseable. */
export function protoDuration(value: unknown): ProtoDuration | undefined {
  const ms = parseDurationMs(value);
  return ms === undefined ? undefined : durationFromMs(ms);
}

/** A percentage (0–100, fractions allowed) as an Envoy `FractionalPercent` per million. */
export function fractionalPercent(percent: number): { numerator: number; denominator: 'MILLION' } {
  const clamped = Math.min(100, Math.max(0, percent));
  return { numerator: Math.round(clamped * 10_000), denominator: 'MILLION' };
}
