import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { HttpFilter, LocalRateLimitFilterConfig } from '@weft/xds-client';
import { createMeshDispatcher } from '../src/index.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, seededRandom, startUpstream } from './support.ts';
import { harness } from './harness.ts';

const URL_ = 'http://reviews:9080/x';

test('circuit breaker: above max_connections + max_pending_requests, requests get 503 UO with x-envoy-overloaded at once', async () => {
  const releases: (() => void)[] = [];
  const up = await startUpstream('v1', (_r, res) => {
    releases.push(() => res.end('ok'));
  });
  const cluster = edsCluster('c', { type: 'roundRobin' }, {
    circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1024, maxRetries: 3 }],
  });
  const h = await harness({ target: 'c', clusters: [[cluster, loadAssignment('c', [{ endpoints: [up.addr] }])]] });
  try {
    const pending = Array.from({ length: 10 }, () => request(URL_, { dispatcher: h.dispatcher }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() })));
    // The 8 overflowing requests are answered without waiting for the upstream.
    const settled: { status: number; headers: Record<string, unknown> }[] = [];
    for (const p of pending) void p.then((r) => settled.push(r));
    for (let i = 0; i < 200 && (settled.length < 8 || up.seen.length < 1); i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(settled.length, 8);
    assert.ok(settled.every((r) => r.status === 503 && r.headers['x-envoy-overloaded'] === 'true' && r.headers['x-weft-response-flags'] === 'UO'));
    for (let i = 0; i < 200 && up.seen.length + releases.length < 2; i++) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    while (settled.length < 10) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(up.seen.length, 2, 'one active and one pending request reached the upstream');
  } finally {
    for (const r of releases) r();
    await h.close();
    await up.close();
  }
});

