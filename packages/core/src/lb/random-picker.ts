/**
 * RANDOM: each pick chooses an endpoint with probability proportional to its weight
 * (uniform when all weights are equal). Cumulative weights plus a binary search: O(log n) per
 * pick, nothing allocated.
 */
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Weighted sampling table over a fixed list of endpoints (shared by RANDOM and LEAST_REQUEST). */
export class WeightedSampler {
  readonly endpoints: readonly Endpoint[];
  readonly #cumulative: Float64Array;
  readonly #total: number;
  readonly #isUniform: boolean;

  /** `endpoints` must be non-empty and weights ≥ 1 (compile validates both). */
  constructor(endpoints: readonly Endpoint[]) {
    this.endpoints = endpoints;
    this.#cumulative = new Float64Array(endpoints.length);
    let total = 0;
    let isUniform = true;
    for (let i = 0; i < endpoints.length; i++) {
      const w = endpoints[i]!.weight;
      if (w !== endpoints[0]!.weight) isUniform = false;
      total += w;
      this.#cumulative[i] = total;
    }
    this.#total = total;
    this.#isUniform = isUniform;
  }

  /** Index of an endpoint drawn with probability weight/total using `u` ∈ [0, 1). */
  sampleIndex(u: number): number {
    const n = this.endpoints.length;
    if (this.#isUniform) return Math.min(n - 1, Math.floor(u * n));
    const target = u * this.#total;
    const c = this.#cumulative;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** The RANDOM picker. */
export class RandomPicker implements EndpointPicker {
  readonly #sampler: WeightedSampler;
  readonly #random: RandomSource;

  constructor(endpoints: readonly Endpoint[], random: RandomSource = Math.random) {
    this.#sampler = new WeightedSampler(endpoints);
    this.#random = random;
  }

  pick(): Endpoint | undefined {
    const eps = this.#sampler.endpoints;
    if (eps.length === 0) return undefined;
    return eps[this.#sampler.sampleIndex(this.#random())];
  }
}
