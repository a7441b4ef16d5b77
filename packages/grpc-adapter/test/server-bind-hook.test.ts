/**
 * The register hook's bind hook on real grpc-js servers: a bind on a served port goes through
 * Weft (the interceptors given for that port run), other ports are grpc-js's own, bind errors
 * reach the application's callback, installing twice wraps once, the meshed server answers
 * grpc.health.v1, and shutting the server down closes the socket Weft bound.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { hookServerBinds, parseBindAddress } from '../src/internal/server-bind-hook.ts';
import { healthServiceDefinition } from '../src/internal/health-service.ts';
import { createEchoClient, echoServiceDefinition, unary } from './support/echo-service.ts';
import type { Echo } from './support/echo-service.ts';
import { freePort } from '../../control-plane/src/demo/free-port.ts';


function echoServer(): grpc.Server {
  const server = new grpc.Server();
  const handler = (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => cb(null, { text: call.request.text });
  server.addService(echoServiceDefinition as unknown as grpc.ServiceDefinition, { Unary: handler, Other: handler, ClientStream: () => {}, ServerStream: () => {}, Bidi: () => {} });
  return server;
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
}

const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition as unknown as grpc.ServiceDefinition, 'Health');

/** `grpc.health.v1.Health/Check` of the whole server: its status, or the gRPC error code. */
function healthOf(port: number): Promise<string | number> {
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
    Check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
    close(): void;
  };
  return new Promise((resolve) => client.Check({ service: '' }, { deadline: Date.now() + 10_000 }, (e, r) => (client.close(), resolve(e ? e.code : (r?.status ?? '')))));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('server bind hook', () => {
  it('parses bind addresses', () => {
    assert.deepEqual(parseBindAddress('0.0.0.0:9090'), { host: '0.0.0.0', port: 9090 });
    assert.deepEqual(parseBindAddress('[::]:9090'), { host: '::', port: 9090 });
    assert.deepEqual(parseBindAddress('dns:localhost:9090'), { host: 'localhost', port: 9090 });
    assert.equal(parseBindAddress('unix:/tmp/sock'), undefined);
    assert.equal(parseBindAddress('127.0.0.1:0'), undefined);
  });

  it('serves a served port through Weft, leaves other ports to grpc-js, surfaces bind errors, wraps once, closes on shutdown', async () => {
    const served = await freePort();
    const seen: string[] = [];
    const interceptor: grpc.ServerInterceptor = (descriptor, call) => {
      seen.push(descriptor.path);
      return new grpc.ServerInterceptingCall(call);
    };
    const policy = { policy: () => undefined, identity: () => undefined, interceptors: [interceptor] };
    hookServerBinds(new Map([[served, policy]]));
    const wrapped = grpc.Server.prototype.bindAsync;
    hookServerBinds(new Map([[served, policy]]));
    assert.equal(grpc.Server.prototype.bindAsync, wrapped, 'installing again does not wrap again');

    const meshed = echoServer();
    assert.equal(await bind(meshed, `127.0.0.1:${served}`), served);
    const other = echoServer();
    const otherPort = await bind(other, '127.0.0.1:0');
    const a = createEchoClient(`127.0.0.1:${served}`);
    const b = createEchoClient(`127.0.0.1:${otherPort}`);
    try {
      assert.equal((await unary(a, { text: 'a' }, { deadlineMs: 10_000 })).text, 'a');
      assert.equal((await unary(b, { text: 'b' }, { deadlineMs: 10_000 })).text, 'b');
      assert.deepEqual(seen, ['/weft.test.Echo/Unary'], 'only the served port ran the mesh interceptor');
      assert.equal(await healthOf(served), 'SERVING', 'the meshed server answers grpc.health.v1 once bound');
      assert.equal(await healthOf(otherPort), grpc.status.UNIMPLEMENTED, 'other servers are left alone');

      const second = echoServer();
      await assert.rejects(bind(second, `127.0.0.1:${served}`), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
      second.forceShutdown();
    } finally {
      a.close();
      b.close();
    }
    await new Promise<void>((resolve) => meshed.tryShutdown(() => resolve()));
    other.forceShutdown();
    assert.equal(await canConnect(served), false, 'the socket Weft bound is closed with the server');
  });
});
