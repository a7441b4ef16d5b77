import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createOutlierDetector, grpcStatusToHttpStatus } from './outlier-detector.ts';
import type { EjectionEvent, OutlierDetectorOptions } from './outlier-detector.ts';
import { resolveOutlierDetectionOptions } from './outlier-detection-options.ts';

const HOSTS = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];
const [A, B, C] = HOSTS as [string, string, string, string];

function detector(options: Partial<OutlierDetectorOptions> = {}, clock = { t: 0 }) {
  const d = createOutlierDetector({ clusterName: 'ratings', isTimerStarted: false, now: () => clock.t, maxEjectionPercent: 100, ...options });
  d.setHosts(HOSTS);
  const ejections: EjectionEvent[] = [];
  const unejections: string[] = [];
  d.onEject((e) => ejections.push(e));
  d.onUneject((e) => unejections.push(e.host));
  return { d, clock, ejections, unejections };
}

const resp = (status: number) => ({ kind: 'response', status }) as const;

describe('consecutive errors', () => {
  it('ejects after exactly N consecutive 5xx; a success in between resets the streak', () => {
    const { d, ejections } = detector({ consecutive5xx: 3, maxEjectionPercent: 100 });
    d.record(A, resp(500));
    d.record(A, resp(500));
    d.record(A, resp(200));
    d.record(A, resp(500));
    d.record(A, resp(500));
    assert.equal(d.isEjected(A), false);
    d.record(A, resp(500));
    assert.equal(d.isEjected(A), true);
    assert.deepEqual(ejections, [{ cluster: 'ratings', host: A, reason: 'consecutive-5xx', multiplier: 1, durationMs: 30_000 }]);
    assert.deepEqual([...d.ejectedHosts], [A]);
  });

  it('4xx responses are successes for outlier detection', () => {
    const { d } = detector({ consecutive5xx: 2 });
    d.record(A, resp(500));
    d.record(A, resp(404));
    d.record(A, resp(500));
    assert.equal(d.isEjected(A), false);
  });

  it('consecutive gateway errors eject only when enforced (Envoy default enforcing 0 %)', () => {
    const off = detector({ consecutiveGatewayFailure: 2, consecutive5xx: 100 });
    off.d.record(A, resp(503));
    off.d.record(A, resp(502));
    assert.equal(off.d.isEjected(A), false);
    const on = detector({ consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, consecutive5xx: 100 });
    on.d.record(A, resp(503));
    on.d.record(A, resp(500));
    on.d.record(A, resp(504));
    assert.equal(on.d.isEjected(A), false, 'a 500 breaks the gateway streak');
    on.d.record(A, resp(502));
    assert.equal(on.d.isEjected(A), true);
    assert.equal(on.ejections[0]?.reason, 'consecutive-gateway-failure');
  });

  it('local-origin failures count as 503/504 unless split; split mode tracks them on their own', () => {
    const mixed = detector({ consecutive5xx: 3 });
    mixed.d.record(A, { kind: 'connect-failure' });
    mixed.d.record(A, { kind: 'connect-success' });
    mixed.d.record(A, { kind: 'timeout' });
    mixed.d.record(A, { kind: 'reset' });
    assert.equal(mixed.d.isEjected(A), true);

    const split = detector({ consecutive5xx: 3, consecutiveLocalOriginFailure: 2, splitExternalLocalOriginErrors: true });
    split.d.record(A, { kind: 'connect-failure' });
    split.d.record(A, { kind: 'connect-success' });
    split.d.record(A, { kind: 'connect-failure' });
    split.d.record(A, resp(500));
    split.d.record(A, resp(500));
    assert.equal(split.d.isEjected(A), false, 'streaks are separate and connect-success resets the local one');
    split.d.record(A, { kind: 'timeout' });
    assert.equal(split.d.isEjected(A), true);
    assert.equal(split.ejections[0]?.reason, 'consecutive-local-origin-failure');
  });

  it('an enforcing percentage is a coin flip on the injected random source', () => {
    const flips = [0.7, 0.2];
    const { d } = detector({ consecutive5xx: 1, enforcingConsecutive5xx: 50, maxEjectionPercent: 100, random: () => flips.shift() ?? 0 });
    d.record(A, resp(500));
    assert.equal(d.isEjected(A), false, '0.7 → 70 ≥ 50: not enforced');
    d.record(A, resp(500));
    assert.equal(d.isEjected(A), true, '0.2 → 20 < 50: enforced');
  });

  it('results for hosts not declared are ignored; removing an ejected host reports it', () => {
    const { d, unejections } = detector({ consecutive5xx: 1 });
    d.record('10.9.9.9:80', resp(500));
    assert.equal(d.isEjected('10.9.9.9:80'), false);
    d.record(A, resp(500));
    d.setHosts([B, C]);
    assert.equal(d.isEjected(A), false);
    assert.deepEqual(unejections, [A]);
  });
});

