import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createLocalRateLimiter } from './local-rate-limit.ts';
import type { LocalRateLimitOptions } from './local-rate-limit.ts';
import { TokenBucket } from './token-bucket.ts';
import { ALWAYS } from './fractional-percent.ts';

function limiter(options: Partial<LocalRateLimitOptions>, clock = { t: 0 }) {
  return createLocalRateLimiter({
    statPrefix: 'http_local_rate_limiter',
    tokenBucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 },
    filterEnabled: ALWAYS,
    filterEnforced: ALWAYS,
    now: () => clock.t,
    ...options,
  });
}

describe('token bucket', () => {
  it('starts full, refills tokensPerFill per interval up to max, aligned to creation', () => {
    const clock = { t: 5 };
    const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 100 }, () => clock.t);
    assert.equal(b.available(), 3);
    for (let i = 0; i < 3; i++) assert.equal(b.tryConsume(), true);
    assert.equal(b.tryConsume(), false);
    clock.t = 104;
    assert.equal(b.tryConsume(), false, 'no fill before the interval ends');
    assert.equal(b.msUntilNextFill(), 1);
    clock.t = 105;
    assert.equal(b.available(), 2);
    clock.t = 10_000;
    assert.equal(b.available(), 3, 'never above max');
  });

  it('rejects invalid buckets naming the field', () => {
    assert.throws(() => new TokenBucket({ maxTokens: 0, fillIntervalMs: 1000 }, Date.now, 'lrl'), /lrl\.maxTokens/);
    assert.throws(() => new TokenBucket({ maxTokens: 1, fillIntervalMs: 10 }, Date.now, 'lrl'), /lrl\.fillIntervalMs/);
    assert.throws(() => new TokenBucket({ maxTokens: 1, tokensPerFill: 0, fillIntervalMs: 100 }, Date.now), (e: unknown) => (e as { code: string }).code === 'WEFT_ERR_CONFIG_INVALID');
  });
});

