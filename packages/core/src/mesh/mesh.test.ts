import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh } from './mesh.ts';
import type { XdsConfigSource } from './mesh.ts';
import { listenerNameFor } from './authority.ts';
import { edsCluster, headerMatcher, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfig } from '../internal/xds-fixtures.ts';
import { seededRandom } from '../internal/seeded-random.ts';
import { MeshError } from '@weft/xds-client';
import type { XdsConfig, XdsConfigWatcher } from '@weft/xds-client';

/** An in-test xds-client: records watches; the test pushes updates. */
class FakeXds implements XdsConfigSource {
  readonly watchers = new Map<string, XdsConfigWatcher>();
  cancelled: string[] = [];
  closed = 0;
  watchXdsConfig(name: string, watcher: XdsConfigWatcher) {
    this.watchers.set(name, watcher);
    return { cancel: () => void this.cancelled.push(name) };
  }
  push(config: XdsConfig): void {
    this.watchers.get(config.listenerName)!.onUpdate(config);
  }
  close(): void {
    this.closed++;
  }
}

const LISTENER = 'reviews.shop.svc.cluster.local:9080';

function reviewsConfig(v2Weight: number, v1Endpoints = ['10.0.0.1:9080', '10.0.0.2:9080']): XdsConfig {
  const rc = routeConfig('reviews', [
    virtualHost('reviews', ['reviews.shop.svc.cluster.local', 'reviews.shop.svc.cluster.local:9080', 'reviews', 'reviews:9080'], [
      route('jason', routeMatch({ type: 'prefix', prefix: '/' }, { headers: [headerMatcher('end-user', { type: 'exact', value: 'jason', ignoreCase: false })] }), routeAction('v3')),
      route('split', routeMatch({ type: 'prefix', prefix: '/' }), routeAction(v2Weight === 0 ? 'v1' : [['v1', 100 - v2Weight], ['v2', v2Weight]])),
    ]),
  ]);
  return xdsConfig(LISTENER, rc, [
    [edsCluster('v1'), loadAssignment('v1', [{ endpoints: v1Endpoints }])],
    [edsCluster('v2'), loadAssignment('v2', [{ endpoints: ['10.0.1.1:9080'] }])],
    [edsCluster('v3'), loadAssignment('v3', [{ endpoints: [] }])],
  ]);
}

test('listener names: short names resolve through the namespace, FQDNs stay', () => {
  assert.equal(listenerNameFor('reviews:9080', { namespace: 'shop' }), 'reviews.shop.svc.cluster.local:9080');
  assert.equal(listenerNameFor('reviews', { namespace: 'shop' }), 'reviews.shop.svc.cluster.local:80');
  assert.equal(listenerNameFor('reviews.shop.svc:9080'), 'reviews.shop.svc.cluster.local:9080');
  assert.equal(listenerNameFor('Payments.Example.com:443'), 'payments.example.com:443');
  assert.equal(listenerNameFor('10.1.2.3:80'), '10.1.2.3:80');
  assert.throws(() => listenerNameFor('reviews:notaport'), (e: { code?: string }) => e.code === 'WEFT_ERR_UNKNOWN_HOST');
});

test('a Mesh resolves short and full names to one watch, routes, picks and swaps snapshots atomically', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop', random: seededRandom(4) });
  assert.equal(mesh.resolve('reviews:9080'), undefined, 'nothing yet; the watch starts');
  assert.deepEqual([...xds.watchers.keys()], [LISTENER]);
  const waiting = mesh.waitForHost('reviews.shop.svc.cluster.local:9080');
  assert.equal(xds.watchers.size, 1, 'same listener, one watch');
  xds.push(reviewsConfig(10));
  const first = await waiting;
  assert.equal(first.generation, 1);
  assert.equal(mesh.resolve('reviews:9080'), first);

  const req = { path: '/reviews/1', headers: {} };
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const r = mesh.route('reviews:9080', req);
    counts.set(r.clusterName, (counts.get(r.clusterName) ?? 0) + 1);
    assert.ok(r.endpoint.key.endsWith(':9080'));
  }
  const v1 = counts.get('v1')! / 2000;
  assert.ok(v1 > 0.87 && v1 < 0.93, `v1 share ${v1}`); // ±5σ of a 90/10 split over 2,000 is ±0.034
  // Header route to a cluster without endpoints: 503 UH.
  assert.throws(
    () => mesh.route('reviews:9080', { path: '/', headers: { 'end-user': 'jason' } }),
    (e: { code?: string; responseFlag?: string; message: string }) => e.code === 'WEFT_ERR_NO_HEALTHY_UPSTREAM' && e.responseFlag === 'UH' && /cluster v3/.test(e.message),
  );

  const swaps: number[] = [];
  mesh.onUpdate((_name, s) => swaps.push(s?.generation ?? -1));
  xds.push(reviewsConfig(0, ['10.0.0.9:9080']));
  const second = mesh.resolve('reviews:9080')!;
  assert.notEqual(second, first);
  assert.equal(second.generation, 2);
  assert.deepEqual(swaps, [2]);
  for (let i = 0; i < 50; i++) assert.equal(mesh.route('reviews:9080', req).endpoint.key, '10.0.0.9:9080');
  // The old snapshot is untouched: a request that read it still completes on it.
  assert.ok(['v1', 'v2'].includes(first.route('reviews:9080', req).clusterName));

  await mesh.close();
  await mesh.close();
  assert.deepEqual(xds.cancelled, [LISTENER]);
  assert.equal(xds.closed, 0, 'a client passed in is not closed by the Mesh');
  assert.throws(() => mesh.resolve('other:80'), (e: { code?: string }) => e.code === 'WEFT_ERR_CLOSED');
});

