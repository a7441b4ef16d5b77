/**
 * Envoy's token bucket (`envoy.type.v3.TokenBucket`): starts full with `maxTokens`, gains
 * `tokensPerFill` every `fillIntervalMs` (never above `maxTokens`), each admitted request takes
 * one token. Refills are computed lazily from the clock on each check, so a bucket owns no
 * timer and needs no cleanup. Fill instants are aligned to the bucket's creation time.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';

/** Options of a token bucket; the decoded `tokenBucket` of a local rate limit config. */
export interface TokenBucketOptions {
  /** Capacity and initial content; must be ≥ 1. */
  readonly maxTokens: number;
  /** Tokens added per fill; default 1, must be ≥ 1. */
  readonly tokensPerFill?: number;
  /** Time between fills; Envoy requires at least 50 ms. */
  readonly fillIntervalMs: number;
}

/** Minimum fill interval Envoy accepts. */
export const MIN_FILL_INTERVAL_MS = 50;

/** A token bucket; see the module comment. Synchronous and allocation-free per check. */
export class TokenBucket {
  /** Capacity. */
  readonly maxTokens: number;
  /** Tokens added per fill. */
  readonly tokensPerFill: number;
  /** Time between fills. */
  readonly fillIntervalMs: number;
  readonly #now: () => number;
  #tokens: number;
  #lastFillAt: number;

  /**
   * Validates and creates a full bucket. Throws MeshError `WEFT_ERR_CONFIG_INVALID` naming
   * `where` for `maxTokens < 1`, `tokensPerFill < 1` or `fillIntervalMs < 50`.
   */
  constructor(options: TokenBucketOptions, now: () => number, where = 'tokenBucket') {
    const tokensPerFill = options.tokensPerFill ?? 1;
    const check = (ok: boolean, field: string, what: string, value: unknown) => {
      if (!ok) {
        throw new MeshError(ErrorCode.configInvalid, `${where}.${field}: ${what}, got ${String(value)}`, { details: { field: `${where}.${field}` } });
      }
    };
    check(Number.isInteger(options.maxTokens) && options.maxTokens >= 1, 'maxTokens', 'expected an integer ≥ 1', options.maxTokens);
    check(Number.isInteger(tokensPerFill) && tokensPerFill >= 1, 'tokensPerFill', 'expected an integer ≥ 1', tokensPerFill);
    check(
      Number.isFinite(options.fillIntervalMs) && options.fillIntervalMs >= MIN_FILL_INTERVAL_MS,
      'fillIntervalMs',
      `expected at least ${MIN_FILL_INTERVAL_MS} ms`,
      options.fillIntervalMs,
    );
    this.maxTokens = options.maxTokens;
    this.tokensPerFill = tokensPerFill;
    this.fillIntervalMs = options.fillIntervalMs;
    this.#now = now;
    this.#tokens = options.maxTokens;
    this.#lastFillAt = now();
  }

  #refill(now: number): void {
    const elapsed = now - this.#lastFillAt;
    if (elapsed < this.fillIntervalMs) return;
    const fills = Math.floor(elapsed / this.fillIntervalMs);
    this.#tokens = Math.min(this.maxTokens, this.#tokens + fills * this.tokensPerFill);
    this.#lastFillAt += fills * this.fillIntervalMs;
  }

  /** Tokens available now (or at `now`, a reading of the bucket's clock). */
  available(now: number = this.#now()): number {
    this.#refill(now);
    return this.#tokens;
  }

  /**
   * Takes one token and returns true, or returns false when the bucket is empty. `now` lets a
   * caller that checks several buckets read the clock once.
   */
  tryConsume(now: number = this.#now()): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Puts back one token taken by {@link tryConsume} (used when a combined check fails). */
  refund(): void {
    if (this.#tokens < this.maxTokens) this.#tokens++;
  }

  /** Milliseconds until the next fill (for `x-ratelimit-reset`). */
  msUntilNextFill(now: number = this.#now()): number {
    this.#refill(now);
    return Math.max(0, this.#lastFillAt + this.fillIntervalMs - now);
  }
}
