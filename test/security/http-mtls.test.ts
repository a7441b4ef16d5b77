/**
 * HTTP mTLS, PeerAuthentication and AuthorizationPolicy in the SDK, with real sockets on
 * loopback: a plain `http.createServer` wrapped by the inbound policy (TLS termination by
 * ClientHello sniffing, RBAC, rate limit) and undici pools connecting through the mesh TLS
 * connector, with certificates issued by the control plane's CA.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Client, Pool } from 'undici';
import { compileInboundPolicy, compileUpstreamTls, createCertificateProviders, type InboundPolicy, type WorkloadIdentity } from '@weft/core';
import type { MeshError } from '@weft/xds-client';
import { wrapHttpServer } from '../../packages/http-adapter/src/inbound/wrap-http-server.ts';
import { peerPrincipalOf } from '../../packages/http-adapter/src/inbound/tls-termination.ts';
import { createTlsConnector } from '../../packages/http-adapter/src/internal/tls-connector.ts';
import { identityFor, inboundListener, mtlsCluster, spiffe, testCa } from './fixtures.ts';

const PRODUCTPAGE = spiffe('shop', 'productpage');
const REVIEWS = spiffe('shop', 'reviews');
const MALLORY = spiffe('evil', 'mallory');

let t: ReturnType<typeof testCa>;
let server: Server;
let port: number;
let policy: InboundPolicy | undefined;
let reviews: WorkloadIdentity;
let productpage: WorkloadIdentity;
let mallory: WorkloadIdentity;
const errors: MeshError[] = [];
const pools: Pool[] = [];

before(async () => {
  t = testCa();
  [reviews, productpage, mallory] = await Promise.all([identityFor(t, 'shop', 'reviews'), identityFor(t, 'shop', 'productpage'), identityFor(t, 'evil', 'mallory')]);
  server = createServer((req, res) => {
    res.setHeader('x-peer', peerPrincipalOf(req.socket) ?? 'none');
    res.end(`hello ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  wrapHttpServer(server, {
    policy: () => policy,
    certificateProviders: createCertificateProviders({ identity: () => reviews }),
    port,
    onError: (e) => errors.push(e),
  });
});

after(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  for (const i of [reviews, productpage, mallory]) i?.close();
  t?.dispose();
});

/** An undici pool to the server through the mesh TLS connector as `identity`, expecting `sans`. */
function mtlsPool(identity: WorkloadIdentity, sans = [REVIEWS]): Pool {
  const cluster = mtlsCluster('outbound|9080||reviews.shop.svc.cluster.local', sans);
  const requirement = compileUpstreamTls(cluster, createCertificateProviders({ identity: () => identity })).forEndpoint(undefined);
  const pool = new Pool(`https://127.0.0.1:${port}`, { connect: createTlsConnector({ requirement, servername: 'reviews', connectTimeoutMs: 5000, isH2: false }) });
  pools.push(pool);
  return pool;
}

/** A plaintext request on a new connection (nothing reused from earlier tests). */
async function plain(path: string): Promise<{ statusCode: number; headers: Record<string, unknown>; body: { text(): Promise<string> } }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await client.request({ path, method: 'GET' });
    return { statusCode: res.statusCode, headers: res.headers, body: { text: () => res.body.text() } };
  } finally {
    void client.destroy();
  }
}

async function get(pool: Pool, path = '/reviews/1', method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: string; peer: string | undefined; flags: string | undefined }> {
  const res = await pool.request({ path, method });
  return { status: res.statusCode, body: await res.body.text(), peer: res.headers['x-peer'] as string | undefined, flags: res.headers['x-weft-response-flags'] as string | undefined };
}

test('no policy yet: plaintext is served as before', async () => {
  policy = undefined;
  const res = await plain('/plain');
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'hello /plain');
});

test('STRICT: an mTLS call succeeds and the server sees the client SPIFFE ID; plaintext is reset', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  assert.equal(policy.mode, 'STRICT');
  const ok = await get(mtlsPool(productpage));
  assert.deepEqual([ok.status, ok.body, ok.peer], [200, 'hello /reviews/1', PRODUCTPAGE]);
  await assert.rejects(plain('/plain'), (e: Error & { code?: string }) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes(e.code ?? ''));
  assert.ok(errors.some((e) => e.code === 'WEFT_ERR_MTLS_REQUIRED'), 'the refusal is reported with its code');
});

test('AuthorizationPolicy: another principal, a denied path and a denied method get 403 RBAC: access denied', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  const evil = await get(mtlsPool(mallory));
  assert.deepEqual([evil.status, evil.body, evil.flags], [403, 'RBAC: access denied', 'RBAC']);
  const pp = mtlsPool(productpage);
  assert.equal((await get(pp, '/admin/users')).status, 403, 'DENY policy on /admin');
  assert.equal((await get(pp, '/reviews/1', 'POST')).status, 403, 'ALLOW only for GET');
  assert.equal((await get(pp)).status, 200);
  assert.ok(errors.some((e) => e.code === 'WEFT_ERR_ACCESS_DENIED' && e.message.includes(MALLORY)));
});

