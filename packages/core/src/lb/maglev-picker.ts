/**
 * MAGLEV (Google's consistent hashing, as Envoy builds it in `maglev_lb.cc`): a lookup table of
 * a prime size (65537 by default) where each endpoint fills slots along its own permutation
 * `offset + j × skip (mod M)`, with `offset = xxHash64(key, 0) mod M` and
 * `skip = xxHash64(key, 1) mod (M − 1) + 1`. Weights are honoured the way Envoy does: an endpoint
 * of normalised weight w claims a slot in a round only when `round × w ≥ its running target`.
 * A pick is `table[hash mod M]`; a request without a hash gets a random endpoint.
 */
import type { Hasher } from './hasher.ts';
import type { Endpoint, EndpointPicker, RandomSource } from './types.ts';

/** Envoy's default Maglev table size (a prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

/** Options of {@link MaglevPicker}. */
export interface MaglevOptions {
  /** Table size; must be prime. Default 65537. */
  tableSize?: number;
  random?: RandomSource;
}

/** The MAGLEV picker: an immutable table, one modulo and one array read per pick. */
export class MaglevPicker implements EndpointPicker {
  readonly #endpoints: readonly Endpoint[];
  readonly #table: Int32Array;
  readonly #size: bigint;
  readonly #random: RandomSource;

  /** Builds the table; O(M) once, per config update. */
  constructor(endpoints: readonly Endpoint[], hasher: Hasher, options: MaglevOptions = {}) {
    const m = options.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
    this.#endpoints = endpoints;
    this.#random = options.random ?? Math.random;
    this.#size = BigInt(m);
    const table = new Int32Array(endpoints.length === 0 ? 0 : m).fill(-1);
    this.#table = table;
    const n = endpoints.length;
    if (n === 0) return;
    let total = 0;
    for (const e of endpoints) total += e.weight;
    const weight = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      weight[i] = endpoints[i]!.weight / total;
      maxWeight = Math.max(maxWeight, weight[i]!);
    }
    const position = new Int32Array(n);
    const skip = new Int32Array(n);
    const targetWeight = new Float64Array(n);
    const mBig = BigInt(m);
    for (let i = 0; i < n; i++) {
      const key = endpoints[i]!.key;
      position[i] = Number(hasher.hash64(key, 0n) % mBig);
      skip[i] = Number(hasher.hash64(key, 1n) % (mBig - 1n)) + 1;
    }
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let i = 0; i < n && filled < m; i++) {
        if (round * weight[i]! < targetWeight[i]!) continue;
        targetWeight[i] = targetWeight[i]! + maxWeight;
        const step = skip[i]!;
        let c = position[i]!;
        while (table[c] !== -1) {
          c += step;
          if (c >= m) c -= m;
        }
        table[c] = i;
        c += step;
        position[i] = c >= m ? c - m : c;
        filled++;
      }
    }
  }

  /** Table size (for tests and the config dump). */
  get tableSize(): number {
    return this.#table.length;
  }

  pick(context: { hash?: bigint } | undefined): Endpoint | undefined {
    if (this.#table.length === 0) return undefined;
    const h = context?.hash;
    if (h === undefined) return this.#endpoints[Math.floor(this.#random() * this.#endpoints.length)];
    return this.#endpoints[this.#table[Number(h % this.#size)]!];
  }
}
