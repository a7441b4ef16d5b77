import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ISTIO_DEFAULT_RETRY_POLICY, compileRetryPolicy } from './retry-policy.ts';
import type { AttemptOutcome, RetryGate } from './retry-policy.ts';
import { createRetryBackoff, retryBackoffCeilingMs } from './retry-backoff.ts';

const status = (s: number, headers?: Record<string, string>): AttemptOutcome => ({ kind: 'response', status: s, headers });
const grpc = (code: number): AttemptOutcome => ({ kind: 'response', status: 200, grpcStatus: code });
const RESET: AttemptOutcome = { kind: 'reset' };
const CONNECT: AttemptOutcome = { kind: 'connect-failure' };
const REFUSED: AttemptOutcome = { kind: 'refused-stream' };
const TIMEOUT: AttemptOutcome = { kind: 'timeout' };

describe('retry_on conditions', () => {
  const cases: Array<[string, AttemptOutcome, boolean]> = [
    ['5xx', status(500), true],
    ['5xx', status(503), true],
    ['5xx', status(599), true],
    ['5xx', status(429), false],
    ['5xx', status(200), false],
    ['5xx', RESET, true],
    ['5xx', CONNECT, true],
    ['5xx', REFUSED, true],
    ['5xx', TIMEOUT, true],
    ['gateway-error', status(502), true],
    ['gateway-error', status(503), true],
    ['gateway-error', status(504), true],
    ['gateway-error', status(500), false],
    ['gateway-error', TIMEOUT, true],
    ['reset', RESET, true],
    ['reset', TIMEOUT, true],
    ['reset', CONNECT, true],
    ['reset', status(503), false],
    ['connect-failure', CONNECT, true],
    ['connect-failure', RESET, false],
    ['connect-failure', TIMEOUT, false],
    ['connect-failure', status(503), false],
    ['refused-stream', REFUSED, true],
    ['refused-stream', RESET, false],
    ['retriable-4xx', status(409), true],
    ['retriable-4xx', status(404), false],
    ['retriable-4xx', status(500), false],
    ['cancelled', grpc(1), true],
    ['deadline-exceeded', grpc(4), true],
    ['resource-exhausted', grpc(8), true],
    ['internal', grpc(13), true],
    ['unavailable', grpc(14), true],
    ['unavailable', grpc(13), false],
    ['unavailable', grpc(0), false],
    ['unavailable', RESET, false],
    ['envoy-ratelimited', status(429, { 'x-envoy-ratelimited': 'true' }), true],
    ['envoy-ratelimited', status(429), false],
  ];
  for (const [retryOn, outcome, expected] of cases) {
    it(`${retryOn} ${expected ? 'retries' : 'does not retry'} ${JSON.stringify(outcome)}`, () => {
      const policy = compileRetryPolicy({ retryOn, numRetries: 1 });
      assert.equal(policy.isRetriable(outcome), expected);
      const decision = policy.createState().decide(outcome);
      assert.equal(decision.retry, expected);
    });
  }

  it('retriable-status-codes retries exactly the listed codes', () => {
    const policy = compileRetryPolicy({ retryOn: 'retriable-status-codes', retriableStatusCodes: [418, 503] });
    assert.equal(policy.isRetriable(status(418)), true);
    assert.equal(policy.isRetriable(status(503)), true);
    assert.equal(policy.isRetriable(status(500)), false);
    assert.equal(policy.isRetriable(RESET), false);
  });

  it('retriable-headers retries a response matching any matcher', () => {
    const policy = compileRetryPolicy({
      retryOn: ['retriable-headers'],
      retriableHeaders: [
        { name: 'x-retry-me', match: { type: 'exact', value: 'yes' } },
        { name: 'x-upstream-state', match: { type: 'safeRegex', regex: 'draining|starting' } },
      ],
    });
    assert.equal(policy.isRetriable(status(200, { 'x-retry-me': 'yes' })), true);
    assert.equal(policy.isRetriable(status(200, { 'x-upstream-state': 'draining' })), true);
    assert.equal(policy.isRetriable(status(200, { 'x-upstream-state': 'draining-soon' })), false);
    assert.equal(policy.isRetriable(status(500)), false);
  });

  it('never retries a response carrying x-envoy-overloaded', () => {
    const policy = compileRetryPolicy({ retryOn: '5xx' });
    assert.equal(policy.isRetriable(status(503, { 'x-envoy-overloaded': 'true' })), false);
  });

  it('parses a comma-separated string, trims, lower-cases and ignores unknown names', () => {
    const policy = compileRetryPolicy({ retryOn: ' 5XX , bogus,connect-failure,5xx' });
    assert.deepEqual(policy.retryOn, ['5xx', 'connect-failure']);
  });

  it('rejects a negative numRetries and a bad regex with WEFT_ERR_CONFIG_INVALID naming the field', () => {
    assert.throws(() => compileRetryPolicy({ retryOn: '5xx', numRetries: -1 }, 'route "r1".retryPolicy'), (err: unknown) => {
      const e = err as { code: string; message: string };
      return e.code === 'WEFT_ERR_CONFIG_INVALID' && e.message.includes('route "r1".retryPolicy.numRetries');
    });
    assert.throws(
      () => compileRetryPolicy({ retryOn: 'retriable-headers', retriableHeaders: [{ name: 'x', match: { type: 'safeRegex', regex: '(' } }] }),
      (err: unknown) => (err as { code: string; message: string }).code === 'WEFT_ERR_CONFIG_INVALID' && (err as Error).message.includes('retriableHeaders[0]'),
    );
  });
});

