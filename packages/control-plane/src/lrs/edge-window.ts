/**
 * The sliding window of one service-graph edge: a fixed ring of time buckets (so memory per
 * edge is constant however long the edge lives), each holding the counts that load reports
 * added while it was the current bucket. Buckets older than the window are cleared lazily when
 * the ring advances.
 */

/** Counts one load report adds to an edge (already summed over localities and endpoints). */
export interface EdgeSample {
  issued: number;
  successful: number;
  errors: number;
  dropped: number;
  /** Sum of latency values, in ms, over `latencyCount` finished requests (0 when not reported). */
  latencySumMs: number;
  latencyCount: number;
}

/** Totals over the window. */
export interface WindowTotals extends EdgeSample {
  /** Milliseconds the totals cover: the window, or less while the edge is younger than it. */
  coveredMs: number;
}

const FIELDS = 6;

/** See the module comment. Not thread-safe; owned by one service graph. */
export class EdgeWindow {
  readonly #bucketMs: number;
  readonly #buckets: number;
  /** `buckets × FIELDS` numbers: issued, successful, errors, dropped, latency sum, latency count. */
  readonly #data: Float64Array;
  /** Absolute index (`floor(t / bucketMs)`) of the newest bucket written. */
  #head: number;
  readonly #createdAt: number;

  /**
   * @param windowMs length of the window (e.g. 60,000)
   * @param bucketCount buckets it is split into (resolution = windowMs / bucketCount)
   * @param now creation time in ms (the edge's first report)
   */
  constructor(windowMs: number, bucketCount: number, now: number) {
    this.#buckets = Math.max(1, Math.floor(bucketCount));
    this.#bucketMs = Math.max(1, windowMs / this.#buckets);
    this.#data = new Float64Array(this.#buckets * FIELDS);
    this.#head = Math.floor(now / this.#bucketMs);
    this.#createdAt = now;
  }

  #advance(now: number): void {
    const index = Math.floor(now / this.#bucketMs);
    if (index <= this.#head) return;
    const steps = Math.min(index - this.#head, this.#buckets);
    for (let i = 1; i <= steps; i++) {
      const slot = ((this.#head + i) % this.#buckets) * FIELDS;
      this.#data.fill(0, slot, slot + FIELDS);
    }
    this.#head = index;
  }

  /** Adds one report's counts at time `now` (ms). */
  add(sample: EdgeSample, now: number): void {
    this.#advance(now);
    const slot = (this.#head % this.#buckets) * FIELDS;
    const d = this.#data;
    d[slot] = (d[slot] ?? 0) + sample.issued;
    d[slot + 1] = (d[slot + 1] ?? 0) + sample.successful;
    d[slot + 2] = (d[slot + 2] ?? 0) + sample.errors;
    d[slot + 3] = (d[slot + 3] ?? 0) + sample.dropped;
    d[slot + 4] = (d[slot + 4] ?? 0) + sample.latencySumMs;
    d[slot + 5] = (d[slot + 5] ?? 0) + sample.latencyCount;
  }

  /** Sums the buckets still inside the window at `now`. */
  totals(now: number): WindowTotals {
    this.#advance(now);
    const t = [0, 0, 0, 0, 0, 0];
    const d = this.#data;
    for (let b = 0; b < this.#buckets; b++) for (let f = 0; f < FIELDS; f++) t[f] = (t[f] ?? 0) + (d[b * FIELDS + f] ?? 0);
    const windowMs = this.#bucketMs * this.#buckets;
    return {
      issued: t[0] ?? 0,
      successful: t[1] ?? 0,
      errors: t[2] ?? 0,
      dropped: t[3] ?? 0,
      latencySumMs: t[4] ?? 0,
      latencyCount: t[5] ?? 0,
      coveredMs: Math.min(windowMs, Math.max(0, now - this.#createdAt)),
    };
  }
}