describe('max ejection percent', () => {
  it('never lets an ejection take the ejected share above the cap', () => {
    const { d } = detector({ consecutive5xx: 1, maxEjectionPercent: 50 });
    for (const h of HOSTS) d.record(h, resp(500));
    assert.equal(d.ejectedHosts.size, 2, '4 hosts, 50 %: two ejected');
    const third = detector({ consecutive5xx: 1, maxEjectionPercent: 67 });
    third.d.setHosts([A, B, C]);
    for (const h of [A, B, C]) third.d.record(h, resp(500));
    assert.equal(third.d.ejectedHosts.size, 2, '3 hosts, 67 %: the third ejection would reach 100 %');
  });

  it('with the default 10 % a small cluster ejects nothing unless alwaysEjectOneHost', () => {
    const tiny = detector({ consecutive5xx: 1, maxEjectionPercent: 10 });
    for (const h of HOSTS) tiny.d.record(h, resp(500));
    assert.equal(tiny.d.ejectedHosts.size, 0, 'one of 4 hosts is 25 % > 10 %');
    const one = detector({ consecutive5xx: 1, maxEjectionPercent: 10, alwaysEjectOneHost: true });
    for (const h of HOSTS) one.d.record(h, resp(500));
    assert.equal(one.d.ejectedHosts.size, 1, 'the first ejection is always allowed, the next is not');
  });
});

describe('ejection time and re-admission', () => {
  it('re-admits at the first sweep after base × multiplier, and the multiplier grows with each ejection', () => {
    const clock = { t: 0 };
    const { d, ejections, unejections } = detector({ consecutive5xx: 1, baseEjectionTimeMs: 30_000, intervalMs: 10_000 }, clock);
    d.record(A, resp(500));
    for (clock.t = 10_000; clock.t < 30_000; clock.t += 10_000) {
      d.sweep();
      assert.equal(d.isEjected(A), true, `still out at ${clock.t}`);
    }
    clock.t = 30_000;
    d.sweep();
    assert.equal(d.isEjected(A), false);
    assert.deepEqual(unejections, [A]);
    // Second ejection right away: multiplier 2 → 60 s out (no decay happened in between).
    d.record(A, resp(500));
    assert.equal(ejections[1]?.multiplier, 2);
    assert.equal(ejections[1]?.durationMs, 60_000);
    clock.t = 30_000 + 59_999;
    d.sweep();
    assert.equal(d.isEjected(A), true);
    clock.t = 30_000 + 60_000;
    d.sweep();
    assert.equal(d.isEjected(A), false);
  });

  it('the ejection time is capped by max_ejection_time and the multiplier decays while healthy', () => {
    const clock = { t: 0 };
    const { d, ejections } = detector({ consecutive5xx: 1, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 25_000 }, clock);
    for (let i = 0; i < 5; i++) {
      d.record(A, resp(500));
      clock.t += 25_000;
      d.sweep();
      assert.equal(d.isEjected(A), false);
    }
    assert.deepEqual(
      ejections.map((e) => e.durationMs),
      [10_000, 20_000, 25_000, 25_000, 25_000],
    );
    assert.equal(d.multiplierOf(A), 3, 'stops growing once base × multiplier ≥ max');
    for (let i = 0; i < 3; i++) d.sweep();
    assert.equal(d.multiplierOf(A), 0, 'one step down per healthy sweep');
  });

  it('runs on its own unref’d interval timer (mock.timers) and close() stops it', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    try {
      const d = createOutlierDetector({ clusterName: 'c', consecutive5xx: 1, intervalMs: 1000, baseEjectionTimeMs: 3000, maxEjectionPercent: 50 });
      d.setHosts([A, B]);
      d.record(A, resp(503));
      mock.timers.tick(2000);
      assert.equal(d.isEjected(A), true);
      mock.timers.tick(1000);
      assert.equal(d.isEjected(A), false);
      d.record(A, resp(503));
      d.close();
      d.close();
      mock.timers.tick(100_000);
      assert.equal(d.isEjected(A), true, 'no sweeps after close');
    } finally {
      mock.timers.reset();
    }
  });
});

describe('success-rate ejection', () => {
  it('ejects hosts below mean − stdev × factor/1000 (population stdev)', () => {
    // Rates 100, 100, 100, 70: mean 92.5, stdev 12.99; factor 1.0 → threshold 79.5.
    const { d, ejections } = detector({ consecutive5xx: 1000, successRateMinimumHosts: 4, successRateRequestVolume: 100, successRateStdevFactor: 1000, maxEjectionPercent: 100 });
    for (const h of [A, B, C]) for (let i = 0; i < 100; i++) d.record(h, resp(200));
    for (let i = 0; i < 100; i++) d.record('10.0.0.4:80', resp(i < 70 ? 200 : 500));
    d.sweep();
    assert.deepEqual(
      ejections.map((e) => [e.host, e.reason]),
      [['10.0.0.4:80', 'success-rate']],
    );
  });

  it('does nothing with the default factor 1.9 when the outlier is inside the band', () => {
    // Same rates, factor 1.9 → threshold 92.5 − 24.7 = 67.8, below 70: the host stays.
    const { d } = detector({ consecutive5xx: 1000, successRateMinimumHosts: 4, successRateRequestVolume: 100, maxEjectionPercent: 100 });
    for (const h of [A, B, C]) for (let i = 0; i < 100; i++) d.record(h, resp(200));
    for (let i = 0; i < 100; i++) d.record('10.0.0.4:80', resp(i < 70 ? 200 : 500));
    d.sweep();
    assert.equal(d.ejectedHosts.size, 0);
  });

  it('needs minimum hosts with the request volume; counts restart every interval', () => {
    const { d } = detector({ consecutive5xx: 1000, successRateMinimumHosts: 4, successRateRequestVolume: 100, successRateStdevFactor: 1000, maxEjectionPercent: 100 });
    for (const h of [A, B]) for (let i = 0; i < 100; i++) d.record(h, resp(200));
    for (let i = 0; i < 99; i++) d.record(C, resp(200));
    for (let i = 0; i < 100; i++) d.record('10.0.0.4:80', resp(500));
    d.sweep();
    assert.equal(d.ejectedHosts.size, 0, 'only 3 hosts reached 100 requests');
    d.record(C, resp(200));
    d.sweep();
    assert.equal(d.ejectedHosts.size, 0, 'the previous interval’s counts are gone');
  });
});