test('waitForHost is bounded, abortable, and reports removal', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds });
  xds.watchers.clear();
  const timedOut = mesh.waitForHost('ghost:80', { timeoutMs: 20 });
  xds.watchers.get('ghost.default.svc.cluster.local:80')!.onError(new MeshError('WEFT_ERR_XDS_UNAVAILABLE', 'connection refused'));
  await assert.rejects(timedOut, (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_XDS_UNAVAILABLE' && /ghost/.test(e.message) && /connection refused/.test(e.message));

  const ac = new AbortController();
  const aborted = mesh.waitForHost('ghost:80', { signal: ac.signal, timeoutMs: 60_000 });
  ac.abort(new Error('caller gave up'));
  await assert.rejects(aborted, /caller gave up/);

  const pending = mesh.waitForHost('gone:80', { timeoutMs: 60_000 });
  xds.watchers.get('gone.default.svc.cluster.local:80')!.onResourceDoesNotExist({ typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'gone.default.svc.cluster.local:80' });
  await assert.rejects(pending, (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_UNKNOWN_HOST' && /Listener/.test(e.message));
  assert.equal(mesh.resolve('gone:80'), undefined);

  const beforeClose = mesh.waitForHost('late:80', { timeoutMs: 60_000 });
  await mesh.close();
  await assert.rejects(beforeClose, (e: { code?: string }) => e.code === 'WEFT_ERR_CLOSED');
});

test('a bad route config keeps the last good snapshot; a bad cluster only fails that cluster', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop' });
  mesh.resolve('reviews:9080');
  xds.push(reviewsConfig(0));
  const good = mesh.resolve('reviews:9080')!;
  const bad = reviewsConfig(0);
  const broken = { ...bad, routeConfig: routeConfig('reviews', [virtualHost('vh', ['*'], [route('r', routeMatch({ type: 'safeRegex', regex: '(' }), routeAction('v1'))])]) };
  xds.push(broken);
  assert.equal(mesh.resolve('reviews:9080'), good);
  const withBadCluster = reviewsConfig(50);
  const clusters = new Map(withBadCluster.clusters);
  clusters.set('v2', { ok: true, value: { cluster: edsCluster('v2', { type: 'maglev', tableSize: 100 }), endpoints: loadAssignment('v2', [{ endpoints: ['10.0.1.1:9080'] }]) } });
  xds.push({ ...withBadCluster, clusters });
  const next = mesh.resolve('reviews:9080')!;
  assert.notEqual(next, good);
  assert.ok(next.clusters.get('v2') instanceof Error);
  assert.equal(next.pickEndpoint('v1', { path: '/', headers: {} }).port, 9080);
  assert.throws(() => next.pickEndpoint('v2', { path: '/', headers: {} }), /table_size/);
  await mesh.close();
});

test('ring hash routes keep a user on one endpoint through the Mesh', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop' });
  mesh.resolve('cart:80');
  const rc = routeConfig('cart', [
    virtualHost('cart', ['cart', 'cart:80'], [
      route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('cart', { hashPolicies: [{ type: 'header', headerName: 'x-user', terminal: true }, { type: 'sourceIp', terminal: false }] })),
    ]),
  ]);
  const eps = Array.from({ length: 8 }, (_, i) => `10.1.0.${i + 1}:80`);
  xds.push(xdsConfig('cart.shop.svc.cluster.local:80', rc, [[edsCluster('cart', { type: 'ringHash', minRingSize: 1024, maxRingSize: 8_388_608, hashFunction: 'XX_HASH' }), loadAssignment('cart', [{ endpoints: eps }])]]));
  for (let u = 0; u < 20; u++) {
    const req = { path: '/', headers: { 'x-user': `user-${u}` }, sourceIp: `192.168.0.${u}` };
    const first = mesh.route('cart:80', req).endpoint.key;
    for (let i = 0; i < 5; i++) assert.equal(mesh.route('cart:80', { ...req, sourceIp: '1.1.1.1' }).endpoint.key, first, 'terminal header policy: source IP ignored');
  }
  await mesh.close();
});

