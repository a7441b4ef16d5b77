/**
 * Envoy's local rate limit token bucket: starts full with `maxTokens`, adds `tokensPerFill`
 * every `fillIntervalMs` (whole intervals, computed lazily from the clock, no timer), capped at
 * `maxTokens`. TODO(core): moves to `@weft/core` resilience (local rate limit) when it lands.
 */

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  /** Clock; default `Date.now` (mockable with `mock.timers`). */
  readonly now?: () => number;
}

/** See the module comment. */
export class TokenBucket {
  readonly options: TokenBucketOptions;
  #tokens: number;
  #lastFill: number;
  readonly #now: () => number;

  constructor(options: TokenBucketOptions) {
    this.options = options;
    this.#now = options.now ?? Date.now;
    this.#tokens = options.maxTokens;
    this.#lastFill = this.#now();
  }

  /** Takes one token; false when the bucket is empty. */
  tryTake(): boolean {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.options;
    const now = this.#now();
    if (fillIntervalMs > 0 && now - this.#lastFill >= fillIntervalMs) {
      const fills = Math.floor((now - this.#lastFill) / fillIntervalMs);
      this.#tokens = Math.min(maxTokens, this.#tokens + fills * tokensPerFill);
      this.#lastFill += fills * fillIntervalMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Tokens left now (before any refill that is due). */
  get tokens(): number {
    return this.#tokens;
  }
}
