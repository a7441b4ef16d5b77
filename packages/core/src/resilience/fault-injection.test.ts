import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFaultAbortError, createFaultInjector, httpStatusToGrpcStatus } from './fault-injection.ts';
import { ALWAYS, fromPercentage } from './fractional-percent.ts';

describe('fault injection', () => {
  it('scenario 05: 100 % fixed delay of 500 ms for matching requests', () => {
    const f = createFaultInjector({
      delay: { fixedDelayMs: 500, percentage: fromPercentage(100) },
      headers: [{ name: 'end-user', match: { type: 'exact', value: 'alice' } }],
    });
    for (let i = 0; i < 100; i++) {
      const d = f.decide({ headers: { 'end-user': 'alice' } });
      assert.ok(d.isFaulted && d.delayMs === 500 && d.abort === undefined);
      d.release();
    }
    assert.equal(f.decide({ headers: { 'end-user': 'bob' } }).isFaulted, false);
    assert.equal(f.decide().isFaulted, false);
  });

  it('scenario 05: 20 % aborts with HTTP 500, within 0.15..0.25 — and tighter: ±4 sd over 10,000', () => {
    const f = createFaultInjector({ abort: { httpStatus: 500, percentage: fromPercentage(20) } });
    const n = 10_000;
    let aborted = 0;
    for (let i = 0; i < n; i++) {
      const d = f.decide();
      if (d.isFaulted) {
        assert.deepEqual(d.abort, { httpStatus: 500 });
        aborted++;
        d.release();
      }
    }
    // Binomial(10000, 0.2): sd 40 → ±160.
    assert.ok(Math.abs(aborted - 2000) < 160, `aborted ${aborted}`);
    assert.equal(f.activeFaults, 0);
  });

  it('delay and abort are independent draws; the delay is drawn first', () => {
    const draws = [0.05, 0.95, 0.95, 0.05];
    const f = createFaultInjector({
      delay: { fixedDelayMs: 10, percentage: { numerator: 10, denominator: 100 } },
      abort: { grpcStatus: 14, percentage: { numerator: 10, denominator: 100 } },
      random: () => draws.shift() ?? 0.99,
    });
    const first = f.decide();
    assert.ok(first.isFaulted && first.delayMs === 10 && first.abort === undefined);
    const second = f.decide();
    assert.ok(second.isFaulted && second.delayMs === undefined && second.abort?.grpcStatus === 14);
    assert.equal(f.decide().isFaulted, false);
  });

  it('header-controlled delay and abort, with header percentages capped at the configured ones', () => {
    const f = createFaultInjector({
      delay: { headerDelay: true, percentage: { numerator: 50, denominator: 100 } },
      abort: { headerAbort: true, percentage: ALWAYS },
      random: () => 0.3,
    });
    assert.equal(f.decide({ headers: {} }).isFaulted, false, 'no headers, no fault');
    const d = f.decide({ headers: { 'x-envoy-fault-delay-request': '250', 'x-envoy-fault-abort-request': '503' } });
    assert.ok(d.isFaulted && d.delayMs === 250 && d.abort?.httpStatus === 503);
    const lowered = f.decide({ headers: { 'x-envoy-fault-delay-request': '250', 'x-envoy-fault-delay-request-percentage': '20' } });
    assert.equal(lowered.isFaulted, false, '0.3 misses 20 %');
    const capped = f.decide({ headers: { 'x-envoy-fault-delay-request': '250', 'x-envoy-fault-delay-request-percentage': '100' } });
    assert.ok(capped.isFaulted, '100 is capped to the configured 50: 0.3 hits');
    const grpc = f.decide({ headers: { 'x-envoy-fault-abort-grpc-request': '4' } });
    assert.ok(grpc.isFaulted && grpc.abort?.grpcStatus === 4);
    const both = f.decide({ headers: { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-grpc-request': '4' } });
    assert.ok(both.isFaulted && both.abort?.httpStatus === 429 && both.abort.grpcStatus === undefined, 'HTTP wins');
    assert.equal(f.decide({ headers: { 'x-envoy-fault-abort-request': '700' } }).isFaulted, false, 'out-of-range status ignored');
    assert.equal(f.decide({ headers: { 'x-envoy-fault-delay-request': 'soon' } }).isFaulted, false);
  });

  it('max_active_faults caps concurrent faults until released', () => {
    const f = createFaultInjector({ delay: { fixedDelayMs: 1, percentage: ALWAYS }, maxActiveFaults: 2 });
    const a = f.decide();
    const b = f.decide();
    assert.ok(a.isFaulted && b.isFaulted);
    assert.equal(f.decide().isFaulted, false);
    assert.equal(f.overflowCount, 1);
    a.release();
    a.release();
    assert.equal(f.activeFaults, 1);
    assert.equal(f.decide().isFaulted, true);
  });

  it('upstream cluster and downstream nodes restrict the fault', () => {
    const f = createFaultInjector({
      abort: { httpStatus: 503, percentage: ALWAYS },
      upstreamCluster: 'outbound|9080||ratings',
      downstreamNodes: ['productpage'],
    });
    const headers = { 'x-envoy-downstream-service-node': 'productpage' };
    assert.equal(f.decide({ cluster: 'outbound|9080||ratings', headers }).isFaulted, true);
    assert.equal(f.decide({ cluster: 'outbound|9080||reviews', headers }).isFaulted, false);
    assert.equal(f.decide({ cluster: 'outbound|9080||ratings', headers: { 'x-envoy-downstream-service-node': 'other' } }).isFaulted, false);
  });

  it('abort errors carry FI; bad config is rejected naming the field', () => {
    const err = createFaultAbortError({ httpStatus: 500 }, 'ratings');
    assert.equal(err.code, 'WEFT_ERR_FAULT_ABORT');
    assert.equal(err.responseFlag, 'FI');
    assert.equal(err.details.httpStatus, 500);
    assert.throws(() => createFaultInjector({ abort: { httpStatus: 700, percentage: ALWAYS } }, 'route "r".fault'), /route "r"\.fault\.abort\.httpStatus/);
    assert.equal(httpStatusToGrpcStatus(503), 14);
    assert.equal(httpStatusToGrpcStatus(404), 12);
    assert.equal(httpStatusToGrpcStatus(500), 2);
  });
});