describe('local rate limit', () => {
  it('admits exactly max_tokens per window, across 5 windows (scenario 06: 10 per second)', () => {
    const clock = { t: 0 };
    const l = limiter({}, clock);
    for (let w = 0; w < 5; w++) {
      let admitted = 0;
      // 50 requests spread over the window [w s, w+1 s).
      for (let i = 0; i < 50; i++) {
        clock.t = w * 1000 + i * 20;
        if (l.check().outcome === 'allowed') admitted++;
      }
      assert.equal(admitted, 10, `window ${w}`);
    }
    assert.deepEqual(l.stats, { enabled: 250, ok: 50, rateLimited: 200, enforced: 200 });
  });

  it('a rejection carries 429, x-envoy-ratelimited, the configured headers and gRPC UNAVAILABLE; the error is RL', () => {
    const l = limiter({
      tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 },
      responseHeadersToAdd: [{ key: 'x-local-rate-limit', value: 'true' }],
    });
    assert.equal(l.check().outcome, 'allowed');
    const d = l.check();
    assert.equal(d.outcome, 'limited');
    if (d.outcome !== 'limited') return;
    assert.equal(d.status, 429);
    assert.equal(d.grpcStatus, 14);
    assert.deepEqual(d.responseHeaders, [
      { key: 'x-envoy-ratelimited', value: 'true' },
      { key: 'x-local-rate-limit', value: 'true' },
    ]);
    const err = l.createError('catalog.shop.svc.cluster.local');
    assert.equal(err.code, 'WEFT_ERR_RATE_LIMITED');
    assert.equal(err.responseFlag, 'RL');
    assert.match(err.message, /http_local_rate_limiter.*catalog\.shop/);
    const exhausted = limiter({ tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 }, rateLimitedAsResourceExhausted: true, statusCode: 503 });
    exhausted.check();
    const d2 = exhausted.check();
    assert.ok(d2.outcome === 'limited' && d2.grpcStatus === 8 && d2.status === 503);
  });

  it('Envoy defaults: without filter_enabled nothing is checked and no token is taken', () => {
    const l = createLocalRateLimiter({ tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 }, now: () => 0 });
    for (let i = 0; i < 5; i++) assert.equal(l.check().outcome, 'allowed');
    assert.equal(l.stats.enabled, 0);
  });

  it('over the limit but not enforced: passes with the not-enforced request headers and is counted', () => {
    const l = limiter({
      tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 },
      filterEnforced: { numerator: 0, denominator: 100 },
      requestHeadersToAddWhenNotEnforced: [{ key: 'x-over-limit', value: '1' }],
    });
    assert.equal(l.check().outcome, 'allowed');
    assert.deepEqual(l.check(), { outcome: 'limited-not-enforced', requestHeadersToAdd: [{ key: 'x-over-limit', value: '1' }] });
    assert.deepEqual(l.stats, { enabled: 2, ok: 1, rateLimited: 1, enforced: 0 });
  });

  it('enabled and enforced fractions hold within statistically honest tolerances (20,000 requests)', () => {
    // Bucket of 1 token that never refills: every checked request after the first is over the limit.
    const l = createLocalRateLimiter({
      tokenBucket: { maxTokens: 1, fillIntervalMs: 1e12 },
      filterEnabled: { numerator: 50, denominator: 100 },
      filterEnforced: { numerator: 2500, denominator: 10_000 },
      now: () => 0,
    });
    const n = 20_000;
    let rejected = 0;
    for (let i = 0; i < n; i++) if (l.check().outcome === 'limited') rejected++;
    // enabled ~ Binomial(20000, 0.5): sd 70.7 → ±4 sd = ±283.
    assert.ok(Math.abs(l.stats.enabled - 10_000) < 283, `enabled ${l.stats.enabled}`);
    // enforced ~ Binomial(enabled, 0.25): sd ≈ 43.3 → ±4 sd ≈ ±175 around 0.25 × enabled.
    assert.ok(Math.abs(l.stats.enforced - 0.25 * (l.stats.enabled - 1)) < 175, `enforced ${l.stats.enforced}`);
    assert.equal(rejected, l.stats.enforced);
  });

  it('descriptor buckets apply to matching requests; the default bucket still counts for everyone', () => {
    const l = limiter({
      tokenBucket: { maxTokens: 100, fillIntervalMs: 1000 },
      descriptors: [
        { entries: [{ key: 'client', value: 'alice' }], tokenBucket: { maxTokens: 2, fillIntervalMs: 1000 } },
        { entries: [{ key: 'path', value: '' }], tokenBucket: { maxTokens: 3, fillIntervalMs: 1000 } },
      ],
    });
    const alice = [[{ key: 'client', value: 'alice' }]];
    const bob = [[{ key: 'client', value: 'bob' }]];
    assert.equal(l.check(alice).outcome, 'allowed');
    assert.equal(l.check(alice).outcome, 'allowed');
    assert.equal(l.check(alice).outcome, 'limited');
    for (let i = 0; i < 5; i++) assert.equal(l.check(bob).outcome, 'allowed', 'bob matches no descriptor');
    const anyPath = (p: string) => [[{ key: 'path', value: p }]];
    assert.equal(l.check(anyPath('/a')).outcome, 'allowed');
    assert.equal(l.check(anyPath('/b')).outcome, 'allowed');
    assert.equal(l.check(anyPath('/c')).outcome, 'allowed');
    assert.equal(l.check(anyPath('/d')).outcome, 'limited', 'an empty configured value is a wildcard sharing one bucket');
  });

  it('a failed combined check takes no token from the other buckets', () => {
    const l = limiter({
      tokenBucket: { maxTokens: 5, fillIntervalMs: 1000 },
      descriptors: [{ entries: [{ key: 'k', value: 'v' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 } }],
      enableXRatelimitHeaders: 'DRAFT_VERSION_03',
    });
    const d = [[{ key: 'k', value: 'v' }]];
    l.check(d);
    for (let i = 0; i < 3; i++) assert.equal(l.check(d).outcome, 'limited');
    assert.deepEqual(l.rateLimitHeaders(), [
      { key: 'x-ratelimit-limit', value: '5' },
      { key: 'x-ratelimit-remaining', value: '4' },
      { key: 'x-ratelimit-reset', value: '1' },
    ]);
  });

  it('works on the default clock under mock.timers', () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    try {
      const l = createLocalRateLimiter({ tokenBucket: { maxTokens: 2, fillIntervalMs: 100 }, filterEnabled: ALWAYS, filterEnforced: ALWAYS });
      assert.equal(l.check().outcome, 'allowed');
      assert.equal(l.check().outcome, 'allowed');
      assert.equal(l.check().outcome, 'limited');
      mock.timers.tick(100);
      assert.equal(l.check().outcome, 'allowed');
    } finally {
      mock.timers.reset();
    }
  });
});
