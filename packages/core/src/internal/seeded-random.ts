/**
 * A small deterministic PRNG (mulberry32) for tests and benchmarks that need repeatable
 * randomness. Not for anything security related.
 */
import type { RandomSource } from '../lb/types.ts';

/** Returns a uniform [0, 1) generator whose sequence is fixed by `seed`. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
