/**
 * Envoy's local rate limit filter (`envoy.extensions.filters.http.local_ratelimit.v3
 * .LocalRateLimit`), protocol-agnostic: one {@link LocalRateLimiter} per configured filter
 * instance (route, virtual host or inbound listener), asked once per request.
 *
 * Per request: with probability `filterEnabled` the request is checked (otherwise it passes
 * and takes no token). A checked request takes a token from the default bucket and from the
 * bucket of every configured descriptor that matches one of the request's descriptors — all or
 * none. Without a token it is rate limited; with probability `filterEnforced` it is rejected
 * (HTTP `statusCode`, default 429, plus `x-envoy-ratelimited: true` and the configured response
 * headers; gRPC UNAVAILABLE or RESOURCE_EXHAUSTED), otherwise it passes and is counted.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';
import { NEVER, isSampled } from './fractional-percent.ts';
import type { FractionalPercent, RandomSource } from './fractional-percent.ts';
import { TokenBucket } from './token-bucket.ts';
import type { TokenBucketOptions } from './token-bucket.ts';

/** One `key=value` pair of a rate limit descriptor. */
export interface RateLimitDescriptorEntry {
  readonly key: string;
  /** In a configured descriptor, an empty value matches any value of the key. */
  readonly value: string;
}

/** A descriptor: an ordered list of entries, e.g. `[{ key: 'client', value: 'alice' }]`. */
export type RateLimitDescriptor = readonly RateLimitDescriptorEntry[];

/** A header to add, as in `HeaderValueOption` (only key and value matter here). */
export interface RateLimitHeader {
  readonly key: string;
  readonly value: string;
}

/**
 * Options of {@link createLocalRateLimiter}; the fields map 1:1 from the decoded
 * `LocalRateLimitFilterConfig` of `@weft/xds-client` (which may be spread in).
 */
export interface LocalRateLimitOptions {
  /** Name for errors and stats (`stat_prefix`). */
  readonly statPrefix?: string;
  /** The default bucket; absent means only descriptor buckets limit (and nothing else does). */
  readonly tokenBucket?: TokenBucketOptions;
  /** Share of requests checked; Envoy's default when absent is 0 %. */
  readonly filterEnabled?: FractionalPercent;
  /** Share of over-limit requests rejected; Envoy's default when absent is 0 %. */
  readonly filterEnforced?: FractionalPercent;
  /** HTTP status of a rejection; default 429. */
  readonly statusCode?: number;
  /** Headers added to a rejection (besides `x-envoy-ratelimited`). */
  readonly responseHeadersToAdd?: readonly RateLimitHeader[];
  /** Headers added to the request when it was over the limit but not enforced. */
  readonly requestHeadersToAddWhenNotEnforced?: readonly RateLimitHeader[];
  /** Per-descriptor buckets. */
  readonly descriptors?: ReadonlyArray<{ readonly entries: RateLimitDescriptor; readonly tokenBucket: TokenBucketOptions }>;
  /** `DRAFT_VERSION_03` adds `x-ratelimit-limit/remaining/reset` to responses. */
  readonly enableXRatelimitHeaders?: 'OFF' | 'DRAFT_VERSION_03';
  /** gRPC: reject with RESOURCE_EXHAUSTED (8) instead of UNAVAILABLE (14). */
  readonly rateLimitedAsResourceExhausted?: boolean;
  /** Clock; default `Date.now` (mockable with `mock.timers`). */
  readonly now?: () => number;
  /** Random source for the enabled/enforced fractions; default `Math.random`. */
  readonly random?: RandomSource;
}

/** Result of {@link LocalRateLimiter.check}. Frozen values shared between requests. */
export type RateLimitDecision =
  /** Passes (also when the filter was not enabled for this request). */
  | { readonly outcome: 'allowed' }
  /** Over the limit, not enforced: passes with these request headers added. */
  | { readonly outcome: 'limited-not-enforced'; readonly requestHeadersToAdd: readonly RateLimitHeader[] }
  /** Rejected: answer at once; {@link LocalRateLimiter.createError} gives the MeshError. */
  | {
      readonly outcome: 'limited';
      readonly status: number;
      readonly grpcStatus: 8 | 14;
      readonly responseHeaders: readonly RateLimitHeader[];
    };

/** Envoy's counters of the filter (`<stat_prefix>.http_local_rate_limit.*`). */
export interface LocalRateLimitStats {
  /** Requests checked against the buckets. */
  enabled: number;
  /** Checked requests that got their tokens. */
  ok: number;
  /** Checked requests that did not. */
  rateLimited: number;
  /** Rate-limited requests that were rejected. */
  enforced: number;
}

const ALLOWED: RateLimitDecision = Object.freeze({ outcome: 'allowed' });

interface DescriptorBucket {
  readonly entries: RateLimitDescriptor;
  readonly bucket: TokenBucket;
}

function descriptorMatches(configured: RateLimitDescriptor, actual: RateLimitDescriptor): boolean {
  if (configured.length !== actual.length) return false;
  for (let i = 0; i < configured.length; i++) {
    const c = configured[i] as RateLimitDescriptorEntry;
    const a = actual[i] as RateLimitDescriptorEntry;
    if (c.key !== a.key || (c.value !== '' && c.value !== a.value)) return false;
  }
  return true;
}