test('ejections marked in mesh.endpointStates() steer picks and survive EDS updates', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop', random: seededRandom(8) });
  mesh.resolve('reviews:9080');
  xds.push(reviewsConfig(0, ['10.0.0.1:9080', '10.0.0.2:9080', '10.0.0.3:9080']));
  mesh.endpointStates('v1').get('10.0.0.2:9080').isEjected = true;
  const req = { path: '/', headers: {} };
  for (let i = 0; i < 30; i++) assert.notEqual(mesh.route('reviews:9080', req).endpoint.key, '10.0.0.2:9080');
  xds.push(reviewsConfig(0, ['10.0.0.1:9080', '10.0.0.2:9080', '10.0.0.3:9080', '10.0.0.4:9080']));
  for (let i = 0; i < 40; i++) assert.notEqual(mesh.route('reviews:9080', req).endpoint.key, '10.0.0.2:9080');
  await mesh.close();
});

test('FQDN-only virtual hosts serve short names; aggregate clusters fail over to the next leaf', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop' });
  assert.equal(mesh.resolve('pay', 8443), undefined);
  assert.ok(xds.watchers.has('pay.shop.svc.cluster.local:8443'), 'defaultPort applies to a portless authority');
  const rc = routeConfig('pay', [virtualHost('pay', ['pay.shop.svc.cluster.local:8443'], [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('agg'))])]);
  const agg = edsCluster('agg', { type: 'roundRobin' }, { discovery: { type: 'aggregate', clusters: ['primary', 'backup'] } });
  const config = xdsConfig('pay.shop.svc.cluster.local:8443', rc, [
    [agg, undefined],
    [edsCluster('primary'), loadAssignment('primary', [{ endpoints: [{ addr: '10.9.0.1:8443', health: 'UNHEALTHY' }] }])],
    [edsCluster('backup'), loadAssignment('backup', [{ endpoints: ['10.9.1.1:8443'] }])],
  ]);
  xds.push(config);
  const host = mesh.resolve('pay', 8443)!;
  assert.ok(host);
  const r = host.route('pay', { path: '/charge', headers: {} });
  assert.equal(r.clusterName, 'agg');
  for (let i = 0; i < 10; i++) assert.equal(host.pickEndpoint('agg', { path: '/', headers: {} }, r.route).key, '10.9.1.1:8443');
  await mesh.close();
});

test('EDS drop_overloads drop their share of picks (binomial ±5σ)', async () => {
  const xds = new FakeXds();
  const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop', random: seededRandom(21) });
  mesh.resolve('reviews:9080');
  const config = reviewsConfig(0);
  const v1 = config.clusters.get('v1')!;
  assert.ok(v1.ok);
  const withDrops = { ...v1.value, endpoints: { ...v1.value.endpoints!, dropOverloads: [{ category: 'throttle', dropPercentage: { numerator: 20, denominator: 100 as const } }] } };
  const clusters = new Map(config.clusters);
  clusters.set('v1', { ok: true, value: withDrops });
  xds.push({ ...config, clusters });
  const n = 5000;
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    try {
      mesh.route('reviews:9080', { path: '/', headers: {} });
    } catch (e) {
      assert.equal((e as MeshError).code, 'WEFT_ERR_NO_HEALTHY_UPSTREAM');
      assert.equal((e as MeshError).details['dropCategory'], 'throttle');
      dropped++;
    }
  }
  assert.ok(Math.abs(dropped - n * 0.2) < 5 * Math.sqrt(n * 0.2 * 0.8), `dropped ${dropped}`);
  await mesh.close();
});