test('PERMISSIVE: plaintext and mTLS are both accepted on the same port', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'PERMISSIVE', [PRODUCTPAGE]), port);
  assert.equal(policy.mode, 'PERMISSIVE');
  const res = await plain('/reviews/2');
  assert.equal(res.statusCode, 200, 'plaintext loopback peers are allowed by the test policy');
  assert.equal(res.headers['x-peer'], 'none');
  await res.body.text();
  const tls = await get(mtlsPool(productpage), '/reviews/3');
  assert.deepEqual([tls.status, tls.peer], [200, PRODUCTPAGE]);
});

test('a connection that closes before its first byte (a TCP readiness probe) is released at once, not kept for the sniff timeout', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  const open = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const before = await open();
  for (let i = 0; i < 5; i++) {
    const probe = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => probe.once('connect', resolve).once('error', reject));
    probe.destroy(); // what the control plane's TCP prober does once connected
    await new Promise((resolve) => probe.once('close', resolve));
  }
  let now = await open();
  for (let i = 0; i < 200 && now > before; i++) {
    await new Promise((r) => setTimeout(r, 10));
    now = await open();
  }
  assert.equal(now, before, 'the server holds none of the probe connections (it is half-open: only our end handler closes them)');
});

test('client side: a server whose SPIFFE ID is not among the cluster SANs fails with UF and a clear code', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  await assert.rejects(get(mtlsPool(productpage, [spiffe('shop', 'ratings')])), (e: MeshError) => e.code === 'WEFT_ERR_UNAUTHORIZED' && e.responseFlag === 'UF');
});

test('auto mTLS: endpoints labelled tlsMode=istio get TLS, the others plaintext', () => {
  const cluster = mtlsCluster('outbound|9080||reviews.shop.svc.cluster.local', [REVIEWS], { auto: true });
  const tls = compileUpstreamTls(cluster, undefined);
  assert.equal(tls.forEndpoint({ 'envoy.transport_socket_match': { tlsMode: 'istio' } }).mode, 'ISTIO_MUTUAL');
  assert.equal(tls.forEndpoint({}).mode, 'none');
  assert.deepEqual(tls.forEndpoint({ 'envoy.transport_socket_match': { tlsMode: 'istio' } }).expectedSpiffeIds, [REVIEWS]);
});

test('inbound local rate limit from the listener: 429 with RL once the bucket is empty', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE], { rateLimitTokens: 3 }), port);
  const pool = mtlsPool(productpage);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await get(pool)).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
});

test('rotation mid-traffic: both sides renew repeatedly and no request fails; new connections use the new certificate', async () => {
  policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  const pool = mtlsPool(productpage);
  const before = productpage.current()!.generation;
  let left = 300;
  let failures = 0;
  const traffic = Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) {
      const r = await get(pool).catch(() => ({ status: 0 }));
      if (r.status !== 200) failures++;
    }
  }));
  for (let i = 0; i < 3; i++) {
    await Promise.all([productpage.renewNow(), reviews.renewNow()]);
    await new Promise((r) => setTimeout(r, 20));
  }
  await traffic;
  assert.equal(failures, 0);
  assert.equal(productpage.current()!.generation, before + 3);
  const fresh = await get(mtlsPool(productpage));
  assert.deepEqual([fresh.status, fresh.peer], [200, PRODUCTPAGE]);
});

test('STRICT in front of a node:http2 server: an mTLS client negotiates h2 and the handler sees HTTP/2 and the client SPIFFE ID', async () => {
  const h2 = createHttp2Server((req, res) => {
    res.setHeader('x-peer', peerPrincipalOf(req.socket as unknown as Socket) ?? 'none');
    res.end(`h2 ${req.httpVersion}`);
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  const h2Port = (h2.address() as AddressInfo).port;
  const strict = compileInboundPolicy(inboundListener(h2Port, 'STRICT', [PRODUCTPAGE]), h2Port);
  wrapHttpServer(h2, { policy: () => strict, certificateProviders: createCertificateProviders({ identity: () => reviews }), port: h2Port, onError: (e) => errors.push(e) });
  const requirement = compileUpstreamTls(mtlsCluster('outbound|9080||reviews.shop.svc.cluster.local', [REVIEWS]), createCertificateProviders({ identity: () => productpage })).forEndpoint(undefined);
  const pool = new Pool(`https://127.0.0.1:${h2Port}`, { allowH2: true, connect: createTlsConnector({ requirement, servername: 'reviews', connectTimeoutMs: 5000, isH2: true }) });
  try {
    const res = await pool.request({ path: '/x', method: 'GET' });
    assert.deepEqual([res.statusCode, await res.body.text(), res.headers['x-peer']], [200, 'h2 2.0', PRODUCTPAGE]);
  } finally {
    await pool.destroy();
    await new Promise((resolve) => h2.close(resolve));
  }
});
