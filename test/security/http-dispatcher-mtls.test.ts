/**
 * Outbound mTLS through the whole HTTP path: global-fetch-style calls via the mesh dispatcher,
 * a core Mesh compiling an ISTIO_MUTUAL (or auto mTLS) cluster, endpoint pools connecting with
 * the workload identity, and a STRICT server checking the client certificate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mesh, compileInboundPolicy, createCertificateProviders, type WorkloadIdentity } from '@weft/core';
import type { ClusterLoadAssignment } from '@weft/xds-client';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { wrapHttpServer } from '../../packages/http-adapter/src/inbound/wrap-http-server.ts';
import { peerPrincipalOf } from '../../packages/http-adapter/src/inbound/tls-termination.ts';
import { FakeXds } from '../../packages/http-adapter/test/support.ts';
import { loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfig } from '../../packages/core/src/internal/xds-fixtures.ts';
import { identityFor, inboundListener, mtlsCluster, spiffe, testCa } from './fixtures.ts';

const PRODUCTPAGE = spiffe('default', 'productpage');
const REVIEWS = spiffe('default', 'reviews');
const LISTENER = 'reviews.default.svc.cluster.local:9080';

let t: ReturnType<typeof testCa>;
let server: Server;
let port: number;
let reviews: WorkloadIdentity;
let productpage: WorkloadIdentity;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  t = testCa();
  [reviews, productpage] = await Promise.all([identityFor(t, 'default', 'reviews'), identityFor(t, 'default', 'productpage')]);
  server = createServer((req, res) => {
    res.setHeader('x-peer', peerPrincipalOf(req.socket) ?? 'none');
    res.end('reviews');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const policy = compileInboundPolicy(inboundListener(port, 'STRICT', [PRODUCTPAGE]), port);
  wrapHttpServer(server, { policy: () => policy, certificateProviders: createCertificateProviders({ identity: () => reviews }), port });
});

after(async () => {
  for (const c of closers) await c();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  reviews?.close();
  productpage?.close();
  t?.dispose();
});

function withMetadata(cla: ClusterLoadAssignment, metadata: Record<string, Record<string, unknown>>): ClusterLoadAssignment {
  return { ...cla, localities: cla.localities.map((l) => ({ ...l, endpoints: l.endpoints.map((e) => ({ ...e, metadata })) })) };
}

async function meshed(options: { auto?: boolean; identity?: WorkloadIdentity }): Promise<MeshDispatcher> {
  const name = 'outbound|9080||reviews.default.svc.cluster.local';
  const xds = new FakeXds();
  const cla = loadAssignment(name, [{ endpoints: [`127.0.0.1:${port}`] }]);
  const rc = routeConfig('rc', [virtualHost('vh', ['*'], [route('all', routeMatch({ type: 'prefix', prefix: '/' }), routeAction(name))])]);
  xds.set(xdsConfig(LISTENER, rc, [[mtlsCluster(name, [REVIEWS], { auto: options.auto }), options.auto ? withMetadata(cla, { 'envoy.transport_socket_match': { tlsMode: 'istio' } }) : cla]]));
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'default', ...(options.identity ? { identity: options.identity } : {}) });
  const dispatcher = createMeshDispatcher({ mesh, firstConfigTimeoutMs: 5000 });
  closers.push(() => dispatcher.close(), () => mesh.close());
  return dispatcher;
}

test('ISTIO_MUTUAL cluster: fetch through the mesh dispatcher presents the workload certificate', async () => {
  const dispatcher = await meshed({ identity: productpage });
  const res = await fetch('http://reviews:9080/reviews/1', { dispatcher } as RequestInit);
  assert.deepEqual([res.status, res.headers.get('x-peer'), await res.text()], [200, PRODUCTPAGE, 'reviews']);
  const denied = await fetch('http://reviews:9080/admin/users', { dispatcher } as RequestInit);
  assert.deepEqual([denied.status, await denied.text(), denied.headers.get('x-weft-response-flags')], [403, 'RBAC: access denied', 'RBAC'], 'the server\'s RBAC denial reaches the caller unchanged');
});

test('auto mTLS (transport_socket_matches + endpoint tlsMode=istio) works the same way', async () => {
  const dispatcher = await meshed({ auto: true, identity: productpage });
  const res = await fetch('http://reviews:9080/reviews/1', { dispatcher } as RequestInit);
  assert.deepEqual([res.status, res.headers.get('x-peer')], [200, PRODUCTPAGE]);
});

test('no workload identity: the call answers 503 with WEFT_ERR_CERT_UNAVAILABLE and flag UF (like Envoy, no exception)', async () => {
  const dispatcher = await meshed({});
  const res = await fetch('http://reviews:9080/reviews/1', { dispatcher } as RequestInit);
  await res.text();
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('x-weft-error-code'), 'WEFT_ERR_CERT_UNAVAILABLE');
  assert.match(res.headers.get('x-weft-response-flags') ?? '', /\bUF\b/);
});
