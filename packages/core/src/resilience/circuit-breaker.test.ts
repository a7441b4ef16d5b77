import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClusterCircuitBreaker } from './circuit-breaker.ts';
import { compileRetryPolicy } from './retry-policy.ts';
import type { MeshError } from '@weft/xds-client';

describe('circuit breaker thresholds', () => {
  it('admits exactly max_requests and refuses the next one at once', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'outbound|9080||ratings.shop.svc.cluster.local', thresholds: [{ maxRequests: 10 }] });
    for (let i = 0; i < 10; i++) assert.equal(cb.tryAcquire('requests'), true, `request ${i + 1}`);
    assert.equal(cb.tryAcquire('requests'), false);
    assert.equal(cb.overflowCount('requests'), 1);
    assert.equal(cb.isOpen('requests'), true);
    cb.release('requests');
    assert.equal(cb.tryAcquire('requests'), true, 'a released unit is available again');
    assert.equal(cb.active('requests'), 10);
  });

  it('each resource is limited on its own, with Envoy defaults (1024/1024/1024/3)', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxConnections: 1, maxPendingRequests: 1 }] });
    assert.equal(cb.tryAcquire('connections'), true);
    assert.equal(cb.tryAcquire('connections'), false);
    assert.equal(cb.tryAcquire('pendingRequests'), true);
    assert.equal(cb.tryAcquire('pendingRequests'), false);
    assert.equal(cb.limit('requests'), 1024);
    assert.equal(cb.limit('retries'), 3);
    const defaults = createClusterCircuitBreaker({ clusterName: 'd' });
    assert.deepEqual(
      (['connections', 'pendingRequests', 'requests', 'retries'] as const).map((r) => defaults.limit(r)),
      [1024, 1024, 1024, 3],
    );
  });

  it('a limit of 0 refuses everything', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxRequests: 0 }] });
    assert.equal(cb.tryAcquire('requests'), false);
  });

  it('HIGH priority has its own thresholds and counters', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxRequests: 1 }, { priority: 'HIGH', maxRequests: 2 }] });
    assert.equal(cb.tryAcquire('requests'), true);
    assert.equal(cb.tryAcquire('requests'), false);
    assert.equal(cb.tryAcquire('requests', 'HIGH'), true);
    assert.equal(cb.tryAcquire('requests', 'HIGH'), true);
    assert.equal(cb.tryAcquire('requests', 'HIGH'), false);
    assert.equal(cb.active('requests', 'HIGH'), 2);
  });

  it('acquire() throws WEFT_ERR_CIRCUIT_OPEN with flag UO naming the cluster and threshold; release is idempotent', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'ratings', thresholds: [{ maxPendingRequests: 1 }] });
    const release = cb.acquire('pendingRequests');
    assert.throws(
      () => cb.acquire('pendingRequests'),
      (err: unknown) => {
        const e = err as MeshError;
        return (
          e.code === 'WEFT_ERR_CIRCUIT_OPEN' &&
          e.responseFlag === 'UO' &&
          e.message.includes('"ratings"') &&
          e.message.includes('max_pending_requests=1') &&
          e.details.resource === 'pendingRequests'
        );
      },
    );
    release();
    release();
    assert.equal(cb.active('pendingRequests'), 0);
    cb.release('pendingRequests');
    assert.equal(cb.active('pendingRequests'), 0, 'never below zero');
  });

  it('under 10 concurrent callers with max 1 request + 1 pending, 8 overflow (the scenario-04 shape)', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'ratings', thresholds: [{ maxConnections: 1, maxPendingRequests: 1, maxRequests: 1 }] });
    let admitted = 0;
    let overflowed = 0;
    for (let i = 0; i < 10; i++) {
      if (cb.tryAcquire('requests') || cb.tryAcquire('pendingRequests')) admitted++;
      else overflowed++;
    }
    assert.equal(admitted, 2);
    assert.equal(overflowed, 8);
  });

  it('updateThresholds keeps counts in flight', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxRequests: 5 }] });
    for (let i = 0; i < 4; i++) cb.tryAcquire('requests');
    cb.updateThresholds([{ maxRequests: 3 }]);
    assert.equal(cb.active('requests'), 4);
    assert.equal(cb.tryAcquire('requests'), false);
    for (let i = 0; i < 2; i++) cb.release('requests');
    assert.equal(cb.tryAcquire('requests'), true);
  });
});

describe('max_retries and the retry budget', () => {
  it('max_retries caps concurrent retries across requests of the cluster', () => {
    const cb = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxRetries: 2 }] });
    const policy = compileRetryPolicy({ retryOn: '5xx', numRetries: 5 });
    const states = [0, 1, 2].map(() => policy.createState({ gate: cb.retryGate() }));
    const decisions = states.map((s) => s.decide({ kind: 'reset' }));
    assert.deepEqual(
      decisions.map((d) => d.retry),
      [true, true, false],
    );
    assert.equal(cb.overflowCount('retries'), 1);
    states[0]?.done();
    assert.equal(states[2]?.decide({ kind: 'reset' }).retry, true);
    for (const s of states) s.done();
    assert.equal(cb.active('retries'), 0);
    assert.equal(cb.retryGate(), cb.retryGate(), 'one gate object per priority');
    assert.notEqual(cb.retryGate('HIGH'), cb.retryGate());
  });

  it('a retry budget allows budget% of active + pending requests, at least min_retry_concurrency', () => {
    const cb = createClusterCircuitBreaker({
      clusterName: 'c',
      thresholds: [{ maxRetries: 1, retryBudget: { budgetPercent: 25, minRetryConcurrency: 2 } }],
    });
    assert.equal(cb.limit('retries'), 2, 'the minimum applies when idle; max_retries is ignored');
    for (let i = 0; i < 30; i++) cb.tryAcquire('requests');
    for (let i = 0; i < 10; i++) cb.tryAcquire('pendingRequests');
    assert.equal(cb.limit('retries'), 10);
    const defaults = createClusterCircuitBreaker({ clusterName: 'd', thresholds: [{ retryBudget: {} }] });
    for (let i = 0; i < 100; i++) defaults.tryAcquire('requests');
    assert.equal(defaults.limit('retries'), 20, 'default budget 20 %');
  });
});