describe('failure-percentage ejection', () => {
  it('ejects hosts at or above the threshold when enforced, with minimum hosts and volume', () => {
    const { d, ejections } = detector({
      consecutive5xx: 1000,
      enforcingSuccessRate: 0,
      enforcingFailurePercentage: 100,
      failurePercentageThreshold: 50,
      failurePercentageMinimumHosts: 3,
      failurePercentageRequestVolume: 10,
      maxEjectionPercent: 100,
    });
    for (let i = 0; i < 10; i++) {
      d.record(A, resp(i < 5 ? 500 : 200));
      d.record(B, resp(i < 4 ? 500 : 200));
      d.record(C, resp(200));
      d.record('10.0.0.4:80', resp(500));
    }
    d.sweep();
    assert.deepEqual(
      ejections.map((e) => [e.host, e.reason]),
      [
        [A, 'failure-percentage'],
        ['10.0.0.4:80', 'failure-percentage'],
      ],
    );
  });

  it('is off by default (Envoy enforcing_failure_percentage 0)', () => {
    const { d } = detector({ consecutive5xx: 1000, enforcingSuccessRate: 0, failurePercentageMinimumHosts: 1, failurePercentageRequestVolume: 1 });
    d.record(A, resp(500));
    d.sweep();
    assert.equal(d.isEjected(A), false);
  });
});

describe('options', () => {
  it('applies Envoy defaults', () => {
    const o = resolveOutlierDetectionOptions({});
    assert.equal(o.consecutive5xx, 5);
    assert.equal(o.intervalMs, 10_000);
    assert.equal(o.baseEjectionTimeMs, 30_000);
    assert.equal(o.maxEjectionTimeMs, 300_000);
    assert.equal(o.maxEjectionPercent, 10);
    assert.equal(o.successRateStdevFactor, 1900);
    assert.equal(resolveOutlierDetectionOptions({ baseEjectionTimeMs: 600_000 }).maxEjectionTimeMs, 600_000);
  });
  it('rejects bad values naming the field', () => {
    assert.throws(() => createOutlierDetector({ clusterName: 'x', maxEjectionPercent: 150, isTimerStarted: false }), /cluster "x"\.outlierDetection\.maxEjectionPercent/);
    assert.throws(() => resolveOutlierDetectionOptions({ intervalMs: 0 }), (e: unknown) => (e as { code: string }).code === 'WEFT_ERR_CONFIG_INVALID');
    assert.throws(() => resolveOutlierDetectionOptions({ consecutive5xx: -1 }), /consecutive5xx/);
  });
  it('maps gRPC statuses like Envoy', () => {
    assert.equal(grpcStatusToHttpStatus(14), 503);
    assert.equal(grpcStatusToHttpStatus(4), 504);
    assert.equal(grpcStatusToHttpStatus(13), 500);
    assert.equal(grpcStatusToHttpStatus(0), 200);
    assert.equal(grpcStatusToHttpStatus(8), 429);
  });
});

describe('syncing ejections into endpoint state', async () => {
  const { syncEjections } = await import('./outlier-ejection-sync.ts');
  const { EndpointStateStore } = await import('../lb/endpoint-state-store.ts');
  it('marks ejected endpoints in the LB state store and clears them on re-admission', () => {
    const clock = { t: 0 };
    const { d } = detector({ consecutive5xx: 1, baseEjectionTimeMs: 1000 }, clock);
    const store = new EndpointStateStore();
    d.record(A, resp(500));
    const sync = syncEjections(d, store);
    assert.equal(store.get(A).isEjected, true, 'existing ejections are mirrored at once');
    clock.t = 1000;
    d.sweep();
    assert.equal(store.get(A).isEjected, false);
    d.record(B, resp(500));
    assert.equal(store.get(B).isEjected, true);
    sync.dispose();
    sync[Symbol.dispose]();
    clock.t = 5000;
    d.sweep();
    assert.equal(store.get(B).isEjected, true, 'no longer mirrored after dispose');
  });
});
