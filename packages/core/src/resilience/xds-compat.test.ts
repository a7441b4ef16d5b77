/**
 * The option types of the resilience policies map 1:1 from the decoded xDS types of
 * `@weft/xds-client`: decoded values pass straight in. The assignments below fail the typecheck
 * if either side drifts; the runtime checks compile one decoded value of each kind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  CircuitBreakerThresholds as XdsThresholds,
  FaultFilterConfig,
  LocalRateLimitFilterConfig,
  OutlierDetection,
  RetryPolicy as XdsRetryPolicy,
} from '@weft/xds-client';
import type { CircuitBreakerThresholds } from './circuit-breaker.ts';
import { createClusterCircuitBreaker } from './circuit-breaker.ts';
import type { FaultInjectionOptions } from './fault-injection.ts';
import { createFaultInjector } from './fault-injection.ts';
import type { LocalRateLimitOptions } from './local-rate-limit.ts';
import { createLocalRateLimiter } from './local-rate-limit.ts';
import type { OutlierDetectionOptions } from './outlier-detection-options.ts';
import { createOutlierDetector } from './outlier-detector.ts';
import type { RetryPolicyOptions } from './retry-policy.ts';
import { compileRetryPolicy } from './retry-policy.ts';

type Assignable<From, To> = From extends To ? true : never;
const typeChecks: [
  Assignable<XdsRetryPolicy, RetryPolicyOptions>,
  Assignable<XdsThresholds, CircuitBreakerThresholds>,
  Assignable<OutlierDetection, OutlierDetectionOptions>,
  Assignable<FaultFilterConfig, FaultInjectionOptions>,
  Assignable<LocalRateLimitFilterConfig, LocalRateLimitOptions>,
] = [true, true, true, true, true];

describe('decoded xDS values feed the policies directly', () => {
  it('type-level mapping holds', () => {
    assert.deepEqual(typeChecks, [true, true, true, true, true]);
  });

  it('compiles a decoded retry policy, thresholds, outlier detection, fault and rate limit', () => {
    const retry: XdsRetryPolicy = {
      retryOn: ['5xx', 'unavailable'],
      numRetries: 2,
      perTryTimeoutMs: 200,
      retriableStatusCodes: [],
      retryBackOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
      retriableHeaders: [{ name: 'x-retry', match: { type: 'exact', value: '1', ignoreCase: false }, invertMatch: false, treatMissingHeaderAsEmpty: false }],
      retriableRequestHeaders: [],
      retryHostPredicates: [],
      hostSelectionRetryMaxAttempts: 1,
    };
    assert.equal(compileRetryPolicy(retry).numRetries, 2);
    const thresholds: XdsThresholds = { priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 3 };
    assert.equal(createClusterCircuitBreaker({ clusterName: 'c', thresholds: [thresholds] }).limit('connections'), 1);
    const fault: FaultFilterConfig = {
      abort: { httpStatus: 500, headerAbort: false, percentage: { numerator: 100, denominator: 100 } },
      headers: [],
      downstreamNodes: [],
    };
    assert.equal(createFaultInjector(fault).decide().isFaulted, true);
    const rateLimit: LocalRateLimitFilterConfig = {
      statPrefix: 'http_local_rate_limiter',
      tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 },
      filterEnabled: { numerator: 100, denominator: 100 },
      filterEnforced: { numerator: 100, denominator: 100 },
      statusCode: 429,
      responseHeadersToAdd: [{ key: 'x-local-rate-limit', value: 'true', appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
      requestHeadersToAddWhenNotEnforced: [],
      localRateLimitPerDownstreamConnection: false,
      enableXRatelimitHeaders: 'OFF',
      rateLimitedAsResourceExhausted: false,
    };
    const limiter = createLocalRateLimiter(rateLimit);
    assert.equal(limiter.check().outcome, 'allowed');
    assert.equal(limiter.check().outcome, 'limited');
    const od = { consecutive5xx: 3, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, isSuccessRateConfigured: false } as const;
    const detector = createOutlierDetector({ clusterName: 'c', isTimerStarted: false, ...od });
    assert.equal(detector.options.consecutive5xx, 3);
  });
});
