/**
 * gRPC telemetry over a real grpc-js server and client on loopback: the server interceptor
 * (server span continuing the caller's trace into the handler, metadata exchange answered,
 * `reporter="destination"` metrics with message counts) and the client telemetry filter (trace
 * and metadata-exchange headers out, `reporter="source"` metrics from the server's answer). The
 * client filter is driven with the real call's metadata and status (the resolver hands it to
 * grpc-js as a dynamic filter once the lead wires telemetry into the resolver).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMeshTelemetry, createPeerIdentity } from '@weft/core';
import type { MeshTelemetry } from '@weft/core';
import { createTelemetryServerInterceptor, telemetryClientFilterFactory } from '@weft/grpc-adapter';
import { parsePrometheus, sampleValue } from './prometheus-text.ts';

const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const definition = {
  Say: { path: '/test.Echo/Say', requestStream: false, responseStream: false, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize },
  Count: { path: '/test.Echo/Count', requestStream: false, responseStream: true, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize },
} as unknown as grpc.ServiceDefinition;

let server: grpc.Server;
let client: grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientUnaryCall & grpc.ClientReadableStream<Buffer>>;
let serverTelemetry: MeshTelemetry;
let clientTelemetry: MeshTelemetry;
const handlerTraceIds: (string | undefined)[] = [];

before(async () => {
  serverTelemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'catalog-v1', namespace: 'shop', labels: { app: 'catalog', version: 'v1' } }) });
  clientTelemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'frontend-v1', namespace: 'shop', labels: { app: 'frontend', version: 'v1' } }) });
  server = new grpc.Server({ interceptors: [createTelemetryServerInterceptor(serverTelemetry)] });
  server.addService(definition, {
    Say(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      handlerTraceIds.push(serverTelemetry.tracer.currentInbound()?.spanContext.traceId);
      cb(null, Buffer.from(`hello ${call.request.toString()}`));
    },
    Count(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      for (let i = 0; i < 3; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Ctor = grpc.makeGenericClientConstructor(definition as unknown as grpc.ServiceDefinition, 'Echo');
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as typeof client;
});

after(() => {
  client?.close();
  server?.forceShutdown();
});

test('unary call: trace continues into the handler, metadata exchange both ways, source and destination metrics', async () => {
  const filter = telemetryClientFilterFactory(clientTelemetry, 'outbound|50051||catalog.shop.svc.cluster.local', '/test.Echo/Say', 'catalog:50051').createFilter();
  const md = await filter.sendMetadata(Promise.resolve(new grpc.Metadata()));
  const traceparent = String(md.get('traceparent')[0]);
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  await filter.sendMessage(Promise.resolve({ message: Buffer.from('bob') }));
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const call = client['Say']!(Buffer.from('bob'), md, (err: grpc.ServiceError | null, res: Buffer) => {
      assert.equal(err, null);
      assert.equal(res.toString(), 'hello bob');
      void filter.receiveMessage(Promise.resolve(res));
    });
    call.on('metadata', (m: grpc.Metadata) => {
      assert.equal(typeof m.get('x-envoy-peer-metadata')[0], 'string', 'the server answered with its own metadata');
      filter.receiveMetadata(m);
    });
    call.on('status', resolve);
  });
  filter.receiveTrailers(status);

  assert.equal(handlerTraceIds[0], traceparent.split('-')[1], 'the handler runs inside the caller’s trace');
  const srv = parsePrometheus(await serverTelemetry.metrics.metrics());
  const inbound = { reporter: 'destination', request_protocol: 'grpc', grpc_response_status: '0', response_code: '200', source_workload: 'frontend-v1', source_app: 'frontend', destination_workload: 'catalog-v1', destination_service: 'catalog.shop.svc.cluster.local' };
  assert.equal(sampleValue(srv, 'istio_requests_total', inbound), 1);
  assert.equal(sampleValue(srv, 'istio_request_messages_total', inbound), 1);
  assert.equal(sampleValue(srv, 'istio_response_messages_total', inbound), 1);
  const cli = parsePrometheus(await clientTelemetry.metrics.metrics());
  const outbound = { reporter: 'source', request_protocol: 'grpc', grpc_response_status: '0', source_workload: 'frontend-v1', destination_workload: 'catalog-v1', destination_app: 'catalog', destination_service_name: 'catalog' };
  assert.equal(sampleValue(cli, 'istio_requests_total', outbound), 1);
  assert.equal(sampleValue(cli, 'istio_request_messages_total', outbound), 1);
  assert.equal(sampleValue(cli, 'istio_response_messages_total', outbound), 1);
  assert.equal(sampleValue(cli, 'istio_response_bytes_sum', outbound), 'hello bob'.length);
  const load = clientTelemetry.loadStats.collect();
  assert.equal(load[0]?.localities[0]?.successful, 1);
});

test('server streaming: response messages are counted per stream; an unknown caller is labelled unknown', async () => {
  await new Promise<void>((resolve, reject) => {
    const stream = client['Count']!(Buffer.from(''));
    stream.on('data', () => undefined);
    stream.on('error', reject);
    stream.on('status', () => resolve());
  });
  const srv = parsePrometheus(await serverTelemetry.metrics.metrics());
  const streamed = { reporter: 'destination', request_protocol: 'grpc', source_workload: 'unknown', grpc_response_status: '0' };
  assert.equal(sampleValue(srv, 'istio_requests_total', streamed), 1);
  assert.equal(sampleValue(srv, 'istio_response_messages_total', streamed), 3);
});
