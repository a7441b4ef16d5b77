/**
 * RING_HASH, built the way Envoy builds it (`ring_hash_lb.cc`), so a Weft client and an Envoy
 * sidecar send the same key to the same endpoint:
 *
 * - weights are normalised to sum 1; `scale = min(ceil(minWeight × minRingSize) / minWeight,
 *   maxRingSize)`; each endpoint, in order, receives entries until the running total reaches
 *   the running target `Σ scale × weight`;
 * - entry `i` of an endpoint hashes `"<address>:<port>_<i>"` with xxHash64 (seed 0), or with
 *   64-bit MurmurHash2 (seed 0xc70f6907) when `hashFunction` is MURMUR_HASH_2;
 * - a request hash `h` maps to the first entry whose hash is ≥ `h`, wrapping to the first.
 *
 * A request without a hash gets a random endpoint (Envoy does the same).
 */
import type { Hasher } from './hasher.ts';
import { murmurHash2_64 } from './murmur-hash2.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Ring size bounds (`RingHashLbConfig`). */
export interface RingHashOptions {
  /** Default 1024 (Envoy's). */
  minRingSize?: number;
  /** Default 8,388,608 (Envoy's). */
  maxRingSize?: number;
  /** Hash of ring entries (`RingHashLbConfig.hash_function`); default XX_HASH. Request hashes are always xxHash64. */
  hashFunction?: 'XX_HASH' | 'MURMUR_HASH_2';
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

    // Count first, then hash into a typed array that sorts natively (numeric order).
    const perEndpoint = new Int32Array(endpoints.length);
    let size = 0;
    let current = 0;
    let target = 0;
    for (let h = 0; h < endpoints.length; h++) {
      target += scale * (endpoints[h]!.weight / total);
      let count = 0;
      while (current < target) {
        count++;
        current++;
      }
      perEndpoint[h] = count;
      size += count;
    }
    const hashes = new BigUint64Array(size);
    const ownerOf = new Map<bigint, number>();
    const hashEntry = options.hashFunction === 'MURMUR_HASH_2' ? (key: string) => murmurHash2_64(key) : (key: string) => hasher.hash64(key);
    let k = 0;
    for (let h = 0; h < endpoints.length; h++) {
      const prefix = `${endpoints[h]!.key}_`;
      for (let i = 0; i < perEndpoint[h]!; i++) {
        const hash = hashEntry(prefix + i);
        hashes[k++] = hash;
        // On a (vanishingly rare) 64-bit collision the first endpoint keeps the point.
        if (!ownerOf.has(hash)) ownerOf.set(hash, h);
      }
    }
    hashes.sort();
    this.#hashes = hashes;
    this.#owners = new Int32Array(size);
    for (let i = 0; i < size; i++) this.#owners[i] = ownerOf.get(hashes[i]!)!;
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
