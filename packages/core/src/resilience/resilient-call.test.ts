import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { runResilientCall } from './resilient-call.ts';
import type { AttemptContext, AttemptResult } from './resilient-call.ts';
import { compileRetryPolicy } from './retry-policy.ts';
import { createClusterCircuitBreaker } from './circuit-breaker.ts';
import type { MeshError } from '@weft/xds-client';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const noSleep = async () => {};

/** An attempt that never answers by itself: it rejects when its signal aborts. */
function hang(ctx: AttemptContext): Promise<never> {
  return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
}

describe('runResilientCall', () => {
  it('retries a 503 exactly numRetries times, waits the back-off between tries and discards retried results', async () => {
    const counts: number[] = [];
    const delays: number[] = [];
    const discarded: number[] = [];
    const result = await runResilientCall({
      retryPolicy: compileRetryPolicy({ retryOn: '5xx', numRetries: 3, random: () => 0.5 }),
      attempt: async (ctx) => {
        counts.push(ctx.attemptCount);
        return { outcome: { kind: 'response', status: 503 }, value: ctx.attemptCount };
      },
      discard: (r) => discarded.push(r.value as number),
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    assert.deepEqual(counts, [1, 2, 3, 4]);
    assert.deepEqual(delays, [12, 37, 87]);
    assert.deepEqual(discarded, [1, 2, 3]);
    assert.equal(result.attempts, 4);
    assert.equal(result.value, 4);
    assert.deepEqual(result.outcome, { kind: 'response', status: 503 });
  });

  it('stops at the first success; without a policy makes exactly one try', async () => {
    let tries = 0;
    const ok = await runResilientCall({
      retryPolicy: compileRetryPolicy({ retryOn: 'connect-failure', numRetries: 5 }),
      attempt: async () => (++tries === 1 ? { outcome: { kind: 'connect-failure' } } : { outcome: { kind: 'response', status: 200 }, value: 'body' }),
      sleep: noSleep,
    });
    assert.equal(ok.value, 'body');
    assert.equal(ok.attempts, 2);
    let single = 0;
    const once = await runResilientCall({ attempt: async () => (single++, { outcome: { kind: 'reset' } }) });
    assert.equal(single, 1);
    assert.equal(once.outcome.kind, 'reset');
  });

  it('rejects with UO at once when max_requests is reached, and releases the request unit afterwards', async () => {
    const breaker = createClusterCircuitBreaker({ clusterName: 'ratings', thresholds: [{ maxRequests: 1 }] });
    let release!: () => void;
    const first = runResilientCall({
      breaker,
      attempt: () =>
        new Promise<AttemptResult<never>>((resolve) => (release = () => resolve({ outcome: { kind: 'response', status: 200 } }))),
    });
    let called = false;
    await assert.rejects(
      runResilientCall({ breaker, attempt: async () => ((called = true), { outcome: { kind: 'response', status: 200 } }) }),
      (err: MeshError) => err.code === 'WEFT_ERR_CIRCUIT_OPEN' && err.responseFlag === 'UO',
    );
    assert.equal(called, false);
    release();
    await first;
    assert.equal(breaker.active('requests'), 0);
  });

  it('max_retries overflow ends the call with the last outcome instead of retrying', async () => {
    const breaker = createClusterCircuitBreaker({ clusterName: 'c', thresholds: [{ maxRetries: 0 }] });
    let tries = 0;
    const r = await runResilientCall({
      breaker,
      retryPolicy: compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }),
      attempt: async () => (tries++, { outcome: { kind: 'response', status: 500 } }),
      sleep: noSleep,
    });
    assert.equal(tries, 1);
    assert.equal(r.attempts, 1);
    assert.equal(breaker.overflowCount('retries'), 1);
    assert.equal(breaker.active('retries'), 0);
  });

  it('a per-try timeout is retried like a reset; the last one ends the call with UT (mock.timers)', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let tries = 0;
      const call = runResilientCall({
        retryPolicy: compileRetryPolicy({ retryOn: 'reset', numRetries: 1, perTryTimeoutMs: 200 }),
        host: 'ratings',
        attempt: (ctx) => (tries++, hang(ctx)),
        sleep: noSleep,
      });
      const settled = assert.rejects(call, (err: MeshError) => err.code === 'WEFT_ERR_UPSTREAM_TIMEOUT' && err.responseFlag === 'UT' && err.details.scope === 'per-try');
      mock.timers.tick(199);
      await flush();
      assert.equal(tries, 1);
      mock.timers.tick(1);
      await flush();
      assert.equal(tries, 2, 'the timed-out try was retried');
      mock.timers.tick(200);
      await settled;
    } finally {
      mock.timers.reset();
    }
  });

  it('an attempt that resolves its aborted I/O as a reset is still treated as a per-try timeout', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const call = runResilientCall({
        retryPolicy: compileRetryPolicy({ retryOn: 'connect-failure', numRetries: 1, perTryTimeoutMs: 50 }),
        attempt: (ctx) =>
          new Promise<AttemptResult<never>>((resolve) => ctx.signal.addEventListener('abort', () => resolve({ outcome: { kind: 'reset' } }), { once: true })),
        sleep: noSleep,
      });
      const settled = assert.rejects(call, (err: MeshError) => err.code === 'WEFT_ERR_UPSTREAM_TIMEOUT' && err.details.scope === 'per-try');
      mock.timers.tick(50);
      await settled;
    } finally {
      mock.timers.reset();
    }
  });

  it('the route timeout ends the call with UT scope route, even between tries', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const call = runResilientCall({ routeTimeoutMs: 1000, attempt: hang });
      const settled = assert.rejects(call, (err: MeshError) => err.code === 'WEFT_ERR_UPSTREAM_TIMEOUT' && err.details.scope === 'route');
      mock.timers.tick(1000);
      await settled;
    } finally {
      mock.timers.reset();
    }
  });

  it('a caller abort ends the call with the caller’s reason', async () => {
    const caller = new AbortController();
    const call = runResilientCall({
      signal: caller.signal,
      retryPolicy: compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }),
      attempt: hang,
    });
    const reason = new Error('client went away');
    caller.abort(reason);
    await assert.rejects(call, (err) => err === reason);
  });

  it('an unexpected error from attempt is rethrown unchanged', async () => {
    const boom = new TypeError('bug');
    await assert.rejects(
      runResilientCall({ attempt: async () => Promise.reject(boom) }),
      (err) => err === boom,
    );
  });

  it('the default sleep works with real, unref’d timers', async () => {
    let tries = 0;
    const r = await runResilientCall({
      retryPolicy: compileRetryPolicy({ retryOn: '5xx', numRetries: 2, retryBackOff: { baseIntervalMs: 1, maxIntervalMs: 2 } }),
      attempt: async () => (++tries < 3 ? { outcome: { kind: 'response', status: 502 } } : { outcome: { kind: 'response', status: 200 } }),
    });
    assert.equal(r.attempts, 3);
  });
});
