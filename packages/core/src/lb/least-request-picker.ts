/**
 * LEAST_REQUEST: power of two choices. Two endpoints are drawn at random (by weight when weights
 * differ) and the one with fewer active requests relative to its weight wins; ties go to the
 * first draw. With equal weights this is exactly Envoy's default (`choice_count` 2); with
 * unequal weights Envoy switches to an EDF over `weight / (active + 1)^bias` — Weft keeps P2C but
 * draws the candidates by weight and compares `active / weight`, which favours heavy endpoints
 * in the same direction without a scheduler rebuild per request.
 */
import { WeightedSampler } from './random-picker.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Options of {@link LeastRequestPicker}. */
export interface LeastRequestOptions {
  /** Candidates drawn per pick (Envoy `choice_count`), at least 2. Default 2. */
  choiceCount?: number;
  random?: RandomSource;
}

/** The LEAST_REQUEST picker; reads `endpoint.state.activeRequests`, which adapters maintain. */
export class LeastRequestPicker implements EndpointPicker {
  readonly #sampler: WeightedSampler;
  readonly #random: RandomSource;
  readonly #choiceCount: number;

  constructor(endpoints: readonly Endpoint[], options: LeastRequestOptions = {}) {
    this.#sampler = new WeightedSampler(endpoints);
    this.#random = options.random ?? Math.random;
    this.#choiceCount = Math.max(2, Math.floor(options.choiceCount ?? 2));
  }

  pick(): Endpoint | undefined {
    const eps = this.#sampler.endpoints;
    if (eps.length === 0) return undefined;
    if (eps.length === 1) return eps[0];
    let best = eps[this.#sampler.sampleIndex(this.#random())]!;
    let bestLoad = best.state.activeRequests / best.weight;
    for (let c = 1; c < this.#choiceCount; c++) {
      const candidate = eps[this.#sampler.sampleIndex(this.#random())]!;
      const load = candidate.state.activeRequests / candidate.weight;
      if (load < bestLoad) {
        best = candidate;
        bestLoad = load;
      }
    }
    return best;
  }
}
