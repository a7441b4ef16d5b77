import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createRequestDeadline, formatGrpcTimeout, minTimeoutMs, parseGrpcTimeout } from './timeouts.ts';
import type { MeshError } from '@weft/xds-client';

describe('request and per-try timeouts', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('the route timeout aborts the request and its attempt with UT after exactly the timeout', () => {
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, host: 'ratings.shop.svc.cluster.local' });
    const attempt = deadline.startAttempt();
    mock.timers.tick(999);
    assert.equal(deadline.signal.aborted, false);
    assert.equal(deadline.remainingMs(), 1);
    mock.timers.tick(1);
    assert.equal(deadline.signal.aborted, true);
    assert.equal(attempt.signal.aborted, true);
    const reason = deadline.signal.reason as MeshError;
    assert.equal(reason.code, 'WEFT_ERR_UPSTREAM_TIMEOUT');
    assert.equal(reason.responseFlag, 'UT');
    assert.equal(reason.details.scope, 'route');
    assert.match(reason.message, /ratings\.shop\.svc\.cluster\.local/);
    assert.equal(deadline.isTimedOut, true);
    assert.equal(attempt.isPerTryTimeout, false);
    assert.equal(deadline.remainingMs(), 0);
  });

  it('the per-try timeout aborts only the attempt; the next attempt gets a fresh one within the route timeout', () => {
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, perTryTimeoutMs: 200 });
    const first = deadline.startAttempt();
    mock.timers.tick(200);
    assert.equal(first.signal.aborted, true);
    assert.equal(first.isPerTryTimeout, true);
    assert.equal((first.signal.reason as MeshError).details.scope, 'per-try');
    assert.equal((first.signal.reason as MeshError).responseFlag, 'UT');
    assert.equal(deadline.signal.aborted, false);
    const second = deadline.startAttempt();
    mock.timers.tick(199);
    assert.equal(second.signal.aborted, false);
    second.close();
    const third = deadline.startAttempt(5000);
    mock.timers.tick(600);
    assert.equal(third.signal.aborted, false, 't = 999 ms');
    mock.timers.tick(1);
    assert.equal(third.signal.aborted, true, 'the route timeout (1000 ms) wins over a longer per-try timeout');
    assert.equal((third.signal.reason as MeshError).details.scope, 'route');
  });

  it('a caller abort passes its own reason through to request and attempt, and stops the timers', () => {
    const caller = new AbortController();
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, perTryTimeoutMs: 100, signal: caller.signal });
    const attempt = deadline.startAttempt();
    const reason = new Error('user went away');
    caller.abort(reason);
    assert.equal(deadline.signal.reason, reason);
    assert.equal(attempt.signal.reason, reason);
    assert.equal(deadline.isTimedOut, false);
    mock.timers.tick(5000);
    assert.equal(deadline.signal.reason, reason, 'no later timeout overwrites the reason');
  });

  it('an already-aborted caller signal aborts at once; so does an attempt started after the end', () => {
    const caller = new AbortController();
    caller.abort('gone');
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, signal: caller.signal });
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.signal.reason, 'gone');
    const attempt = deadline.startAttempt();
    assert.equal(attempt.signal.aborted, true);
  });

  it('close() cancels the timers and removes the caller listener; no timeout means no timer', () => {
    const caller = new AbortController();
    let listeners = 0;
    const add = caller.signal.addEventListener.bind(caller.signal);
    const remove = caller.signal.removeEventListener.bind(caller.signal);
    caller.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    caller.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, perTryTimeoutMs: 100, signal: caller.signal });
    assert.equal(listeners, 1);
    const attempt = deadline.startAttempt();
    attempt.close();
    attempt.close();
    deadline[Symbol.dispose]();
    deadline.close();
    assert.equal(listeners, 0);
    mock.timers.tick(10_000);
    assert.equal(deadline.signal.aborted, false);
    assert.equal(attempt.signal.aborted, false);

    const none = createRequestDeadline();
    assert.equal(none.routeTimeoutMs, undefined);
    assert.equal(none.remainingMs(), undefined);
    mock.timers.tick(1e9);
    assert.equal(none.signal.aborted, false);
    none.close();
  });
});

describe('signal sharing without timers', () => {
  it('without a route timeout the request uses the caller signal, and an attempt without per-try timeout shares it', () => {
    const caller = new AbortController();
    const deadline = createRequestDeadline({ signal: caller.signal });
    assert.equal(deadline.signal, caller.signal);
    const attempt = deadline.startAttempt();
    assert.equal(attempt.signal, caller.signal);
    const timed = deadline.startAttempt(50);
    assert.notEqual(timed.signal, caller.signal);
    caller.abort('bye');
    assert.equal(timed.signal.reason, 'bye');
    attempt.close();
    timed.close();
    deadline.close();
  });
});

describe('timeout helpers', () => {
  it('minTimeoutMs ignores unset, zero and infinite values', () => {
    assert.equal(minTimeoutMs(undefined, 0, 300, 200, Infinity), 200);
    assert.equal(minTimeoutMs(undefined, 0), undefined);
  });
  it('parses and formats grpc-timeout', () => {
    assert.equal(parseGrpcTimeout('100m'), 100);
    assert.equal(parseGrpcTimeout('5S'), 5000);
    assert.equal(parseGrpcTimeout('2M'), 120_000);
    assert.equal(parseGrpcTimeout('1H'), 3_600_000);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.equal(parseGrpcTimeout('123456789m'), undefined);
    assert.equal(parseGrpcTimeout('10x'), undefined);
    assert.equal(formatGrpcTimeout(250.2), '251m');
    assert.equal(parseGrpcTimeout(formatGrpcTimeout(1e9)), 1e9);
  });
});
