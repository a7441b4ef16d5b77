import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createMeshDispatcher } from '../src/index.ts';
import {
  FakeXds,
  createTestMesh,
  edsCluster,
  headerMatcher,
  loadAssignment,
  route,
  routeAction,
  routeConfig,
  routeMatch,
  startUpstream,
  virtualHost,
  xdsConfigOf,
} from './support.ts';

const LISTENER = 'reviews.default.svc.cluster.local:9080';
const DOMAINS = ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080'];

test('a 90/10 weighted split over 1,000 requests lands within ±4 points, counted by the upstreams', async () => {
  const v1 = await startUpstream('v1');
  const v2 = await startUpstream('v2');
  const xds = new FakeXds();
  xds.set(
    xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction([['c-v1', 90], ['c-v2', 10]]))])]), [
      [edsCluster('c-v1'), loadAssignment('c-v1', [{ endpoints: [v1.addr] }])],
      [edsCluster('c-v2'), loadAssignment('c-v2', [{ endpoints: [v2.addr] }])],
    ]),
  );
  const mesh = await createTestMesh(xds);
  const dispatcher = createMeshDispatcher({ mesh, defaultRetryPolicy: null });
  try {
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await request('http://reviews:9080/ratings', { dispatcher });
          await res.body.text();
          assert.equal(res.statusCode, 200);
        }),
      );
    }
    assert.equal(v1.seen.length + v2.seen.length, 1000);
    const share = v1.seen.length / 10;
    assert.ok(Math.abs(share - 90) <= 4, `v1 share ${share}%`);
    assert.equal(v1.seen[0]!.headers.host, 'reviews:9080', 'the upstream sees the authority the caller used');
    assert.equal(v1.seen[0]!.headers['x-envoy-attempt-count'], '1');
  } finally {
    await dispatcher.close();
    await mesh.close();
    await Promise.all([v1.close(), v2.close()]);
  }
});

test('header match routes, prefix rewrite and header mutations are visible upstream; response headers mutated', async () => {
  const v1 = await startUpstream('v1');
  const v2 = await startUpstream('v2');
  const xds = new FakeXds();
  const jason = route(
    'jason',
    routeMatch({ type: 'prefix', prefix: '/api/' }, { headers: [headerMatcher('end-user', { type: 'exact', value: 'jason', ignoreCase: false })] }),
    routeAction('c-v2', { prefixRewrite: '/v2/' }),
  );
  const withMutations = {
    ...jason,
    requestHeadersToAdd: [{ key: 'x-canary', value: 'yes', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' as const, keepEmptyValue: false }],
    requestHeadersToRemove: ['x-secret'],
    responseHeadersToAdd: [{ key: 'x-served-by', value: 'mesh', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' as const, keepEmptyValue: false }],
    responseHeadersToRemove: ['x-upstream'],
  };
  xds.set(
    xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [withMutations, route('default', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('c-v1'))])]), [
      [edsCluster('c-v1'), loadAssignment('c-v1', [{ endpoints: [v1.addr] }])],
      [edsCluster('c-v2'), loadAssignment('c-v2', [{ endpoints: [v2.addr] }])],
    ]),
  );
  const mesh = await createTestMesh(xds);
  const dispatcher = createMeshDispatcher({ mesh });
  try {
    const a = await request('http://reviews:9080/api/items?x=1', { dispatcher, headers: { 'end-user': 'jason', 'x-secret': 's' } });
    assert.equal(await a.body.text(), 'v2');
    assert.equal(a.headers['x-served-by'], 'mesh');
    assert.equal(a.headers['x-upstream'], undefined);
    assert.equal(v2.seen[0]!.url, '/v2/items?x=1');
    assert.equal(v2.seen[0]!.headers['x-canary'], 'yes');
    assert.equal(v2.seen[0]!.headers['x-secret'], undefined);
    const b = await request('http://reviews:9080/api/items', { dispatcher, headers: { 'end-user': 'other' } });
    assert.equal(await b.body.text(), 'v1');
    assert.equal(v1.seen[0]!.url, '/api/items');
  } finally {
    await dispatcher.close();
    await mesh.close();
    await Promise.all([v1.close(), v2.close()]);
  }
});

test('redirects and direct responses are answered locally; an unmatched path is 404 NR', async () => {
  const xds = new FakeXds();
  const base = route('x', routeMatch({ type: 'prefix', prefix: '/old/' }), routeAction('c'));
  const redirect = { ...base, action: { type: 'redirect' as const, redirect: { prefixRewrite: '/new/', responseCode: 301 as const, stripQuery: false } } };
  const direct = { ...route('d', routeMatch({ type: 'path', path: '/health' }), routeAction('c')), action: { type: 'directResponse' as const, status: 200, body: 'fine' } };
  xds.set(xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [redirect, direct])]), [[edsCluster('c'), loadAssignment('c', [])]]));
  const mesh = await createTestMesh(xds);
  const dispatcher = createMeshDispatcher({ mesh });
  try {
    const r = await request('http://reviews:9080/old/a?q=1', { dispatcher });
    await r.body.text();
    assert.equal(r.statusCode, 301);
    assert.equal(r.headers.location, 'http://reviews:9080/new/a?q=1');
    const d = await request('http://reviews:9080/health', { dispatcher });
    assert.equal(d.statusCode, 200);
    assert.equal(await d.body.text(), 'fine');
    const n = await request('http://reviews:9080/elsewhere', { dispatcher });
    await n.body.text();
    assert.equal(n.statusCode, 404);
    assert.equal(n.headers['x-weft-response-flags'], 'NR');
    assert.equal(n.headers['x-weft-error-code'], 'WEFT_ERR_NO_ROUTE');
  } finally {
    await dispatcher.close();
    await mesh.close();
  }
});

test('a cluster whose upstream protocol is HTTP/2 is reached over h2c', async () => {
  const { createServer } = await import('node:http2');
  const server = createServer((req, res) => res.end(`h${req.httpVersion}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const xds = new FakeXds();
  xds.set(
    xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('c'))])]), [
      [edsCluster('c', { type: 'roundRobin' }, { upstreamProtocol: 'http2' }), loadAssignment('c', [{ endpoints: [`127.0.0.1:${port}`] }])],
    ]),
  );
  const mesh = await createTestMesh(xds);
  const dispatcher = createMeshDispatcher({ mesh });
  try {
    const r = await request('http://reviews:9080/', { dispatcher });
    assert.equal(await r.body.text(), 'h2.0');
  } finally {
    await dispatcher.close();
    await mesh.close();
    await new Promise((r) => server.close(r));
  }
});
