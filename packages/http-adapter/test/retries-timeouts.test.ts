import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { edsCluster, loadAssignment, startUpstream } from './support.ts';
import { harness, retryPolicy } from './harness.ts';

const URL_ = 'http://reviews:9080/x';

async function statusOf(h: Awaited<ReturnType<typeof harness>>, init: Parameters<typeof request>[1] = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await request(URL_, { dispatcher: h.dispatcher, ...init });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const cases: { retryOn: string[]; status: number; expectedAttempts: number; codes?: number[] }[] = [
  { retryOn: ['5xx'], status: 503, expectedAttempts: 4 },
  { retryOn: ['5xx'], status: 500, expectedAttempts: 4 },
  { retryOn: ['gateway-error'], status: 500, expectedAttempts: 1 },
  { retryOn: ['gateway-error'], status: 502, expectedAttempts: 4 },
  { retryOn: ['connect-failure'], status: 503, expectedAttempts: 1 },
  { retryOn: ['retriable-4xx'], status: 409, expectedAttempts: 4 },
  { retryOn: ['retriable-status-codes'], status: 418, expectedAttempts: 4, codes: [418] },
  { retryOn: ['retriable-status-codes'], status: 503, expectedAttempts: 1, codes: [418] },
  { retryOn: ['retriable-status-codes'], status: 201, expectedAttempts: 4, codes: [201] },
  { retryOn: ['retriable-status-codes'], status: 200, expectedAttempts: 1, codes: [503] },
];

for (const c of cases) {
  test(`retry_on ${c.retryOn.join(',')} with upstream ${c.status}: exactly ${c.expectedAttempts} attempt(s) upstream`, async () => {
    const up = await startUpstream('v1', (_req, res) => {
      res.statusCode = c.status;
      res.end('no');
    });
    const h = await harness({
      target: 'c',
      action: { retryPolicy: retryPolicy(c.retryOn, 3, { retriableStatusCodes: c.codes ?? [] }) },
      clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
    });
    try {
      const r = await statusOf(h);
      assert.equal(r.status, c.status);
      assert.equal(up.seen.length, c.expectedAttempts);
      assert.deepEqual(
        up.seen.map((s) => s.headers['x-envoy-attempt-count']),
        Array.from({ length: c.expectedAttempts }, (_, i) => String(i + 1)),
      );
      if (c.expectedAttempts > 1) assert.equal(r.headers['x-weft-response-flags'], 'URX');
    } finally {
      await h.close();
      await up.close();
    }
  });
}

test('a retry succeeds on a different host (previous_hosts predicate); the caller sees only the success', async () => {
  const bad = await startUpstream('bad', (_r, res) => {
    res.statusCode = 503;
    res.end();
  });
  const good = await startUpstream('good');
  const h = await harness({
    target: 'c',
    action: {
      retryPolicy: retryPolicy(['5xx'], 2, { retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 5 }),
    },
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [bad.addr, good.addr] }])]],
  });
  try {
    for (let i = 0; i < 20; i++) {
      const r = await statusOf(h);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'good');
    }
    assert.ok(bad.seen.length >= 1 && good.seen.length === 20);
    // every retry went elsewhere: no request hit "bad" twice in a row for the same caller request
    assert.ok(bad.seen.every((s) => s.headers['x-envoy-attempt-count'] === '1'));
  } finally {
    await h.close();
    await Promise.all([bad.close(), good.close()]);
  }
});

test('buffered bodies are replayed; a streaming body is never retried', async () => {
  const up = await startUpstream('v1', (_r, res) => {
    res.statusCode = 503;
    res.end();
  });
  const h = await harness({ target: 'c', action: { retryPolicy: retryPolicy(['5xx'], 2) }, clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]] });
  try {
    await statusOf(h, { method: 'POST', body: 'hello' });
    assert.deepEqual(up.seen.map((s) => s.body), ['hello', 'hello', 'hello']);
    up.seen.length = 0;
    const r = await statusOf(h, { method: 'POST', body: Readable.from([Buffer.from('once')]) });
    assert.equal(r.status, 503);
    assert.deepEqual(up.seen.map((s) => s.body), ['once']);
  } finally {
    await h.close();
    await up.close();
  }
});

