/**
 * Inbound local replies (RBAC 403, rate limit 429) carry the response flag and the error code,
 * both on the wire and as response headers at `finish` — where server-side telemetry reads them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { compileInboundPolicy } from '@weft/core';
import { wrapHttpServer } from '../src/index.ts';
import { inboundListener } from '../../../test/security/fixtures.ts';

test('inbound RBAC 403 and rate-limit 429 carry x-weft-response-flags and x-weft-error-code, visible to server-side telemetry', async () => {
  const finished: { status: number; flags: unknown; code: unknown }[] = [];
  // The channel server-side telemetry listens on.
  const onFinish = (message: unknown): void => {
    const res = (message as { response: ServerResponse }).response;
    finished.push({ status: res.statusCode, flags: res.getHeader('x-weft-response-flags'), code: res.getHeader('x-weft-error-code') });
  };
  subscribe('http.server.response.finish', onFinish);
  const server = createServer((_req, res) => res.end('app'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const policy = compileInboundPolicy(inboundListener(port, 'DISABLE', [], { rateLimitTokens: 2 }), port);
  wrapHttpServer(server, { policy: () => policy, port });
  const get = async (path: string) => {
    const r = await request(`http://127.0.0.1:${port}${path}`);
    return { s: r.statusCode, flags: r.headers['x-weft-response-flags'], code: r.headers['x-weft-error-code'], body: await r.body.text() };
  };
  try {
    assert.deepEqual(await get('/admin/users'), { s: 403, flags: 'RBAC', code: 'WEFT_ERR_ACCESS_DENIED', body: 'RBAC: access denied' });
    assert.equal((await get('/ok')).body, 'app');
    assert.equal((await get('/ok')).body, 'app');
    const limited = await get('/ok');
    assert.deepEqual([limited.s, limited.flags, limited.code], [429, 'RL', 'WEFT_ERR_RATE_LIMITED']);
    assert.deepEqual(
      finished.map((f) => [f.status, f.flags, f.code]),
      [
        [403, 'RBAC', 'WEFT_ERR_ACCESS_DENIED'],
        [200, undefined, undefined],
        [200, undefined, undefined],
        [429, 'RL', 'WEFT_ERR_RATE_LIMITED'],
      ],
    );
  } finally {
    unsubscribe('http.server.response.finish', onFinish);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