/** A local rate limiter; see the module comment. All methods are synchronous. */
export class LocalRateLimiter {
  /** The filter's name for messages. */
  readonly statPrefix: string;
  /** Counters since creation. */
  readonly stats: LocalRateLimitStats = { enabled: 0, ok: 0, rateLimited: 0, enforced: 0 };
  readonly #bucket: TokenBucket | undefined;
  readonly #descriptors: readonly DescriptorBucket[];
  readonly #enabled: FractionalPercent;
  readonly #enforced: FractionalPercent;
  readonly #random: RandomSource;
  readonly #limited: RateLimitDecision & { outcome: 'limited' };
  readonly #notEnforced: RateLimitDecision;
  readonly #isXRatelimit: boolean;
  readonly #statusCode: number;
  readonly #matched: TokenBucket[] = [];
  readonly #now: () => number;

  /** Use {@link createLocalRateLimiter}. */
  constructor(options: LocalRateLimitOptions) {
    const now = options.now ?? Date.now;
    this.#now = now;
    this.statPrefix = options.statPrefix ?? 'local_rate_limit';
    const where = `local rate limit "${this.statPrefix}"`;
    this.#bucket = options.tokenBucket === undefined ? undefined : new TokenBucket(options.tokenBucket, now, `${where}.tokenBucket`);
    this.#descriptors = (options.descriptors ?? []).map((d, i) => ({
      entries: d.entries,
      bucket: new TokenBucket(d.tokenBucket, now, `${where}.descriptors[${i}].tokenBucket`),
    }));
    this.#enabled = options.filterEnabled ?? NEVER;
    this.#enforced = options.filterEnforced ?? NEVER;
    this.#random = options.random ?? Math.random;
    const status = options.statusCode ?? 429;
    this.#statusCode = status >= 400 && status <= 599 ? status : 429;
    this.#isXRatelimit = options.enableXRatelimitHeaders === 'DRAFT_VERSION_03';
    this.#limited = Object.freeze({
      outcome: 'limited',
      status: this.#statusCode,
      grpcStatus: options.rateLimitedAsResourceExhausted === true ? 8 : 14,
      responseHeaders: Object.freeze([{ key: 'x-envoy-ratelimited', value: 'true' }, ...(options.responseHeadersToAdd ?? [])]),
    });
    this.#notEnforced = Object.freeze({
      outcome: 'limited-not-enforced',
      requestHeadersToAdd: Object.freeze([...(options.requestHeadersToAddWhenNotEnforced ?? [])]),
    });
  }

  /**
   * Checks one request. `descriptors` are the request's descriptors (from the route's rate
   * limit actions); configured descriptors that match one of them add their buckets.
   */
  check(descriptors?: readonly RateLimitDescriptor[]): RateLimitDecision {
    if (!isSampled(this.#enabled, this.#random)) return ALLOWED;
    this.stats.enabled++;
    if (this.#takeTokens(descriptors)) {
      this.stats.ok++;
      return ALLOWED;
    }
    this.stats.rateLimited++;
    if (!isSampled(this.#enforced, this.#random)) return this.#notEnforced;
    this.stats.enforced++;
    return this.#limited;
  }

  #takeTokens(descriptors: readonly RateLimitDescriptor[] | undefined): boolean {
    const matched = this.#matched;
    matched.length = 0;
    if (descriptors !== undefined && descriptors.length > 0) {
      for (const d of this.#descriptors) {
        for (let i = 0; i < descriptors.length; i++) {
          if (descriptorMatches(d.entries, descriptors[i] as RateLimitDescriptor)) {
            matched.push(d.bucket);
            break;
          }
        }
      }
    }
    if (this.#bucket !== undefined) matched.push(this.#bucket);
    if (matched.length === 0) return true;
    const now = this.#now();
    for (let i = 0; i < matched.length; i++) {
      if (!(matched[i] as TokenBucket).tryConsume(now)) {
        for (let j = 0; j < i; j++) (matched[j] as TokenBucket).refund();
        return false;
      }
    }
    return true;
  }

  /**
   * `x-ratelimit-*` headers (draft 03) for a response, when enabled; empty otherwise. Reports
   * the default bucket.
   */
  rateLimitHeaders(): readonly RateLimitHeader[] {
    const bucket = this.#bucket;
    if (!this.#isXRatelimit || bucket === undefined) return [];
    return [
      { key: 'x-ratelimit-limit', value: String(bucket.maxTokens) },
      { key: 'x-ratelimit-remaining', value: String(bucket.available()) },
      { key: 'x-ratelimit-reset', value: String(Math.ceil(bucket.msUntilNextFill() / 1000)) },
    ];
  }

  /** The MeshError of a rejection: `WEFT_ERR_RATE_LIMITED`, flag `RL`, naming the filter and host. */
  createError(host?: string): MeshError {
    const target = host === undefined ? '' : ` for "${host}"`;
    return new MeshError(ErrorCode.rateLimited, `local rate limit "${this.statPrefix}" exceeded${target}`, {
      responseFlag: 'RL',
      details: {
        statPrefix: this.statPrefix,
        status: this.#statusCode,
        grpcStatus: this.#limited.grpcStatus,
        ...(host === undefined ? {} : { host }),
      },
    });
  }
}

/**
 * Creates a local rate limiter. Throws MeshError `WEFT_ERR_CONFIG_INVALID` for an invalid
 * bucket (naming the field). With `localRateLimitPerDownstreamConnection`, adapters create one
 * limiter per downstream connection instead of one per filter.
 */
export function createLocalRateLimiter(options: LocalRateLimitOptions): LocalRateLimiter {
  return new LocalRateLimiter(options);
}
