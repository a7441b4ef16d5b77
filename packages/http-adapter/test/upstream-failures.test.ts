/**
 * Final upstream connection failures: a TLS handshake failure of the connector (MeshError `UF`)
 * is a connect failure for `retry_on`, and the caller gets Envoy's 503 with the flag and code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { edsCluster, loadAssignment } from './support.ts';
import { harness, retryPolicy } from './harness.ts';
import { classifyError } from '../src/internal/upstream-errors.ts';

/** A TCP server that answers every connection with plain HTTP bytes (a TLS client fails its handshake). */
async function plainTextServer(): Promise<{ server: Server; addr: string; connections: () => number }> {
  let count = 0;
  const server = createServer((s) => {
    count++;
    s.on('error', () => {});
    s.resume(); // read to EOF so the socket closes when the client hangs up
    s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, addr: `127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => count };
}

const tlsCluster = (name: string) => edsCluster(name, { type: 'roundRobin' }, { tls: { matchSubjectAltNames: [], alpnProtocols: [] } });

test('classifyError: a MeshError flagged UF (TLS connector failure) is a connect failure', () => {
  const err = new MeshError(ErrorCode.upstreamReset, 'TLS handshake with x failed', { responseFlag: 'UF' });
  assert.equal(classifyError(err), 'connect-failure');
  assert.equal(classifyError(new MeshError(ErrorCode.upstreamTimeout, 't', { responseFlag: 'UT', details: { scope: 'route' } })), 'abort');
});

test('TLS handshake failure: retry_on connect-failure retries it, then the caller gets 503 UF with the error code', async () => {
  const up = await plainTextServer();
  const h = await harness({
    target: 'c',
    action: { retryPolicy: retryPolicy(['connect-failure'], 2) },
    clusters: [[tlsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
  });
  try {
    const res = await request('http://reviews:9080/x', { dispatcher: h.dispatcher });
    const body = await res.body.text();
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['x-weft-response-flags'], 'UF');
    assert.equal(res.headers['x-weft-error-code'], 'WEFT_ERR_UPSTREAM_RESET');
    assert.match(body, /handshake/);
    assert.equal(up.connections(), 3, 'one attempt and two retries');
  } finally {
    await h.close();
    await new Promise((r) => up.server.close(r));
  }
});

test('TLS handshake failure in error mode: the caller gets the MeshError (UF) itself', async () => {
  const up = await plainTextServer();
  const h = await harness({
    target: 'c',
    clusters: [[tlsCluster('c'), loadAssignment('c', [{ endpoints: [up.addr] }])]],
    dispatcher: { localReplies: 'error' },
  });
  try {
    await assert.rejects(request('http://reviews:9080/x', { dispatcher: h.dispatcher }), (e: MeshError) => e.code === 'WEFT_ERR_UPSTREAM_RESET' && e.responseFlag === 'UF');
    assert.equal(up.connections(), 1);
  } finally {
    await h.close();
    await new Promise((r) => up.server.close(r));
  }
});