test('outlier detection ejects a failing endpoint and re-admits it after the ejection time', async () => {
  const bad = await startUpstream('bad', (_r, res) => {
    res.statusCode = 500;
    res.end();
  });
  const good = await startUpstream('good');
  const cluster = edsCluster('c', { type: 'roundRobin' }, {
    outlierDetection: {
      consecutive5xx: 3,
      intervalMs: 50,
      baseEjectionTimeMs: 1500,
      maxEjectionTimeMs: 300_000,
      maxEjectionTimeJitterMs: 0,
      maxEjectionPercent: 50,
      enforcingConsecutive5xx: 100,
      enforcingSuccessRate: 0,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      successRateStdevFactor: 1900,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      splitExternalLocalOriginErrors: false,
      consecutiveLocalOriginFailure: 5,
      enforcingConsecutiveLocalOriginFailure: 100,
      enforcingLocalOriginSuccessRate: 100,
      failurePercentageThreshold: 85,
      enforcingFailurePercentage: 0,
      enforcingFailurePercentageLocalOrigin: 0,
      failurePercentageMinimumHosts: 5,
      failurePercentageRequestVolume: 50,
      isSuccessRateConfigured: false,
      isFailurePercentageConfigured: false,
    },
  });
  const h = await harness({ target: 'c', clusters: [[cluster, loadAssignment('c', [{ endpoints: [bad.addr, good.addr] }])]] });
  const once = async (): Promise<number> => {
    const r = await request(URL_, { dispatcher: h.dispatcher });
    await r.body.text();
    return r.statusCode;
  };
  try {
    for (let i = 0; i < 60 && bad.seen.length < 3; i++) await once();
    assert.equal(bad.seen.length, 3);
    const before = bad.seen.length;
    const ejectedAt = Date.now();
    let okCount = 0;
    while (okCount < 10 && Date.now() - ejectedAt < 1000) {
      assert.equal(await once(), 200);
      okCount++;
    }
    assert.ok(okCount >= 1);
    assert.equal(bad.seen.length, before, 'ejected: no request reaches the failing endpoint');
    // Re-admission: after the 1.5 s ejection time the next sweep (every 50 ms) restores it.
    for (let i = 0; i < 100 && bad.seen.length === before; i++) {
      await once();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(bad.seen.length > before, 're-admitted after the ejection time');
  } finally {
    await h.close();
    await Promise.all([bad.close(), good.close()]);
  }
});

function rateLimitFilter(maxTokens: number): HttpFilter {
  const cfg: LocalRateLimitFilterConfig = {
    statPrefix: 'http_local_rate_limiter',
    tokenBucket: { maxTokens, tokensPerFill: maxTokens, fillIntervalMs: 60_000 },
    filterEnabled: { numerator: 100, denominator: 100 },
    filterEnforced: { numerator: 100, denominator: 100 },
    statusCode: 429,
    responseHeadersToAdd: [{ key: 'x-local-rate-limit', value: 'true', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
    requestHeadersToAddWhenNotEnforced: [],
    localRateLimitPerDownstreamConnection: false,
    enableXRatelimitHeaders: 'OFF',
    rateLimitedAsResourceExhausted: false,
  };
  return { name: 'envoy.filters.http.local_ratelimit', config: { type: 'localRateLimit', localRateLimit: cfg }, isOptional: false };
}

test('local rate limit admits exactly max_tokens per window; the rest get 429 x-envoy-ratelimited RL', async () => {
  const up = await startUpstream('v1');
  const h = await harness({ target: 'c', clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]], filters: [rateLimitFilter(7)] });
  try {
    const results = await Promise.all(Array.from({ length: 25 }, () => request(URL_, { dispatcher: h.dispatcher }).then(async (r) => ({ s: r.statusCode, h: r.headers, b: await r.body.text() }))));
    assert.equal(up.seen.length, 7);
    const limited = results.filter((r) => r.s === 429);
    assert.equal(limited.length, 18);
    assert.ok(limited.every((r) => r.h['x-envoy-ratelimited'] === 'true' && r.h['x-weft-response-flags'] === 'RL' && r.h['x-local-rate-limit'] === 'true'));
  } finally {
    await h.close();
    await up.close();
  }
});

test('fault injection: abort percentage within 5σ over 1,000 requests (FI), fixed delay stamped DI', async () => {
  const up = await startUpstream('v1');
  const fault: HttpFilter = {
    name: 'envoy.filters.http.fault',
    config: {
      type: 'fault',
      fault: { abort: { httpStatus: 503, headerAbort: false, percentage: { numerator: 30, denominator: 100 } }, headers: [], downstreamNodes: [] },
    },
    isOptional: false,
  };
  const h = await harness({ target: 'c', clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]], filters: [fault], dispatcher: { random: seededRandom(7) } });
  try {
    let aborted = 0;
    for (let i = 0; i < 1000; i += 50) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => request(URL_, { dispatcher: h.dispatcher }).then(async (r) => (await r.body.text(), r))));
      for (const r of rs) if (r.statusCode === 503) {
        aborted++;
        assert.equal(r.headers['x-weft-response-flags'], 'FI');
      }
    }
    const tol = 5 * Math.sqrt(1000 * 0.3 * 0.7);
    assert.ok(Math.abs(aborted - 300) <= tol, `aborted ${aborted}`);
    assert.equal(up.seen.length, 1000 - aborted, 'aborted requests never reach the upstream');
  } finally {
    await h.close();
  }
  const delay: HttpFilter = {
    name: 'envoy.filters.http.fault',
    config: { type: 'fault', fault: { delay: { fixedDelayMs: 30, headerDelay: false, percentage: { numerator: 100, denominator: 100 } }, headers: [], downstreamNodes: [] } },
    isOptional: false,
  };
  const h2 = await harness({ target: 'c', clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]], filters: [delay] });
  try {
    const r = await request(URL_, { dispatcher: h2.dispatcher });
    assert.equal(await r.body.text(), 'v1');
    assert.equal(r.headers['x-weft-response-flags'], 'DI');
  } finally {
    await h2.close();
    await up.close();
  }
});

