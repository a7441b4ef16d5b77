/**
 * Server-side telemetry of a `node:http2` server (h2c) through the diagnostics channels: the
 * handler runs inside the caller's trace, and `reporter="destination"` metrics are recorded
 * with the caller's identity from its metadata-exchange header.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createMeshTelemetry, createPeerIdentity, encodePeerMetadataHeader } from '@weft/core';
import { startInboundTelemetry } from '@weft/http-adapter';
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
