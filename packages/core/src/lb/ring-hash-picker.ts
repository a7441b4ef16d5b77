/**
 * RING_HASH, built the way Envoy builds it (`ring_hash_lb.cc`), so a Weft client and an Envoy
 * sidecar send the same key to the same endpoint:
 *
 * - weights are normalised to sum 1; `scale = min(ceil(minWeight × minRingSize) / minWeight,
 *   maxRingSize)`; each endpoint, in order, receives entries until the running total reaches
 *   the running target `Σ scale × weight`;
 * - entry `i` of an endpoint hashes `"<address>:<port>_<i>"` with xxHash64 (seed 0);
 * - a request hash `h` maps to the first entry whose hash is ≥ `h`, wrapping to the first.
 *
 * A request without a hash gets a random endpoint (Envoy does the same).
 */
import type { Hasher } from './hasher.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Ring size bounds (`RingHashLbConfig`). */
export interface RingHashOptions {
  /** Default 1024 (Envoy's). */
  minRingSize?: number;
  /** Default 8,388,608 (Envoy's). */
  maxRingSize?: number;
  random?: RandomSource;
}

/** Envoy's default `minimum_ring_size`. */
export const DEFAULT_MIN_RING_SIZE = 1024;
/** Envoy's default `maximum_ring_size`. */
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

/** The RING_HASH picker: an immutable sorted ring plus a binary search per pick. */
export class RingHashPicker implements EndpointPicker {
  readonly #endpoints: readonly Endpoint[];
  readonly #hashes: BigUint64Array;
  readonly #owners: Int32Array;
  readonly #random: RandomSource;

  /** Builds the ring; O(ring size × log) once, per config update. */
  constructor(endpoints: readonly Endpoint[], hasher: Hasher, options: RingHashOptions = {}) {
    this.#endpoints = endpoints;
    this.#random = options.random ?? Math.random;
    const minRing = options.minRingSize ?? DEFAULT_MIN_RING_SIZE;
    const maxRing = options.maxRingSize ?? DEFAULT_MAX_RING_SIZE;
    let total = 0;
    for (const e of endpoints) total += e.weight;
    let minWeight = 1;
    for (const e of endpoints) minWeight = Math.min(minWeight, e.weight / total);
    const scale = endpoints.length === 0 ? 0 : Math.min(Math.ceil(minWeight * minRing) / minWeight, maxRing);

    const hashes: bigint[] = [];
    const owners: number[] = [];
    let current = 0;
    let target = 0;
    for (let h = 0; h < endpoints.length; h++) {
      const ep = endpoints[h]!;
      target += scale * (ep.weight / total);
      const prefix = `${ep.key}_`;
      for (let i = 0; current < target; i++, current++) {
        hashes.push(hasher.hash64(prefix + i));
        owners.push(h);
      }
    }
    const order = Array.from(hashes.keys()).sort((a, b) => {
      const x = hashes[a]!;
      const y = hashes[b]!;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.#hashes = new BigUint64Array(order.length);
    this.#owners = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) {
      this.#hashes[i] = hashes[order[i]!]!;
      this.#owners[i] = owners[order[i]!]!;
    }
  }

  /** Number of entries on the ring (for tests, metrics and the config dump). */
  get ringSize(): number {
    return this.#hashes.length;
  }

  pick(context: { hash?: bigint } | undefined): Endpoint | undefined {
    const n = this.#hashes.length;
    if (n === 0) return undefined;
    const h = context?.hash;
    if (h === undefined) return this.#endpoints[Math.floor(this.#random() * this.#endpoints.length)];
    const ring = this.#hashes;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#endpoints[this.#owners[lo === n ? 0 : lo]!];
  }
}
