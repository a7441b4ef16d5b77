import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { LocalRateLimitFilterConfig } from '@weft/xds-client';
import { wrapHttpServer, wrapServersListeningOn } from '../src/index.ts';

function limit(maxTokens: number): LocalRateLimitFilterConfig {
  return {
    statPrefix: 'inbound',
    tokenBucket: { maxTokens, tokensPerFill: maxTokens, fillIntervalMs: 60_000 },
    filterEnabled: { numerator: 100, denominator: 100 },
    filterEnforced: { numerator: 100, denominator: 100 },
    statusCode: 429,
    responseHeadersToAdd: [{ key: 'x-local-rate-limit', value: 'true', appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
    requestHeadersToAddWhenNotEnforced: [],
    localRateLimitPerDownstreamConnection: false,
    enableXRatelimitHeaders: 'OFF',
    rateLimitedAsResourceExhausted: false,
  };
}

test('wrapHttpServer admits exactly max_tokens per window; the application never sees the rejected ones', async () => {
  let seen = 0;
  const server = createServer((_req, res) => {
    seen++;
    res.end('ok');
  });
  const handle = wrapHttpServer(server, { localRateLimit: limit(10) });
  assert.equal(wrapHttpServer(server, {}), handle, 'wrapping twice is a no-op');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const rs = await Promise.all(Array.from({ length: 30 }, () => request(url).then(async (r) => ({ s: r.statusCode, h: r.headers, b: await r.body.text() }))));
    assert.equal(seen, 10);
    const limited = rs.filter((r) => r.s === 429);
    assert.equal(limited.length, 20);
    assert.ok(limited.every((r) => r.h['x-envoy-ratelimited'] === 'true' && r.h['x-local-rate-limit'] === 'true' && r.h['x-weft-response-flags'] === 'RL'));
    handle.unwrap();
    const after = await request(url);
    assert.equal(await after.body.text(), 'ok');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('wrapServersListeningOn wraps the server started on that port through diagnostics_channel, no code change', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const wrapped: unknown[] = [];
  const hook = wrapServersListeningOn(port, { localRateLimit: limit(1) }, (s) => wrapped.push(s));
  const server = createServer((_q, res) => res.end('app'));
  try {
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    assert.deepEqual(wrapped, [server]);
    const a = await request(`http://127.0.0.1:${port}/`);
    assert.equal(await a.body.text(), 'app');
    const b = await request(`http://127.0.0.1:${port}/`);
    await b.body.text();
    assert.equal(b.statusCode, 429);
  } finally {
    hook.dispose();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
