import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createAccessLog } from './access-log.ts';
import type { AccessLogEntry } from './access-log.ts';
import { createMeshMetrics, destinationServiceOf } from './istio-metrics.ts';
import { createMeshTracer } from './mesh-tracer.ts';
import { decodePeerMetadataHeader, decodeStruct, encodePeerMetadataHeader, encodeStruct, PEER_METADATA_HEADER } from './peer-metadata.ts';
import { extractTraceContext, parseTraceparent } from './trace-context.ts';
import { createPeerIdentity, peerFromEndpointMetadata, UNKNOWN_PEER } from './workload-identity-labels.ts';
import { isLoadError } from './load-stats-store.ts';
import { samplingPercentOfListener } from './listener-sampling.ts';

const reviews = createPeerIdentity({ workload: 'reviews-v2', namespace: 'shop', serviceAccount: 'reviews', labels: { app: 'reviews', version: 'v2' }, cluster: 'Kubernetes' });

test('x-envoy-peer-metadata round-trips through the protobuf Struct encoding; bad input is an unknown peer', () => {
  const header = encodePeerMetadataHeader(reviews);
  const peer = decodePeerMetadataHeader(header);
  assert.equal(peer.workload, 'reviews-v2');
  assert.equal(peer.namespace, 'shop');
  assert.equal(peer.app, 'reviews');
  assert.equal(peer.version, 'v2');
  assert.equal(peer.canonicalRevision, 'v2');
  assert.equal(peer.cluster, 'Kubernetes');
  assert.equal(peer.principal, 'unknown', 'a header never proves a principal');
  // only what istio-proxy reads into the peer's labels goes out on every request
  assert.deepEqual(Object.keys(decodeStruct(Buffer.from(header, 'base64'))).sort(), ['CLUSTER_ID', 'LABELS', 'NAMESPACE', 'WORKLOAD_NAME']);
  // an Envoy sidecar's Struct: the instance NAME stands in when WORKLOAD_NAME is missing
  const envoy = Buffer.from(encodeStruct({ NAME: 'ratings-v1-5d8f', NAMESPACE: 'shop', MESH_ID: 'cluster.local', LABELS: { app: 'ratings' } })).toString('base64');
  assert.deepEqual([decodePeerMetadataHeader(envoy).workload, decodePeerMetadataHeader(envoy).app], ['ratings-v1-5d8f', 'ratings']);
  assert.equal(decodePeerMetadataHeader('%%%not base64'), UNKNOWN_PEER);
  assert.equal(decodePeerMetadataHeader(Buffer.from([0x0a, 0xff, 0xff]).toString('base64')), UNKNOWN_PEER);
  assert.equal(PEER_METADATA_HEADER, 'x-envoy-peer-metadata');
});

test('EDS endpoint metadata (filter_metadata.istio) gives the destination labels', () => {
  const p = peerFromEndpointMetadata({ istio: { workload: 'ratings-1;shop;ratings', namespace: 'shop', labels: { app: 'ratings', version: 'v1' } } });
  assert.deepEqual([p.workload, p.namespace, p.app, p.version, p.canonicalService, p.principal], ['ratings-1', 'shop', 'ratings', 'v1', 'ratings', 'unknown']);
  assert.equal(peerFromEndpointMetadata({}), UNKNOWN_PEER);
  assert.deepEqual(destinationServiceOf('outbound|9080|v1|reviews.shop.svc.cluster.local'), { host: 'reviews.shop.svc.cluster.local', name: 'reviews', namespace: 'shop' });
});