test('mirroring: the shadow cluster receives the copy (host -shadow) while the caller sees only the primary', async () => {
  const primary = await startUpstream('primary');
  const shadow = await startUpstream('shadow', (_r, res) => {
    res.statusCode = 500;
    res.end('shadow failed');
  });
  const h = await harness({
    target: 'c',
    action: { requestMirrorPolicies: [{ cluster: 'c-shadow' }] },
    clusters: [
      [edsCluster('c'), loadAssignment('c', [{ endpoints: [primary.addr] }])],
      [edsCluster('c-shadow'), loadAssignment('c-shadow', [{ endpoints: [shadow.addr] }])],
    ],
  });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await request(URL_, { dispatcher: h.dispatcher, method: 'POST', body: `n${i}` });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), 'primary');
    }
    for (let i = 0; i < 200 && shadow.seen.length < 5; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(shadow.seen.length, 5);
    assert.equal(shadow.seen[0]!.headers.host, 'reviews-shadow:9080');
    assert.deepEqual(shadow.seen.map((s) => s.body).sort(), ['n0', 'n1', 'n2', 'n3', 'n4']);
  } finally {
    await h.close();
    await Promise.all([primary.close(), shadow.close()]);
  }
});

test('a cluster with no endpoints answers 503 UH, as does a host whose endpoints are all gone', async () => {
  const h = await harness({ target: 'c', clusters: [[edsCluster('c'), loadAssignment('c', [])]] });
  try {
    const r = await request(URL_, { dispatcher: h.dispatcher });
    await r.body.text();
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers['x-weft-response-flags'], 'UH');
    assert.equal(r.headers['x-weft-error-code'], 'WEFT_ERR_NO_HEALTHY_UPSTREAM');
    const other = await request('http://reviews.default.svc.cluster.local:9080/', { dispatcher: h.dispatcher, headers: { host: 'x' } });
    await other.body.text();
    assert.equal(other.statusCode, 503);
  } finally {
    await h.close();
  }
});

test('outbound policy: ALLOW_ANY passes unknown hosts through, REGISTRY_ONLY fails without a connection, silent xDS times out', async () => {
  const up = await startUpstream('direct');
  const xds = new FakeXds();
  const mesh = await createTestMesh(xds);
  const allow = createMeshDispatcher({ mesh });
  const deny = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY' });
  try {
    const r = await request(`http://127.0.0.1:${up.port}/p`, { dispatcher: allow });
    assert.equal(await r.body.text(), 'direct');
    await assert.rejects(request(`http://127.0.0.1:${up.port}/p`, { dispatcher: deny }), (e: { code?: string; responseFlag?: string }) => e.code === 'WEFT_ERR_UNKNOWN_HOST' && e.responseFlag === 'NR');
    await assert.rejects(request('http://ratings:9080/', { dispatcher: deny }), (e: { code?: string; details?: { cluster?: string } }) => e.code === 'WEFT_ERR_UNKNOWN_HOST' && e.details?.cluster === 'BlackHoleCluster');
    assert.equal(up.seen.length, 1);
    xds.isSilent = true;
    const slow = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 100 });
    await assert.rejects(request('http://details:9080/', { dispatcher: slow }), (e: { code?: string }) => e.code === 'WEFT_ERR_XDS_UNAVAILABLE');
    await slow.close();
  } finally {
    await Promise.all([allow.close(), deny.close()]);
    await mesh.close();
    await up.close();
  }
});

test('fault scoping: header-controlled abort, header matchers and upstream_cluster decide which requests are faulted', async () => {
  const up = await startUpstream('v1');
  const fault: HttpFilter = {
    name: 'envoy.filters.http.fault',
    config: {
      type: 'fault',
      fault: {
        abort: { headerAbort: true, percentage: { numerator: 100, denominator: 100 } },
        headers: [{ name: 'x-chaos', match: { type: 'exact', value: 'on', ignoreCase: false }, invertMatch: false, treatMissingHeaderAsEmpty: false }],
        upstreamCluster: 'c',
        downstreamNodes: [],
      },
    },
    isOptional: false,
  };
  const h = await harness({ target: 'c', clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]], filters: [fault] });
  try {
    const faulted = await request(URL_, { dispatcher: h.dispatcher, headers: { 'x-chaos': 'on', 'x-envoy-fault-abort-request': '418' } });
    await faulted.body.text();
    assert.equal(faulted.statusCode, 418);
    assert.equal(faulted.headers['x-weft-response-flags'], 'FI');
    const unmatched = await request(URL_, { dispatcher: h.dispatcher, headers: { 'x-envoy-fault-abort-request': '418' } });
    assert.equal(await unmatched.body.text(), 'v1');
    assert.equal(up.seen.length, 1);
  } finally {
    await h.close();
    await up.close();
  }
});
