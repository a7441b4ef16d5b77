/**
 * Earliest-deadline-first scheduler, the structure Envoy uses for weighted round robin and
 * locality choice: an entry of weight w is due every 1/w time units, so over any window the
 * picks are proportional to weight and spread smoothly (a weight-3 entry is not picked three
 * times in a row when others are due). O(log n) per pick, no allocation.
 */
import type { RandomSource } from './types.ts';

/** Weighted smooth scheduler over item indices `0..weights.length-1`. */
export class EdfScheduler {
  readonly #weights: Float64Array;
  readonly #deadline: Float64Array;
  /** Binary min-heap of indices ordered by (deadline, index). */
  readonly #heap: Int32Array;

  /**
   * `weights` must all be > 0. `random` picks the initial phase so that many clients starting
   * together do not all hit the first endpoint first (Envoy does the same).
   */
  constructor(weights: ArrayLike<number>, random: RandomSource = Math.random) {
    const n = weights.length;
    this.#weights = Float64Array.from(weights);
    this.#deadline = new Float64Array(n);
    this.#heap = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.#deadline[i] = random() / this.#weights[i]!;
      this.#heap[i] = i;
    }
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  /** Returns the next due index, or -1 when the scheduler is empty. */
  next(): number {
    const heap = this.#heap;
    if (heap.length === 0) return -1;
    const top = heap[0]!;
    this.#deadline[top] = this.#deadline[top]! + 1 / this.#weights[top]!;
    this.#siftDown(0);
    return top;
  }

  /**
   * Like {@link next}, but the chosen entry's next deadline uses `currentWeight(index)` (> 0)
   * instead of its fixed weight: Envoy's scheme for weights that change with load, where an
   * entry is re-queued with its weight at the time it was picked.
   */
  nextWithWeight(currentWeight: (index: number) => number): number {
    const heap = this.#heap;
    if (heap.length === 0) return -1;
    const top = heap[0]!;
    this.#deadline[top] = this.#deadline[top]! + 1 / currentWeight(top);
    this.#siftDown(0);
    return top;
  }

  #less(a: number, b: number): boolean {
    const da = this.#deadline[a]!;
    const db = this.#deadline[b]!;
    return da < db || (da === db && a < b);
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && this.#less(heap[r]!, heap[l]!)) m = r;
      if (!this.#less(heap[m]!, heap[i]!)) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  }
}