test('route timeout answers 504 UT for a hanging upstream; per-try timeouts are retried', async () => {
  const up = await startUpstream('v1', () => {
    /* never answers */
  });
  const h = await harness({ target: 'c', action: { timeoutMs: 150 }, clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]] });
  try {
    const r = await statusOf(h);
    assert.equal(r.status, 504);
    assert.equal(r.headers['x-weft-response-flags'], 'UT');
    assert.equal(r.headers['x-weft-error-code'], 'WEFT_ERR_UPSTREAM_TIMEOUT');
  } finally {
    await h.close();
  }
  const h2 = await harness({
    target: 'c',
    action: { timeoutMs: 5000, retryPolicy: retryPolicy(['5xx'], 2, { perTryTimeoutMs: 80 }) },
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
  });
  try {
    up.seen.length = 0;
    const r = await statusOf(h2);
    assert.equal(r.status, 504);
    assert.equal(up.seen.length, 3, 'one attempt plus two retries, each cut by the per-try timeout');
  } finally {
    await h2.close();
    await up.close();
  }
});

test('in error mode a timeout rejects with MeshError UT; a caller abort rejects with the caller reason', async () => {
  const up = await startUpstream('v1', () => {});
  const h = await harness({
    target: 'c',
    action: { timeoutMs: 100 },
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
    dispatcher: { localReplies: 'error' },
  });
  try {
    await assert.rejects(request(URL_, { dispatcher: h.dispatcher }), (e: { code?: string; responseFlag?: string }) => e.code === 'WEFT_ERR_UPSTREAM_TIMEOUT' && e.responseFlag === 'UT');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('caller gave up')), 20).unref();
    await assert.rejects(request(URL_, { dispatcher: h.dispatcher, signal: ac.signal }), (e: Error) => e.message === 'caller gave up' || e.name === 'AbortError');
  } finally {
    await h.close();
    await up.close();
  }
});

test('connection refused: connect-failure retries, then MeshError UF/URX; reset mid-body reaches the caller as an error', async () => {
  const gone = await startUpstream('gone');
  const addr = gone.addr;
  await gone.close();
  const h = await harness({
    target: 'c',
    action: { retryPolicy: retryPolicy(['connect-failure'], 2) },
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [addr] }])]],
  });
  try {
    await assert.rejects(request(URL_, { dispatcher: h.dispatcher }), (e: { code?: string; responseFlag?: string }) => e.code === 'WEFT_ERR_UPSTREAM_RESET' && e.responseFlag === 'URX');
  } finally {
    await h.close();
  }
  const resetter = await startUpstream('r', (_r, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 10);
  });
  const h2 = await harness({
    target: 'c',
    action: { retryPolicy: retryPolicy(['5xx', 'reset'], 2) },
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [resetter.addr] }])]],
  });
  try {
    const res = await request(URL_, { dispatcher: h2.dispatcher });
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
    assert.equal(resetter.seen.length, 1, 'a response already shown to the caller is never retried');
  } finally {
    await h2.close();
    await resetter.close();
  }
});

test('reset before any response: retry_on reset retries exactly num_retries times; no unhandled rejection anywhere', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  const up = await startUpstream('r', (_r, res) => res.socket?.destroy());
  const h = await harness({ target: 'c', action: { retryPolicy: retryPolicy(['reset'], 2) }, clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]] });
  try {
    await assert.rejects(request(URL_, { dispatcher: h.dispatcher }), (e: { code?: string; responseFlag?: string }) => e.code === 'WEFT_ERR_UPSTREAM_RESET' && e.responseFlag === 'URX');
    assert.equal(up.seen.length, 3);
    await assert.rejects(fetch(URL_, { dispatcher: h.dispatcher } as RequestInit), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'WEFT_ERR_UPSTREAM_RESET');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
    await up.close();
  }
});

test("Istio's default retry policy applies when the route has none: a 503 is tried 3 times, a 500 once", async () => {
  let status = 503;
  const up = await startUpstream('v1', (_r, res) => {
    res.statusCode = status;
    res.end();
  });
  const h = await harness({
    target: 'c',
    clusters: [[edsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
    dispatcher: { defaultRetryPolicy: undefined },
  });
  try {
    assert.equal((await statusOf(h)).status, 503);
    assert.equal(up.seen.length, 3);
    status = 500;
    up.seen.length = 0;
    assert.equal((await statusOf(h)).status, 500);
    assert.equal(up.seen.length, 1);
  } finally {
    await h.close();
    await up.close();
  }
});
