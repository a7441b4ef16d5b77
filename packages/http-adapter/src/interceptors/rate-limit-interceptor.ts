/**
 * Local rate limiting (`envoy.filters.http.local_ratelimit`) as an undici interceptor: one token
 * bucket per filter instance and route/virtual-host level that configures it; `filter_enabled`
 * decides which requests are checked, `filter_enforced` which over-limit ones are rejected.
 * Rejections answer 429 (or the configured status) with `x-envoy-ratelimited: true` and flag
 * `RL` (a MeshError `WEFT_ERR_RATE_LIMITED` in `error` mode) without reaching the upstream.
 */
import type { Dispatcher } from 'undici';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { LocalRateLimitFilterConfig } from '@weft/xds-client';
import { effectiveFilters } from '../internal/filter-config.ts';
import { replyWithError } from '../internal/local-reply.ts';
import type { LocalReplyMode } from '../internal/local-reply.ts';
import { contextOf } from '../internal/request-context.ts';
import { RateLimitBuckets } from '../internal/rate-limit-buckets.ts';

/** Options of {@link createRateLimitInterceptor}. */
export interface RateLimitInterceptorOptions {
  readonly localReplies: LocalReplyMode;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Creates the local rate limit interceptor; see the module comment. */
export function createRateLimitInterceptor(options: RateLimitInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const buckets = new RateLimitBuckets(options.now);
  return (dispatch) => (opts, handler) => {
    const ctx = contextOf(opts);
    if (ctx === undefined || ctx.isShadow) return dispatch(opts, handler);
    for (const f of effectiveFilters(ctx, 'localRateLimit')) {
      const cfg = f.config.localRateLimit;
      const verdict = buckets.check(`${ctx.host.listenerName}|${f.name}|${ctx.route.virtualHost.spec.name}|${ctx.route.index}`, cfg, options.random);
      if (verdict === 'reject') {
        replyWithError(handler, options.localReplies, cfg.statusCode, rateLimitedError(ctx.authority, cfg), rateLimitHeaders(cfg));
        return true;
      }
    }
    return dispatch(opts, handler);
  };
}

/** The MeshError of a rate-limited request. */
export function rateLimitedError(host: string, cfg: LocalRateLimitFilterConfig): MeshError {
  return new MeshError(ErrorCode.rateLimited, `local rate limit of ${host} exceeded (${cfg.statPrefix || 'local_rate_limit'}: ${cfg.tokenBucket?.maxTokens} per ${cfg.tokenBucket?.fillIntervalMs} ms)`, {
    responseFlag: 'RL',
    details: { host, statPrefix: cfg.statPrefix },
  });
}

/** Headers of a rate-limited response: `x-envoy-ratelimited` plus the configured ones. */
export function rateLimitHeaders(cfg: LocalRateLimitFilterConfig): Record<string, string> {
  const h: Record<string, string> = { 'x-envoy-ratelimited': 'true' };
  for (const o of cfg.responseHeadersToAdd) h[o.key.toLowerCase()] = o.value;
  return h;
}

