/**
 * LEAST_REQUEST, as Envoy does it:
 * - all weights equal: power of two choices (`choice_count`, default 2) — candidates drawn
 *   uniformly at random, the one with fewer active requests wins (ties: the first draw);
 * - weights differ: weighted round robin (EDF) where an endpoint's weight at the moment it is
 *   picked is `weight / (active + 1)^bias` (`active_request_bias`, default 1), so loaded
 *   endpoints come round less often. A bias of 0 is plain weighted round robin.
 */
import { EdfScheduler } from './edf-scheduler.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Options of {@link LeastRequestPicker}. */
export interface LeastRequestOptions {
  /** Candidates drawn per pick (Envoy `choice_count`), at least 2. Default 2. */
  choiceCount?: number;
  /** Envoy `active_request_bias` for unequal weights; default 1. */
  activeRequestBias?: number;
  random?: RandomSource;
}

/** The LEAST_REQUEST picker; reads `endpoint.state.activeRequests`, which adapters maintain. */
export class LeastRequestPicker implements EndpointPicker {
  readonly #endpoints: readonly Endpoint[];
  readonly #random: RandomSource;
  readonly #choiceCount: number;
  readonly #scheduler: EdfScheduler | undefined;
  readonly #effectiveWeight: (index: number) => number;

  constructor(endpoints: readonly Endpoint[], options: LeastRequestOptions = {}) {
    this.#endpoints = endpoints;
    this.#random = options.random ?? Math.random;
    this.#choiceCount = Math.max(2, Math.floor(options.choiceCount ?? 2));
    const isUniform = endpoints.every((e) => e.weight === endpoints[0]!.weight);
    this.#scheduler = isUniform ? undefined : new EdfScheduler(endpoints.map((e) => e.weight), this.#random);
    const bias = options.activeRequestBias ?? 1;
    this.#effectiveWeight =
      bias === 1
        ? (i) => endpoints[i]!.weight / (endpoints[i]!.state.activeRequests + 1)
        : bias === 0
          ? (i) => endpoints[i]!.weight
          : (i) => endpoints[i]!.weight / (endpoints[i]!.state.activeRequests + 1) ** bias;
  }

  pick(): Endpoint | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (n === 1) return eps[0];
    if (this.#scheduler !== undefined) return eps[this.#scheduler.nextWithWeight(this.#effectiveWeight)];
    let best = eps[Math.floor(this.#random() * n)]!;
    for (let c = 1; c < this.#choiceCount; c++) {
      const candidate = eps[Math.floor(this.#random() * n)]!;
      if (candidate.state.activeRequests < best.state.activeRequests) best = candidate;
    }
    return best;
  }
}
