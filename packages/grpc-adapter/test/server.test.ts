import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { HttpFilter } from '@weft/xds-client';
import { createWeftServer, healthServiceDefinition } from '../src/index.ts';
import type { ServingStatus } from '../src/index.ts';
import { createEchoClient, echoServiceDefinition, unary } from './support/echo-service.ts';
import type { Echo } from './support/echo-service.ts';

const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition as unknown as grpc.ServiceDefinition, 'Health');
interface HealthApi extends grpc.Client {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: ServingStatus }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: ServingStatus }>;
}

function check(client: HealthApi, service = ''): Promise<ServingStatus> {
  return new Promise((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))));
}

function echoImpl() {
  return {
    Unary: (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => cb(null, { text: call.request.text, server: 'meshed' }),
  };
}

describe('meshed gRPC server', () => {
  it('serves grpc.health.v1 reflecting readiness, through listen, setReady and close', async () => {
    const meshed = createWeftServer();
    meshed.server.addService(echoServiceDefinition as unknown as grpc.ServiceDefinition, echoImpl());
    meshed.setServingStatus('weft.test.Echo', 'NOT_SERVING');
    const port = await meshed.listen('127.0.0.1:0');
    const health = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthApi;
    try {
      assert.equal(await check(health), 'SERVING');
      assert.equal(await check(health, 'weft.test.Echo'), 'SERVING');
      await assert.rejects(check(health, 'nope'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      const seen: ServingStatus[] = [];
      const watch = health.Watch({ service: '' });
      const ended = new Promise<void>((resolve) => {
        watch.on('end', resolve);
        watch.on('error', () => resolve());
      });
      await new Promise<void>((resolve) => watch.once('data', (m: { status: ServingStatus }) => (seen.push(m.status), resolve())));
      watch.on('data', (m: { status: ServingStatus }) => seen.push(m.status));
      meshed.setReady(false);
      assert.equal(await check(health), 'NOT_SERVING');
      meshed.setReady(true);
      assert.equal(await check(health), 'SERVING');
      await meshed.close(1000);
      await ended;
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    } finally {
      health.close();
      await meshed.close();
    }
  });

  it('applies inbound rate limits and faults before the handler runs', async () => {
    const rateLimit: HttpFilter = {
      name: 'envoy.filters.http.local_ratelimit',
      isOptional: false,
      config: {
        type: 'localRateLimit',
        localRateLimit: {
          statPrefix: 'inbound',
          tokenBucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 3_600_000 },
          filterEnabled: { numerator: 100, denominator: 100 },
          filterEnforced: { numerator: 100, denominator: 100 },
          statusCode: 429,
          responseHeadersToAdd: [],
          requestHeadersToAddWhenNotEnforced: [],
          localRateLimitPerDownstreamConnection: false,
          enableXRatelimitHeaders: 'OFF',
          rateLimitedAsResourceExhausted: false,
        },
      },
    };
    let handled = 0;
    const meshed = createWeftServer({ inboundFilters: [rateLimit] });
    meshed.server.addService(echoServiceDefinition as unknown as grpc.ServiceDefinition, {
      Unary: (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => {
        handled++;
        cb(null, { text: call.request.text, server: 'meshed' });
      },
    });
    const port = await meshed.listen('127.0.0.1:0');
    const client = createEchoClient(`127.0.0.1:${port}`);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push(await unary(client, { text: String(i) }).then(() => 0, (e: grpc.ServiceError) => e.code));
      assert.deepEqual(codes, [0, 0, 14, 14, 14]);
      assert.equal(handled, 2);
      const abort: HttpFilter = {
        name: 'envoy.filters.http.fault',
        isOptional: false,
        config: { type: 'fault', fault: { abort: { grpcStatus: grpc.status.PERMISSION_DENIED, headerAbort: false, percentage: { numerator: 100, denominator: 100 } }, headers: [], downstreamNodes: [] } },
      };
      meshed.setInboundFilters([abort]);
      await assert.rejects(unary(client, { text: 'x' }), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && /WEFT_ERR_FAULT_ABORT/.test(e.details));
      assert.equal(handled, 2);
    } finally {
      client.close();
      await meshed.close(1000);
    }
  });
});