describe('retry counting', () => {
  it('grants exactly numRetries retries, then reports exhausted; attempt count follows', () => {
    const state = compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }).createState();
    assert.equal(state.attemptCount, 1);
    for (let i = 1; i <= 3; i++) {
      const d = state.decide(status(503));
      assert.equal(d.retry, true);
      assert.equal(state.attemptCount, i + 1);
    }
    assert.deepEqual(state.decide(status(503)), { retry: false, reason: 'exhausted' });
    assert.equal(state.attemptCount, 4);
  });

  it('numRetries defaults to 1 and 0 disables retries', () => {
    const one = compileRetryPolicy({ retryOn: '5xx' }).createState();
    assert.equal(one.decide(RESET).retry, true);
    assert.equal(one.decide(RESET).retry, false);
    const none = compileRetryPolicy({ retryOn: '5xx', numRetries: 0 }).createState();
    assert.deepEqual(none.decide(RESET), { retry: false, reason: 'not-eligible' });
  });

  it('does not retry a non-replayable body or a request outside retriableRequestHeaders', () => {
    const policy = compileRetryPolicy({
      retryOn: '5xx',
      numRetries: 2,
      retriableRequestHeaders: [{ name: ':method', match: { type: 'exact', value: 'GET' } }],
    });
    assert.equal(policy.createState({ requestHeaders: { ':method': 'GET' } }).decide(RESET).retry, true);
    assert.deepEqual(policy.createState({ requestHeaders: { ':method': 'POST' } }).decide(RESET), { retry: false, reason: 'not-eligible' });
    assert.deepEqual(policy.createState({ requestHeaders: { ':method': 'GET' }, isReplayable: false }).decide(RESET), {
      retry: false,
      reason: 'not-eligible',
    });
  });

  it('a success is never retried', () => {
    const state = compileRetryPolicy({ retryOn: '5xx,gateway-error,reset,retriable-4xx', numRetries: 5 }).createState();
    assert.deepEqual(state.decide(status(200)), { retry: false, reason: 'not-retriable' });
  });
});

