/**
 * ROUND_ROBIN: plain rotation when all weights are equal (starting at a random offset, as
 * Envoy does), smooth weighted rotation through an {@link EdfScheduler} otherwise.
 */
import { EdfScheduler } from './edf-scheduler.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** The ROUND_ROBIN picker; its rotation state is private to this picker instance. */
export class RoundRobinPicker implements EndpointPicker {
  readonly #endpoints: readonly Endpoint[];
  readonly #scheduler: EdfScheduler | undefined;
  #next: number;

  constructor(endpoints: readonly Endpoint[], random: RandomSource = Math.random) {
    this.#endpoints = endpoints;
    const isUniform = endpoints.every((e) => e.weight === endpoints[0]!.weight);
    this.#scheduler = isUniform ? undefined : new EdfScheduler(endpoints.map((e) => e.weight), random);
    this.#next = Math.floor(random() * endpoints.length);
  }

  pick(): Endpoint | undefined {
    const eps = this.#endpoints;
    if (eps.length === 0) return undefined;
    if (this.#scheduler !== undefined) return eps[this.#scheduler.next()];
    const i = this.#next;
    this.#next = i + 1 === eps.length ? 0 : i + 1;
    return eps[i];
  }
}
