import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeshError } from '@weft/xds-client';
import { policyErrorResponse } from './error-responses.ts';
import { createClusterCircuitBreaker } from './circuit-breaker.ts';
import { createLocalRateLimiter } from './local-rate-limit.ts';
import { createTimeoutError } from './timeouts.ts';
import { createFaultAbortError } from './fault-injection.ts';
import { ALWAYS } from './fractional-percent.ts';

describe('policy error responses', () => {
  it('circuit open → 503 + x-envoy-overloaded / UNAVAILABLE', () => {
    const err = createClusterCircuitBreaker({ clusterName: 'c' }).createOverflowError('requests');
    assert.deepEqual(policyErrorResponse(err), { status: 503, headers: { 'x-envoy-overloaded': 'true' }, grpcStatus: 14 });
  });
  it('rate limited → the limiter status + x-envoy-ratelimited / configured gRPC status', () => {
    const plain = createLocalRateLimiter({ tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 }, filterEnabled: ALWAYS, filterEnforced: ALWAYS });
    assert.deepEqual(policyErrorResponse(plain.createError()), { status: 429, headers: { 'x-envoy-ratelimited': 'true' }, grpcStatus: 14 });
    const exhausted = createLocalRateLimiter({ rateLimitedAsResourceExhausted: true, statusCode: 503 });
    assert.deepEqual(policyErrorResponse(exhausted.createError()), { status: 503, headers: { 'x-envoy-ratelimited': 'true' }, grpcStatus: 8 });
  });
  it('timeouts → 504 / DEADLINE_EXCEEDED; fault aborts → the injected status', () => {
    assert.deepEqual(policyErrorResponse(createTimeoutError('route', 1000)), { status: 504, headers: {}, grpcStatus: 4 });
    assert.deepEqual(policyErrorResponse(createFaultAbortError({ httpStatus: 503 })), { status: 503, headers: {}, grpcStatus: 14 });
    assert.deepEqual(policyErrorResponse(createFaultAbortError({ grpcStatus: 4 })), { status: 200, headers: {}, grpcStatus: 4 });
  });
  it('other errors are not policy errors', () => {
    assert.equal(policyErrorResponse(new MeshError('WEFT_ERR_NO_ROUTE', 'x')), undefined);
  });
});