test('traceparent and B3 (single and multi) are read; malformed values start a new trace', () => {
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  assert.deepEqual(parseTraceparent(tp), { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', isSampled: true, traceState: undefined });
  assert.equal(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined);
  assert.equal(parseTraceparent('00-xyz-b7ad6b7169203331-01'), undefined);
  const h = (m: Record<string, string>) => (k: string) => m[k];
  assert.deepEqual(extractTraceContext(h({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' })), { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', isSampled: true });
  const multi = extractTraceContext(h({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': '0' }));
  assert.deepEqual(multi, { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', isSampled: false });
  assert.equal(extractTraceContext(h({})), undefined);
});

test('without an SDK every client span still has a traceparent; new traces are sampled at the rate, children inherit', async () => {
  let r = 0.5;
  const tracer = createMeshTracer({ samplingPercent: 1, random: () => r });
  const unsampled = tracer.startClientSpan('GET', {});
  assert.match(unsampled.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  r = 0.001;
  assert.match(tracer.startClientSpan('GET', {}).traceparent, /-01$/, '0.1 < 1 %: sampled');
  // An inbound request's context is the parent of what its handler sends.
  const parent = parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  r = 0.99;
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const server = tracer.startServerSpan('GET', {}, parent);
      assert.equal(server.traceId, '0af7651916cd43dd8448eb211c80319c');
      assert.notEqual(server.spanId, 'b7ad6b7169203331');
      tracer.enterInbound(server, 'user=alice');
      setTimeout(() => {
        const child = tracer.startClientSpan('GET', {});
        assert.equal(child.traceId, server.traceId);
        assert.ok(child.isSampled, 'the sampled flag is inherited, not redrawn');
        assert.equal(child.baggage, 'user=alice');
        resolve();
      }, 1);
    }),
  );
  assert.equal(tracer.currentInbound(), undefined, 'the inbound context does not leak outside the request');
});

test('metric series are capped: past maxSeries, new label sets aggregate into unknown and memory stays bounded', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const metrics = createMeshMetrics({ maxSeries: 500 });
  const local = createPeerIdentity({ workload: 'client', namespace: 'shop', labels: { app: 'client' } });
  const svc = destinationServiceOf('reviews.shop.svc.cluster.local');
  const sample = (i: number) => ({
    reporter: 'source' as const,
    source: local,
    destination: createPeerIdentity({ workload: `w-${i}`, namespace: 'shop', labels: { app: `a-${i}` } }),
    service: svc,
    protocol: 'http' as const,
    responseCode: 200,
    grpcStatus: '',
    responseFlags: '-',
    securityPolicy: 'unknown' as const,
    durationMs: 3,
    requestBytes: 10,
    responseBytes: 100,
  });
  for (let i = 0; i < 20_000; i++) metrics.record(sample(i));
  gc();
  const heapAfter20k = process.memoryUsage().heapUsed;
  for (let i = 20_000; i < 220_000; i++) metrics.record(sample(i));
  gc();
  const growthMb = (process.memoryUsage().heapUsed - heapAfter20k) / 1e6;
  assert.ok(metrics.seriesCount <= 501, `series ${metrics.seriesCount}`);
  assert.equal(metrics.overflowedSamples, 219_500);
  assert.ok(growthMb < 5, `heap grew ${growthMb.toFixed(1)} MB over 200,000 distinct identities`);
});

test('access log: buffered JSON lines, flushed off the request path; a stalled sink drops lines instead of growing', async () => {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = createAccessLog({ target: sink });
  const entry = { start_time: new Date(0).toISOString(), method: 'GET', path: '/x', response_code: 200 } as AccessLogEntry;
  log.write(entry);
  log.write(entry);
  assert.equal(chunks.length, 0, 'nothing written synchronously');
  await new Promise((r) => setImmediate(r));
  assert.equal(chunks.join('').trim().split('\n').length, 2);
  assert.equal(JSON.parse(chunks.join('').split('\n')[0]!).path, '/x');
  const stalled = new Writable({ highWaterMark: 1, write() {} });
  const slow = createAccessLog({ target: stalled, maxPendingBytes: 1000 });
  for (let i = 0; i < 100; i++) {
    slow.write(entry);
    slow.flush();
  }
  assert.ok(slow.droppedLines > 80, `dropped ${slow.droppedLines}`);
});

test('LRS error classification follows Envoy', () => {
  assert.equal(isLoadError(503), true);
  assert.equal(isLoadError(404), false);
  assert.equal(isLoadError(0), true);
  assert.equal(isLoadError(200, 14), true);
  assert.equal(isLoadError(200, 5), false);
});

test('the sampling rate is read from the listener HCM tracing config when present', () => {
  assert.equal(samplingPercentOfListener({ httpConnectionManager: { tracing: { randomSamplingPercent: 25 } } }), 25);
  assert.equal(samplingPercentOfListener({ httpConnectionManager: {} }), undefined);
  assert.equal(samplingPercentOfListener({ httpConnectionManager: { tracing: { randomSamplingPercent: 150 } } }), undefined);
  assert.equal(samplingPercentOfListener(undefined), undefined);
});
