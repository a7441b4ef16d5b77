/**
 * Envoy's per_try_timeout on grpc-js calls, against a real grpc-js server that logs each
 * attempt's start and cancellation: a timed-out attempt is cancelled (the server sees it) before
 * the next one starts — retry, not hedging — and the call ends DEADLINE_EXCEEDED with
 * `WEFT_ERR_UPSTREAM_TIMEOUT (UT)` once no attempt remains.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoServiceDefinition, unary, waitReady } from './support/echo-service.ts';
import type { Echo } from './support/echo-service.ts';
import { meshClient } from './support/harness.ts';
import { match, meshConfig, retryPolicy, route } from './support/mesh-fixture.ts';

const LISTENER = 'slow.default.svc.cluster.local:50051';


describe('per-try timeout (Envoy per_try_timeout)', () => {
  let server: grpc.Server;
  let address: string;
  /** Attempts answered only from this attempt number on (0-based); earlier ones hang. */
  let answerFrom = Infinity;
  let events: string[] = [];
  before(async () => {
    server = new grpc.Server();
    const unaryHandler = (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => {
      const attempt = Number(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? 0);
      events.push(`start ${attempt}`);
      call.on('cancelled', () => events.push(`cancelled ${attempt}`));
      if (attempt >= answerFrom) cb(null, { text: call.request.text, attempt });
      // else: never answers; only the client's per-try timeout ends this attempt
    };
    server.addService(echoServiceDefinition as unknown as grpc.ServiceDefinition, { Unary: unaryHandler, Other: unaryHandler, ClientStream: () => {}, ServerStream: () => {}, Bidi: () => {} });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());

  const client = (numRetries: number, perTryTimeoutMs: number) =>
    meshClient(meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'slow', { retryPolicy: retryPolicy(['unavailable'], numRetries, { perTryTimeoutMs }) })], clusters: { slow: { endpoints: [address] } } })).client;

  /** Waits until the server has logged `count` events (cancellations arrive asynchronously). */
  async function serverEvents(count: number): Promise<string[]> {
    for (let i = 0; i < 200 && events.length < count; i++) await new Promise((r) => setTimeout(r, 25));
    return events;
  }

  it('cancels the timed-out attempt, then retries it; the retry that answers wins', async () => {
    events = [];
    answerFrom = 1;
    const c = client(2, 200);
    try {
      await waitReady(c);
      const res = await unary(c, { text: 'x' }, { deadlineMs: 20_000 });
      assert.equal(res.attempt, 1, 'the second attempt answered');
      // (grpc-js servers also emit 'cancelled' when a finished call's stream closes, so only the order up to the retry counts.)
      assert.deepEqual((await serverEvents(3)).slice(0, 3), ['start 0', 'cancelled 0', 'start 1'], 'the first attempt was cancelled before the retry started (no hedging)');
    } finally {
      c.close();
    }
  });

  it('after the last attempt times out the call ends DEADLINE_EXCEEDED (UT); every attempt was cancelled', async () => {
    events = [];
    answerFrom = Infinity;
    const c = client(2, 150);
    try {
      await waitReady(c);
      const err = await unary(c, { text: 'y' }, { deadlineMs: 20_000 }).then(
        () => assert.fail('the call should fail'),
        (e: grpc.ServiceError) => e,
      );
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(err.details, /WEFT_ERR_UPSTREAM_TIMEOUT \(UT\): per-try timeout/);
      assert.deepEqual(await serverEvents(6), ['start 0', 'cancelled 0', 'start 1', 'cancelled 1', 'start 2', 'cancelled 2'], 'num_retries 2 → 3 attempts, each cancelled before the next');
    } finally {
      c.close();
    }
  });

  it('the route timeout still bounds all attempts together', async () => {
    events = [];
    answerFrom = Infinity;
    const c = client(4, 10_000);
    try {
      await waitReady(c);
      const code = await unary(c, { text: 'z' }, { deadlineMs: 300 }).then(
        () => grpc.status.OK,
        (e: grpc.ServiceError) => e.code,
      );
      assert.equal(code, grpc.status.DEADLINE_EXCEEDED);
      assert.deepEqual((await serverEvents(2)).filter((e) => e.startsWith('start')), ['start 0'], 'the call deadline is not retried');
    } finally {
      c.close();
    }
  });
});
