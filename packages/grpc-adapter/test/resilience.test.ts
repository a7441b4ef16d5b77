import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startBackend, unary, waitReady } from './support/echo-service.ts';
import type { Backend } from './support/echo-service.ts';
import { meshClient, runBounded } from './support/harness.ts';
import { match, meshConfig, retryPolicy, route } from './support/mesh-fixture.ts';

const LISTENER = 'echo.default.svc.cluster.local:50051';


function outcome(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => grpc.status.OK,
    (e: grpc.ServiceError) => e.code,
  );
}

describe('gRPC adapter resilience', () => {
  let a: Backend;
  let b: Backend;
  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  const reset = () => {
    for (const s of [a, b]) {
      s.statusCounts.clear();
      s.callsByMethod.clear();
      s.behaviour = () => ({});
    }
  };

  it('retries A44 codes, counted server-side per status code', async () => {
    reset();
    const seen = new Map<string, number>();
    a.behaviour = (_m, _md, req) => {
      const n = (seen.get(req.text) ?? 0) + 1;
      seen.set(req.text, n);
      if (req.text.startsWith('internal')) return { code: grpc.status.INTERNAL };
      return n <= 2 ? { code: grpc.status.UNAVAILABLE } : {};
    };
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'a', { retryPolicy: retryPolicy(['unavailable', 'cancelled'], 2) })],
      clusters: { a: { endpoints: [a.address] } },
    });
    const { client } = meshClient(config);
    try {
      const n = 20;
      const codes = await runBounded(n, 5, (i) => outcome(unary(client, { text: `ok-${i}` })));
      assert.deepEqual(new Set(codes), new Set([grpc.status.OK]));
      assert.equal(a.statusCounts.get(grpc.status.UNAVAILABLE), 2 * n);
      assert.equal(a.statusCounts.get(grpc.status.OK), n);
      // INTERNAL is not in retry_on: exactly one attempt each.
      const internal = await runBounded(5, 5, (i) => outcome(unary(client, { text: `internal-${i}` })));
      assert.deepEqual(new Set(internal), new Set([grpc.status.INTERNAL]));
      assert.equal(a.statusCounts.get(grpc.status.INTERNAL), 5);
    } finally {
      client.close();
    }
  });

  it('retries go to another host when previous_hosts is configured', async () => {
    reset();
    a.behaviour = () => ({ code: grpc.status.UNAVAILABLE });
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'ab', { retryPolicy: retryPolicy(['unavailable'], 1, { retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 5 }) })],
      clusters: { ab: { endpoints: [a.address, b.address], cluster: { lbPolicy: { type: 'random' } } } },
    });
    const { client } = meshClient(config);
    try {
      await waitReady(client);
      const codes = await runBounded(100, 10, (i) => outcome(unary(client, { text: String(i) })));
      assert.equal(codes.filter((c) => c !== grpc.status.OK).length, 0, 'every call succeeded on its retry');
      assert.equal(b.statusCounts.get(grpc.status.OK), 100);
    } finally {
      client.close();
    }
  });

  it('per-try timeout: an attempt unanswered after per_try_timeout gets a successor on another host', async () => {
    reset();
    a.behaviour = () => ({ delayMs: 1500 });
    const policy = (perTryTimeoutMs?: number) =>
      retryPolicy(['unavailable'], 1, { ...(perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs }), retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'] });
    for (const perTry of [100, undefined]) {
      const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'ab', { retryPolicy: policy(perTry) })], clusters: { ab: { endpoints: [a.address, b.address] } } });
      const { client } = meshClient(config);
      try {
        await waitReady(client);
        const codes = await runBounded(20, 20, (i) => outcome(unary(client, { text: String(i) }, { deadlineMs: 1200 })));
        const failed = codes.filter((c) => c !== grpc.status.OK).length;
        if (perTry !== undefined) assert.equal(failed, 0, 'every call was answered by the second host within the deadline');
        else assert.ok(failed > 0, 'without a per-try timeout the calls sent to the hung host time out');
      } finally {
        client.close();
      }
    }
  });

  it('applies max_stream_duration and the caller deadline, whichever is shorter', async () => {
    reset();
    a.behaviour = () => ({ delayMs: 1500 });
    const short = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'a', { maxStreamDuration: { maxStreamDurationMs: 100 } })], clusters: { a: { endpoints: [a.address] } } });
    const long = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'a', { maxStreamDuration: { maxStreamDurationMs: 60_000 } })], clusters: { a: { endpoints: [a.address] } } });
    for (const [config, deadlineMs] of [[short, undefined], [long, 100]] as const) {
      const { client } = meshClient(config);
      try {
        const code = await outcome(unary(client, { text: 'slow' }, deadlineMs === undefined ? {} : { deadlineMs }));
        assert.equal(code, grpc.status.DEADLINE_EXCEEDED);
      } finally {
        client.close();
      }
    }
  });

  it('injects aborts at the configured percentage with the configured gRPC status', async () => {
    reset();
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'a')],
      clusters: { a: { endpoints: [a.address] } },
      httpFilters: [{ name: 'envoy.filters.http.fault', isOptional: false, config: { type: 'fault', fault: { abort: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, headerAbort: false, percentage: { numerator: 25, denominator: 100 } }, headers: [], downstreamNodes: [] } } }],
    });
    const { client } = meshClient(config);
    try {
      const n = 400;
      const errors: grpc.ServiceError[] = [];
      await runBounded(n, 20, (i) => unary(client, { text: String(i) }).catch((e: grpc.ServiceError) => void errors.push(e)));
      // Binomial(400, 0.25): sd ≈ 8.7; ±35 is 4 sd.
      assert.ok(Math.abs(errors.length - 100) <= 35, `aborted ${errors.length} of ${n}`);
      assert.ok(errors.every((e) => e.code === grpc.status.RESOURCE_EXHAUSTED && /WEFT_ERR_FAULT_ABORT \(FI\)/.test(e.details)));
      assert.equal(a.callsByMethod.get('Unary'), n - errors.length, 'aborted calls never reached the server');
    } finally {
      client.close();
    }
  });

  it('injects delays at the configured percentage', async () => {
    reset();
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'a')],
      clusters: { a: { endpoints: [a.address] } },
      httpFilters: [{ name: 'envoy.filters.http.fault', isOptional: false, config: { type: 'fault', fault: { delay: { fixedDelayMs: 1500, headerDelay: false, percentage: { numerator: 50, denominator: 100 } }, headers: [], downstreamNodes: [] } } }],
    });
    const { client } = meshClient(config);
    try {
      await waitReady(client);
      const n = 200;
      const elapsed = await runBounded(n, 100, async (i) => {
        const t0 = performance.now();
        await unary(client, { text: String(i) });
        return performance.now() - t0;
      });
      // A delayed call cannot finish before its 1,500 ms timer; an undelayed loopback call taking
      // 750 ms would need a stalled machine (a wide margin, not a timing assertion).
      const delayed = elapsed.filter((ms) => ms >= 750).length;
      // Binomial(200, 0.5): sd ≈ 7.1; ±30 is > 4 sd.
      assert.ok(Math.abs(delayed - 100) <= 30, `delayed ${delayed} of ${n}`);
    } finally {
      client.close();
    }
  });

  it('fails calls beyond max_requests with UNAVAILABLE and WEFT_ERR_CIRCUIT_OPEN', async () => {
    reset();
    a.behaviour = () => ({ delayMs: 300 });
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'a')],
      clusters: { a: { endpoints: [a.address], cluster: { circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 2, maxRetries: 3 }] } } },
    });
    const { client } = meshClient(config);
    try {
      await waitReady(client);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => unary(client, { text: String(i) }).then(() => undefined, (e: grpc.ServiceError) => e)));
      const open = results.filter((e) => e !== undefined);
      assert.equal(open.length, 4);
      assert.ok(open.every((e) => e.code === grpc.status.UNAVAILABLE && /WEFT_ERR_CIRCUIT_OPEN \(UO\)/.test(e.details)));
      // Once the calls finished the breaker closes again.
      a.behaviour = () => ({});
      assert.equal((await unary(client, { text: 'after' })).server, 'a');
    } finally {
      client.close();
    }
  });

  it('rate limits locally: UNAVAILABLE by default, RESOURCE_EXHAUSTED when configured', async () => {
    for (const asExhausted of [false, true]) {
      reset();
      const config = meshConfig({
        listenerName: LISTENER,
        routes: [route(match(''), 'a')],
        clusters: { a: { endpoints: [a.address] } },
        httpFilters: [
          {
            name: 'envoy.filters.http.local_ratelimit',
            isOptional: false,
            config: {
              type: 'localRateLimit',
              localRateLimit: {
                statPrefix: 'grpc_rl',
                tokenBucket: { maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 3_600_000 },
                filterEnabled: { numerator: 100, denominator: 100 },
                filterEnforced: { numerator: 100, denominator: 100 },
                statusCode: 429,
                responseHeadersToAdd: [],
                requestHeadersToAddWhenNotEnforced: [],
                localRateLimitPerDownstreamConnection: false,
                enableXRatelimitHeaders: 'OFF',
                rateLimitedAsResourceExhausted: asExhausted,
              },
            },
          },
        ],
      });
      const { client } = meshClient(config);
      try {
        const codes: number[] = [];
        for (let i = 0; i < 10; i++) codes.push(await outcome(unary(client, { text: String(i) })));
        const limited = asExhausted ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE;
        assert.deepEqual(codes, [0, 0, 0, ...new Array(7).fill(limited)]);
        assert.equal(a.callsByMethod.get('Unary'), 3);
      } finally {
        client.close();
      }
    }
  });

  it('ejects a failing host (consecutive errors) and re-admits it after the ejection time', async () => {
    reset();
    let isFailing = true;
    a.behaviour = () => (isFailing ? { code: grpc.status.UNAVAILABLE } : {});
    const od = {
      consecutive5xx: 3, intervalMs: 50, baseEjectionTimeMs: 1500, maxEjectionTimeMs: 300_000, maxEjectionTimeJitterMs: 0, maxEjectionPercent: 50,
      enforcingConsecutive5xx: 100, enforcingSuccessRate: 100, successRateMinimumHosts: 5, successRateRequestVolume: 100, successRateStdevFactor: 1900,
      consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0, splitExternalLocalOriginErrors: false, consecutiveLocalOriginFailure: 5,
      enforcingConsecutiveLocalOriginFailure: 100, enforcingLocalOriginSuccessRate: 100, failurePercentageThreshold: 85, enforcingFailurePercentage: 0,
      enforcingFailurePercentageLocalOrigin: 0, failurePercentageMinimumHosts: 5, failurePercentageRequestVolume: 50, isSuccessRateConfigured: false, isFailurePercentageConfigured: false,
    };
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'ab')], clusters: { ab: { endpoints: [a.address, b.address], cluster: { outlierDetection: od } } } });
    const { client } = meshClient(config);
    try {
      await waitReady(client);
      const first = [];
      for (let i = 0; i < 20; i++) first.push(await outcome(unary(client, { text: String(i) })));
      assert.equal(first.filter((c) => c !== 0).length, 3, 'three failures, then the host is ejected');
      isFailing = false;
      const before = a.callsByMethod.get('Unary') ?? 0;
      // Re-admission: bounded polling (at most 400 calls, 20 ms apart) until `a` serves again.
      let isReadmitted = false;
      for (let i = 0; i < 400 && !isReadmitted; i++) {
        await unary(client, { text: 'probe' });
        isReadmitted = (a.callsByMethod.get('Unary') ?? 0) > before;
        if (!isReadmitted) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(isReadmitted, 'the ejected host came back after base_ejection_time');
    } finally {
      client.close();
    }
  });
});
