/**
 * gRPC mTLS, PeerAuthentication and AuthorizationPolicy with grpc-js on loopback: a meshed
 * server (`createWeftServer` with mesh security: connection injector, STRICT/PERMISSIVE, RBAC
 * interceptor) and clients with Weft's channel credentials (per-subchannel ISTIO_MUTUAL).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { compileInboundPolicy, compileUpstreamTls, createCertificateProviders, spiffeUrisOf, type InboundPolicy, type WorkloadIdentity } from '@weft/core';
import type { MeshError } from '@weft/xds-client';
import { createWeftServer, type WeftServer } from '../../packages/grpc-adapter/src/internal/server-wrapper.ts';
import { createWeftChannelCredentials, UPSTREAM_TLS_OPTION } from '../../packages/grpc-adapter/src/internal/mesh-credentials.ts';
import { createStaticXdsConfigSource, registerWeftGrpc, weftChannelOptions } from '../../packages/grpc-adapter/src/index.ts';
import { match, meshConfig, route } from '../../packages/grpc-adapter/test/support/mesh-fixture.ts';
import { identityFor, inboundListener, mtlsCluster, spiffe, testCa } from './fixtures.ts';

registerWeftGrpc({ isXdsSchemeClaimed: false });

const PRODUCTPAGE = spiffe('shop', 'productpage');
const REVIEWS = spiffe('shop', 'reviews');

const raw = (b: Buffer): Buffer => b;
const SAY: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/test.Echo/Say',
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
};

let t: ReturnType<typeof testCa>;
let weft: WeftServer;
let port: number;
let policy: InboundPolicy | undefined;
let reviews: WorkloadIdentity;
let productpage: WorkloadIdentity;
let mallory: WorkloadIdentity;
const errors: MeshError[] = [];
const clients: grpc.Client[] = [];

before(async () => {
  t = testCa();
  [reviews, productpage, mallory] = await Promise.all([identityFor(t, 'shop', 'reviews'), identityFor(t, 'shop', 'productpage'), identityFor(t, 'evil', 'mallory')]);
  weft = createWeftServer({ security: { policy: () => policy, identity: () => reviews, onError: (e) => errors.push(e) }, isHealthServiceEnabled: false });
  weft.server.addService({ Say: SAY } as grpc.ServiceDefinition, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const cert = call.getAuthContext().sslPeerCertificate;
      cb(null, Buffer.from(cert ? spiffeUrisOf(cert)[0] ?? 'no-spiffe' : 'plaintext'));
    },
  });
  port = await weft.listen('127.0.0.1:0');
});

after(async () => {
  for (const c of clients) c.close();
  await weft?.close(500);
  for (const i of [reviews, productpage, mallory]) i?.close();
  t?.dispose();
});

function plainClient(): grpc.Client {
  // A connection of its own: earlier tests' plaintext connections are not reused.
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  return c;
}

function mtlsClient(identity: WorkloadIdentity): grpc.Client {
  const providers = createCertificateProviders({ identity: () => identity });
  const requirement = compileUpstreamTls(mtlsCluster('outbound|9080||reviews.shop.svc.cluster.local', [REVIEWS]), providers).forEndpoint(undefined);
  const c = new grpc.Client(`127.0.0.1:${port}`, createWeftChannelCredentials({ certificateProviders: providers }), { [UPSTREAM_TLS_OPTION]: requirement, 'grpc.use_local_subchannel_pool': 1 } as grpc.ChannelOptions);
  clients.push(c);
  return c;
}

function say(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(SAY.path, raw, raw, Buffer.from('hi'), { deadline: Date.now() + 10_000 }, (err, value) => (err ? reject(err) : resolve(value!.toString())));
  });
}

test('no policy: a plaintext grpc-js client is served', async () => {
  policy = undefined;
  assert.equal(await say(plainClient()), 'plaintext');
});

test('STRICT: the ISTIO_MUTUAL call works and the server sees the SPIFFE ID; a plaintext client is refused', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE], { method: 'POST' }), port);
  assert.equal(await say(mtlsClient(productpage)), PRODUCTPAGE);
  await assert.rejects(say(plainClient()), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
  assert.ok(errors.some((e) => e.code === 'WEFT_ERR_MTLS_REQUIRED'));
});

test('AuthorizationPolicy: another principal gets PERMISSION_DENIED', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE], { method: 'POST' }), port);
  await assert.rejects(say(mtlsClient(mallory)), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && e.details === 'RBAC: access denied');
  assert.ok(errors.some((e) => e.code === 'WEFT_ERR_ACCESS_DENIED'));
});

test('PERMISSIVE: plaintext and mTLS clients on the same port', async () => {
  // Plaintext peers are allowed here by an unauthenticated-principal rule (sniffed plaintext gRPC connections carry no peer IP).
  policy = compileInboundPolicy(inboundListener(port, 'PERMISSIVE', [PRODUCTPAGE], { method: 'POST', allowUnauthenticated: true }), port);
  assert.equal(await say(plainClient()), 'plaintext');
  assert.equal(await say(mtlsClient(productpage)), PRODUCTPAGE);
});

test('a plaintext connection opened before the port went STRICT gets UNAVAILABLE, not a served call', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'PERMISSIVE', [PRODUCTPAGE], { method: 'POST', allowUnauthenticated: true }), port);
  const client = plainClient();
  assert.equal(await say(client), 'plaintext');
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE], { method: 'POST' }), port);
  await assert.rejects(say(client), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
});

test('through the Weft resolver and load balancer: an ISTIO_MUTUAL cluster gets mTLS on its subchannels', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE], { method: 'POST' }), port);
  const name = 'outbound|9080||reviews.shop.svc.cluster.local';
  const config = meshConfig({ listenerName: 'reviews.shop.svc.cluster.local:9080', routes: [route(match(''), name)], clusters: { [name]: { endpoints: [`127.0.0.1:${port}`], cluster: { tls: mtlsCluster(name, [REVIEWS]).tls } } } });
  const credentials = createWeftChannelCredentials({ certificateProviders: createCertificateProviders({ identity: () => productpage }) });
  const client = new grpc.Client(`weft:///${config.listenerName}`, credentials, weftChannelOptions({ source: createStaticXdsConfigSource([config]), initialResolutionTimeoutMs: 5000 }));
  clients.push(client);
  assert.equal(await say(client), PRODUCTPAGE);
  const plaintextCluster = meshConfig({ listenerName: 'reviews.shop.svc.cluster.local:9080', routes: [route(match(''), name)], clusters: { [name]: { endpoints: [`127.0.0.1:${port}`] } } });
  const plain = new grpc.Client(`weft:///${config.listenerName}`, credentials, { ...weftChannelOptions({ source: createStaticXdsConfigSource([plaintextCluster]), initialResolutionTimeoutMs: 5000 }), 'grpc.use_local_subchannel_pool': 1 });
  clients.push(plain);
  await assert.rejects(say(plain), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE, 'a cluster without TLS reaches the STRICT port in plaintext and is refused');
});
