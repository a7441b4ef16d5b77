/**
 * The token buckets of local rate limits, keyed by where the config applies (listener, filter
 * instance, virtual host, route). A bucket is replaced only when its bucket settings change, so
 * a config update that leaves the limit alone does not refill it.
 */
import type { LocalRateLimitFilterConfig } from '@weft/xds-client';
import { isSampled } from '../../../core/src/resilience/fractional-percent.ts';
import { TokenBucket } from './token-bucket.ts';

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
    const o = bucket?.options;
    if (bucket === undefined || o!.maxTokens !== tb.maxTokens || o!.tokensPerFill !== tb.tokensPerFill || o!.fillIntervalMs !== tb.fillIntervalMs) {
      bucket = new TokenBucket({ ...tb, now: this.#now });
      this.#buckets.set(key, bucket);
    }
    if (bucket.tryTake()) return 'allow';
    return isSampled(cfg.filterEnforced, random) ? 'reject' : 'over-limit-not-enforced';
  }
}
