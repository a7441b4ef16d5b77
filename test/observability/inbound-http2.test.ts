/**
 * Server-side telemetry of a `node:http2` server (h2c) through the diagnostics channels: the
 * handler runs inside the caller's trace, `reporter="destination"` metrics are recorded with the
 * caller's identity from its metadata-exchange header, and the caller gets this workload's own
 * peer metadata back in the response HEADERS frame (as from Envoy's inbound sidecar).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createMeshTelemetry, createPeerIdentity, decodePeerMetadataHeader, encodePeerMetadataHeader } from '@weft/core';
import { createMeshDispatcher, startInboundTelemetry } from '@weft/http-adapter';
import { DOMAINS, LISTENER } from '../../packages/http-adapter/test/harness.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from '../../packages/http-adapter/test/support.ts';
import { parsePrometheus, sampleValue } from './prometheus-text.ts';

test('h2c server: span continues the caller’s trace into the handler; destination metrics with the caller’s identity', async () => {
  const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'details-v1', namespace: 'shop', labels: { app: 'details', version: 'v1' } }) });
  const caller = createPeerIdentity({ workload: 'productpage-v1', namespace: 'shop', labels: { app: 'productpage' } });
  const seenTraceIds: (string | undefined)[] = [];
  const server = createServer((_req, res) => {
    setImmediate(() => {
      seenTraceIds.push(telemetry.tracer.currentInbound()?.spanContext.traceId);
      res.setHeader('content-length', '7');
      res.end('details');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const handle = startInboundTelemetry(telemetry, { ports: [port] });
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': '/details/1', traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-envoy-peer-metadata': encodePeerMetadataHeader(caller) });
      req.on('error', reject);
      req.resume();
      req.on('end', () => resolve());
      req.end();
    });
    assert.deepEqual(seenTraceIds, [traceId]);
    const match = { reporter: 'destination', request_protocol: 'http', response_code: '200', source_workload: 'productpage-v1', source_app: 'productpage', destination_workload: 'details-v1', destination_service: 'details.shop.svc.cluster.local' };
    // The stream's finish event may follow the client's end of stream by a turn: poll (bounded).
    let samples = parsePrometheus(await telemetry.metrics.metrics());
    for (let i = 0; i < 500 && sampleValue(samples, 'istio_requests_total', match) === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      samples = parsePrometheus(await telemetry.metrics.metrics());
    }
    assert.equal(sampleValue(samples, 'istio_requests_total', match), 1);
    assert.equal(sampleValue(samples, 'istio_response_bytes_sum', match), 7);
  } finally {
    handle.stop();
    session.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('h2c server answers the metadata exchange in its response HEADERS; a meshed client and the server label each other', async () => {
  const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'details-v1', namespace: 'shop', labels: { app: 'details', version: 'v1' } }), nodeId: 'sidecar~127.0.0.1~details-v1-1.shop~shop.svc.cluster.local' });
  const server = createServer();
  // Both server APIs: the compatibility API (request/response) and the core API (stream.respond).
  server.on('request', (req, res) => {
    if (req.url === '/core') return; // answered on the stream below
    if (req.url === '/own') res.setHeader('x-envoy-peer-metadata-id', 'kept');
    res.end('details');
  });
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/core') return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('core');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const handle = startInboundTelemetry(telemetry, { ports: [port] });
  const raw = connect(`http://127.0.0.1:${port}`);
  const client = createMeshTelemetry({ local: createPeerIdentity({ workload: 'productpage-v1', namespace: 'shop', labels: { app: 'productpage', version: 'v1' } }) });
  try {
    const caller = createPeerIdentity({ workload: 'reviews-v2', namespace: 'shop', labels: { app: 'reviews' } });
    const responseHeaders = (path: string, withMetadata: boolean): Promise<IncomingHttpHeaders> =>
      new Promise((resolve, reject) => {
        const req = raw.request({ ':path': path, ...(withMetadata ? { 'x-envoy-peer-metadata': encodePeerMetadataHeader(caller), 'x-envoy-peer-metadata-id': 'sidecar~127.0.0.1~reviews-v2-1.shop~shop.svc.cluster.local' } : {}) });
        req.on('error', reject);
        req.on('response', (h) => resolve(h));
        req.resume();
        req.end();
      });
    for (const path of ['/compat', '/core']) {
      const h = await responseHeaders(path, true);
      assert.equal(h[':status'], 200, path);
      assert.equal(decodePeerMetadataHeader(String(h['x-envoy-peer-metadata'])).workload, 'details-v1', path);
      assert.equal(h['x-envoy-peer-metadata-id'], 'sidecar~127.0.0.1~details-v1-1.shop~shop.svc.cluster.local', path);
    }
    const plain = await responseHeaders('/compat', false);
    assert.equal(plain['x-envoy-peer-metadata'], undefined, 'a caller that sent no metadata gets none');
    assert.equal((await responseHeaders('/own', true))['x-envoy-peer-metadata-id'], 'kept', 'a header the handler set wins');

    // A real meshed client (core Mesh + http-adapter dispatcher with telemetry) whose cluster
    // speaks HTTP/2: prior-knowledge h2c, x-envoy-peer-metadata on every request.
    const xds = new FakeXds();
    xds.set(
      xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('details'))])]), [
        [edsCluster('details', { type: 'roundRobin' }, { upstreamProtocol: 'http2' }), loadAssignment('details', [{ endpoints: [`127.0.0.1:${port}`] }])],
      ]),
    );
    const meshed = await createTestMesh(xds);
    const dispatcher = createMeshDispatcher({ mesh: meshed, telemetry: client });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch('http://reviews:9080/details/1', { dispatcher } as RequestInit);
        assert.equal(await res.text(), 'details');
      }
    } finally {
      await dispatcher.close();
      await meshed.close();
    }
    const destination = { reporter: 'destination', request_protocol: 'http', response_code: '200', source_workload: 'productpage-v1', source_app: 'productpage', source_workload_namespace: 'shop', destination_workload: 'details-v1' };
    const source = { reporter: 'source', response_code: '200', source_workload: 'productpage-v1', destination_workload: 'details-v1', destination_app: 'details', destination_workload_namespace: 'shop' };
    let samples = parsePrometheus(await telemetry.metrics.metrics());
    for (let i = 0; i < 500 && sampleValue(samples, 'istio_requests_total', destination) < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      samples = parsePrometheus(await telemetry.metrics.metrics());
    }
    assert.equal(sampleValue(samples, 'istio_requests_total', destination), 3, 'the server labels the meshed caller');
    assert.equal(sampleValue(parsePrometheus(await client.metrics.metrics()), 'istio_requests_total', source), 3, 'the client labels the server from the metadata in its response HEADERS');
  } finally {
    handle.stop();
    raw.close();
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
