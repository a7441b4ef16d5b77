/**
 * The token buckets of local rate limits, keyed by where the config applies (listener, filter
 * instance, virtual host, route). A bucket is replaced only when its bucket settings change, so
 * a config update that leaves the limit alone does not refill it.
 */
import type { LocalRateLimitFilterConfig } from '@weft/xds-client';
import { TokenBucket, isSampled } from '@weft/core';

/** What a rate-limit check decided. */
export type RateLimitVerdict = 'allow' | 'reject' | 'over-limit-not-enforced';

/** See the module comment. */
export class RateLimitBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: (() => number) | undefined;

  constructor(now?: () => number) {
    this.#now = now;
  }

  /** Checks (and takes a token for) one request under `cfg` at `key`. */
  check(key: string, cfg: LocalRateLimitFilterConfig, random?: () => number): RateLimitVerdict {
    const tb = cfg.tokenBucket;
    if (tb === undefined || !isSampled(cfg.filterEnabled, random)) return 'allow';
    let bucket = this.#buckets.get(key);
    if (bucket === undefined || bucket.maxTokens !== tb.maxTokens || bucket.tokensPerFill !== tb.tokensPerFill || bucket.fillIntervalMs !== tb.fillIntervalMs) {
      bucket = new TokenBucket(tb, this.#now ?? Date.now, `local rate limit ${key}`);
      this.#buckets.set(key, bucket);
    }
    if (bucket.tryConsume()) return 'allow';
    return isSampled(cfg.filterEnforced, random) ? 'reject' : 'over-limit-not-enforced';
  }
}
