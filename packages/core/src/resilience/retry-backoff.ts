/**
 * Envoy's retry back-off, expressed as a cockatiel backoff so that it composes with cockatiel
 * policies and iterates like any other `IBackoff`.
 *
 * Envoy (router filter, `RetryPolicy.retry_back_off`): retry number `n` (1 for the first retry)
 * waits a random time in `[0, (2^n - 1) × base)`, never more than `max`. Defaults: base 25 ms,
 * max 10 × base (250 ms). So the first retry waits 0–24 ms, the second 0–74 ms, the third
 * 0–174 ms, every later one 0–249 ms.
 */
import { ExponentialBackoff, type GeneratorFn, type IBackoff } from 'cockatiel';
import type { RandomSource } from './fractional-percent.ts';

/**
 * Which ceiling the jitter is drawn under for retry `n` (1-based):
 * `envoy` — `(2^n − 1) × base` (Envoy's router); `grpc` — `2^(n−1) × base` (gRFC A6, which
 * gRFC A44 applies to xDS retry policies). Both are capped at `max`.
 */
export type RetryBackoffFormula = 'envoy' | 'grpc';

/** Envoy's default base interval of the retry back-off, in milliseconds. */
export const DEFAULT_RETRY_BASE_INTERVAL_MS = 25;

/** Options of {@link createRetryBackoff}; the same fields as `retryBackOff` of the decoded RetryPolicy. */
export interface RetryBackoffOptions {
  /** Base interval; must be > 0. Default 25 ms. */
  readonly baseIntervalMs?: number;
  /** Cap of every wait; default 10 × base. A value below base is raised to base. */
  readonly maxIntervalMs?: number;
  /** Random source for the jitter; default `Math.random`. */
  readonly random?: RandomSource;
  /** Default `envoy`. */
  readonly formula?: RetryBackoffFormula;
}

/**
 * The upper bound (exclusive) of the wait before retry number `retry` (1-based):
 * `min((2^retry − 1) × base, max)` for `envoy`, `min(2^(retry−1) × base, max)` for `grpc`.
 */
export function retryBackoffCeilingMs(
  retry: number,
  baseIntervalMs: number,
  maxIntervalMs: number,
  formula: RetryBackoffFormula = 'envoy',
): number {
  const n = Math.max(1, retry);
  const multiplier = formula === 'grpc' ? 2 ** (n - 1) : 2 ** n - 1;
  return Math.min(multiplier * baseIntervalMs, maxIntervalMs);
}

function jitterGenerator(random: RandomSource, formula: RetryBackoffFormula): GeneratorFn<number> {
  return (state, options) => {
    const retry = (state ?? 0) + 1;
    const ceiling = retryBackoffCeilingMs(retry, options.initialDelay, options.maxDelay, formula);
    return [Math.floor(random() * ceiling), retry];
  };
}

/**
 * Creates the first step of an Envoy back-off: `.duration` is the wait before the first retry,
 * `.next()` gives the step of the following retry. Steps are immutable values; each request
 * starts its own sequence. Non-positive or non-finite intervals fall back to the defaults.
 */
export function createRetryBackoff(options: RetryBackoffOptions = {}): IBackoff<unknown> {
  const base =
    options.baseIntervalMs !== undefined && Number.isFinite(options.baseIntervalMs) && options.baseIntervalMs > 0
      ? options.baseIntervalMs
      : DEFAULT_RETRY_BASE_INTERVAL_MS;
  const max =
    options.maxIntervalMs !== undefined && Number.isFinite(options.maxIntervalMs) && options.maxIntervalMs > 0
      ? Math.max(options.maxIntervalMs, base)
      : base * 10;
  const backoff = new ExponentialBackoff<number>({
    generator: jitterGenerator(options.random ?? Math.random, options.formula ?? 'envoy'),
    initialDelay: base,
    maxDelay: max,
    exponent: 2,
  });
  return backoff.next();
}
