/**
 * Helpers shared by core's tests and benchmark (not exported from the package): endpoint
 * fixtures and the statistical bounds the tests assert with.
 */
import type { Endpoint, HealthStatus } from '../lb/types.ts';

/** A compiled endpoint `10.0.<i/256>.<i%256>:8080` with the given weight and health. */
export function testEndpoint(i: number, weight = 1, healthStatus: HealthStatus = 'HEALTHY'): Endpoint {
  const address = `10.0.${(i >> 8) & 255}.${i & 255}`;
  return {
    address,
    port: 8080,
    key: `${address}:8080`,
    weight,
    healthStatus,
    locality: {},
    priority: 0,
    hostname: undefined,
    metadata: {},
    state: { activeRequests: 0, isEjected: false },
  };
}

/** Pearson's chi-square statistic of `observed` counts against `expected` probabilities. */
export function chiSquare(observed: readonly number[], expectedProbabilities: readonly number[]): number {
  const n = observed.reduce((s, x) => s + x, 0);
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = n * expectedProbabilities[i]!;
    chi += (observed[i]! - e) ** 2 / e;
  }
  return chi;
}

/**
 * Upper critical value of the chi-square distribution with `df` degrees of freedom at
 * significance 1e-6 (Wilson–Hilferty approximation, accurate to a few percent for df ≥ 1):
 * a correct sampler exceeds it once in a million runs.
 */
export function chiSquareCritical1e6(df: number): number {
  const z = 4.753; // one-sided normal quantile for 1e-6
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Half-width of a ±5σ binomial interval for `n` trials at probability `p` (in counts). */
export function binomialTolerance(n: number, p: number): number {
  return 5 * Math.sqrt(n * p * (1 - p));
}