describe('Istio default retry policy', () => {
  const policy = compileRetryPolicy(ISTIO_DEFAULT_RETRY_POLICY);
  it('is 2 retries on connect-failure, refused-stream, unavailable, cancelled and 503', () => {
    assert.equal(policy.numRetries, 2);
    assert.deepEqual(policy.retryOn, ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']);
    assert.equal(policy.isRetriable(CONNECT), true);
    assert.equal(policy.isRetriable(REFUSED), true);
    assert.equal(policy.isRetriable(grpc(14)), true);
    assert.equal(policy.isRetriable(grpc(1)), true);
    assert.equal(policy.isRetriable(status(503)), true);
    assert.equal(policy.isRetriable(status(500)), false);
    assert.equal(policy.isRetriable(RESET), false);
    assert.equal(policy.isRetriable(TIMEOUT), false);
    assert.equal(policy.isPreviousHostsAvoided, true);
    assert.equal(policy.hostSelectionRetryMaxAttempts, 5);
  });
  it('retries avoid hosts already tried', () => {
    const state = policy.createState();
    state.recordHost('10.0.0.1:80');
    assert.equal(state.shouldAvoidHost('10.0.0.1:80'), true);
    assert.equal(state.shouldAvoidHost('10.0.0.2:80'), false);
    assert.deepEqual([...state.previousHosts], ['10.0.0.1:80']);
    const plain = compileRetryPolicy({ retryOn: '5xx' }).createState();
    plain.recordHost('10.0.0.1:80');
    assert.equal(plain.shouldAvoidHost('10.0.0.1:80'), false);
  });
});

describe('back-off', () => {
  it('ceilings follow (2^n - 1) × base capped at max (Envoy: 0-24, 0-74, 0-174, then 0-249 ms)', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 30].map((n) => retryBackoffCeilingMs(n, 25, 250)), [25, 75, 175, 250, 250, 250]);
  });

  it('defaults to 25 ms base and 250 ms max: random 0.999… gives the top of each range', () => {
    let step = createRetryBackoff({ random: () => 0.999999 });
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      got.push(step.duration);
      step = step.next(undefined);
    }
    assert.deepEqual(got, [24, 74, 174, 249, 249, 249]);
    assert.equal(createRetryBackoff({ random: () => 0 }).duration, 0);
  });

  it('honours configured intervals and raises a max below base to base', () => {
    const step = createRetryBackoff({ baseIntervalMs: 100, maxIntervalMs: 50, random: () => 0.999999 });
    assert.equal(step.duration, 99);
    assert.equal(step.next(undefined).duration, 99);
  });

  it('real jitter stays within bounds and spreads over the range (10,000 draws)', () => {
    const policy = compileRetryPolicy({ retryOn: '5xx', numRetries: 3 });
    const firsts: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const state = policy.createState();
      const d1 = state.decide(RESET);
      const d2 = state.decide(RESET);
      const d3 = state.decide(RESET);
      assert.ok(d1.retry && d2.retry && d3.retry);
      assert.ok(d1.delayMs >= 0 && d1.delayMs < 25);
      assert.ok(d2.delayMs >= 0 && d2.delayMs < 75);
      assert.ok(d3.delayMs >= 0 && d3.delayMs < 175);
      firsts.push(d1.delayMs);
    }
    // Uniform on 0..24: mean 12, sd of the mean ≈ 7.2/100 = 0.072; ±0.5 is ~7 sd.
    const mean = firsts.reduce((a, b) => a + b, 0) / firsts.length;
    assert.ok(Math.abs(mean - 12) < 0.5, `mean ${mean}`);
  });

  it('the grpc formula (gRFC A6/A44) doubles the ceiling from base: 0-24, 0-49, 0-99, 0-199, 0-249 ms', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryBackoffCeilingMs(n, 25, 250, 'grpc')), [25, 50, 100, 200, 250]);
    const state = compileRetryPolicy({ retryOn: 'unavailable', numRetries: 3, backoffFormula: 'grpc', random: () => 0.999999 }).createState();
    const delays = [1, 2, 3].map(() => {
      const d = state.decide({ kind: 'response', status: 200, grpcStatus: 14 });
      return d.retry ? d.delayMs : -1;
    });
    assert.deepEqual(delays, [24, 49, 99]);
  });

  it('uses the injected random source through the policy', () => {
    const state = compileRetryPolicy({ retryOn: '5xx', numRetries: 2, retryBackOff: { baseIntervalMs: 10 }, random: () => 0.5 }).createState();
    assert.deepEqual(state.decide(RESET), { retry: true, delayMs: 5 });
    assert.deepEqual(state.decide(RESET), { retry: true, delayMs: 15 });
  });
});

describe('retry gate (max_retries circuit breaker)', () => {
  function gate(limit: number): RetryGate & { active: number } {
    const g = {
      active: 0,
      tryAcquire() {
        if (g.active >= limit) return undefined;
        g.active++;
        let released = false;
        return () => {
          if (!released) {
            released = true;
            g.active--;
          }
        };
      },
    };
    return g;
  }

  it('holds one token while a retry is in flight and releases it on the next decision and on done()', () => {
    const g = gate(1);
    const a = compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }).createState({ gate: g });
    assert.equal(a.decide(RESET).retry, true);
    assert.equal(g.active, 1);
    const b = compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }).createState({ gate: g });
    assert.deepEqual(b.decide(RESET), { retry: false, reason: 'retry-overflow' });
    assert.equal(a.decide(RESET).retry, true, 'a releases its previous token before asking again');
    assert.equal(g.active, 1);
    a.done();
    a.done();
    assert.equal(g.active, 0);
    assert.equal(b.decide(RESET).retry, true, 'b may retry after its failed attempt once a token is free');
    b.decide(status(200));
    assert.equal(g.active, 0, 'a final success releases the token');
  });
});
