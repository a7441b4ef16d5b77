import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry, type RegisteredWorkload } from './registry.ts';
import { hostMatches, portProtocol, resolveHostname } from './hostname.ts';
import { buildServiceIndex } from './service-index.ts';
import type { ConfigObject, ServiceEntrySpec, WorkloadEntrySpec } from '../model/mesh-model.ts';

const workload = (over: Partial<RegisteredWorkload> = {}): RegisteredWorkload => ({
  id: 'reviews-1',
  service: 'reviews',
  namespace: 'shop',
  address: '127.0.0.1',
  ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }],
  labels: { app: 'reviews', version: 'v1' },
  serviceAccount: 'reviews',
  ...over,
});

const obj = <S>(kind: ConfigObject<S>['kind'], name: string, namespace: string, spec: S): ConfigObject<S> => ({
  kind,
  apiVersion: 'networking.istio.io/v1',
  name,
  namespace,
  labels: {},
  annotations: {},
  spec,
  source: { file: 'test', line: 1, column: 1 },
});

test('short names resolve the Istio way; dotted names and wildcards are kept', () => {
  assert.equal(resolveHostname('reviews', 'shop', 'svc.cluster.local'), 'reviews.shop.svc.cluster.local');
  assert.equal(resolveHostname('Reviews', 'shop', 'svc.example.internal'), 'reviews.shop.svc.example.internal');
  assert.equal(resolveHostname('reviews.shop.svc.cluster.local', 'other', 'svc.cluster.local'), 'reviews.shop.svc.cluster.local');
  assert.equal(resolveHostname('payments.example.com', 'shop', 'svc.cluster.local'), 'payments.example.com');
  assert.equal(resolveHostname('*.example.com', 'shop', 'svc.cluster.local'), '*.example.com');
  assert.equal(resolveHostname('*', 'shop', 'svc.cluster.local'), '*');
  assert.ok(hostMatches('*.example.com', 'api.example.com'));
  assert.ok(!hostMatches('*.example.com', 'example.com'));
  assert.ok(hostMatches('*', 'anything'));
});

test('port protocols come from the protocol field, else the name prefix, else TCP', () => {
  assert.equal(portProtocol('http-web', undefined), 'HTTP');
  assert.equal(portProtocol('grpc', undefined), 'GRPC');
  assert.equal(portProtocol('grpc-api', undefined), 'GRPC');
  assert.equal(portProtocol('web', undefined), 'TCP');
  assert.equal(portProtocol('web', 'http2'), 'HTTP2');
});

test('register / setHealth / unregister notify once per effective change; list is a snapshot', () => {
  const reg = createRegistry();
  let changes = 0;
  reg.onMutate(() => changes++);
  reg.register(workload());
  assert.equal(changes, 1);
  const snapshot = reg.list();
  reg.register(workload({ address: '127.0.0.2' }));
  assert.equal(changes, 2);
  assert.equal(reg.list().length, 1, 're-registering an id replaces it');
  assert.equal(reg.list()[0]!.address, '127.0.0.2');
  assert.equal(snapshot[0]!.address, '127.0.0.1');
  reg.setHealth('reviews-1', 'UNHEALTHY');
  reg.setHealth('reviews-1', 'UNHEALTHY');
  reg.setHealth('nope', 'HEALTHY');
  assert.equal(changes, 3);
  reg.unregister('nope');
  reg.unregister('reviews-1');
  assert.equal(changes, 4);
  assert.deepEqual(reg.list(), []);
});

test('bad registrations throw WEFT_ERR_CONFIG_INVALID naming the field and change nothing', () => {
  const reg = createRegistry();
  const bad: [Partial<RegisteredWorkload>, string][] = [
    [{ id: '' }, 'id'],
    [{ service: '' }, 'service'],
    [{ namespace: 'Not_Valid' }, 'namespace'],
    [{ address: '' }, 'address'],
    [{ ports: [{ number: 70000, name: 'http', protocol: 'HTTP' }] }, 'ports[0].number'],
    [{ health: 'GREAT' as never }, 'health'],
  ];
  for (const [over, field] of bad) {
    assert.throws(() => reg.register(workload(over)), (err: { code?: string; message?: string }) => err.code === 'WEFT_ERR_CONFIG_INVALID' && (err.message ?? '').includes(field));
  }
  assert.deepEqual(reg.list(), []);
  assert.throws(() => reg.setHealth('x', 'BAD' as never), { code: 'WEFT_ERR_CONFIG_INVALID' });
});

test('service index: ServiceEntry hosts, ports, inline endpoints, selector over WorkloadEntries and registrations', () => {
  const ses = [
    obj<ServiceEntrySpec>('ServiceEntry', 'payments', 'shop', {
      hosts: ['payments.example.com'],
      location: 'MESH_EXTERNAL',
      resolution: 'STATIC',
      ports: [{ number: 8443, name: 'https', protocol: 'HTTPS' }],
      endpoints: [{ address: '127.0.0.1', labels: { zone: 'a' } }, { address: '127.0.0.2', weight: 3 }],
    }),
    obj<ServiceEntrySpec>('ServiceEntry', 'reviews', 'shop', {
      hosts: ['reviews'],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: [{ number: 9080, name: 'http-web', targetPort: 19080 }],
      workloadSelector: { labels: { app: 'reviews' } },
    }),
    obj<ServiceEntrySpec>('ServiceEntry', 'dns', 'shop', { hosts: ['api.example.com'], resolution: 'DNS', ports: [{ number: 443, name: 'tls' }] }),
  ];
  const wes = [
    obj<WorkloadEntrySpec>('WorkloadEntry', 'reviews-vm', 'shop', { address: '10.0.0.9', labels: { app: 'reviews', version: 'v2' }, ports: { 'http-web': 29080 } }),
    obj<WorkloadEntrySpec>('WorkloadEntry', 'other-ns', 'elsewhere', { address: '10.0.0.10', labels: { app: 'reviews' } }),
  ];
  const regs = [workload(), workload({ id: 'ratings-1', service: 'ratings.shop.svc.cluster.local', labels: { app: 'ratings' } })];
  const idx = buildServiceIndex(ses, wes, regs, 'svc.cluster.local');

  const payments = idx.services.get('payments.example.com');
  assert.deepEqual([payments?.location, payments?.resolution, payments?.origin, payments?.exportTo], ['MESH_EXTERNAL', 'STATIC', 'ServiceEntry', ['*']]);
  assert.deepEqual(idx.endpoints.get('payments.example.com')?.map((e) => [e.address, e.weight, e.origin, e.serviceHostname]), [
    ['127.0.0.1', 1, 'ServiceEntry', 'payments.example.com'],
    ['127.0.0.2', 3, 'ServiceEntry', 'payments.example.com'],
  ]);

  const reviews = idx.services.get('reviews.shop.svc.cluster.local');
  assert.deepEqual(reviews?.ports, [{ number: 9080, name: 'http-web', protocol: 'HTTP', targetPort: 19080 }]);
  assert.deepEqual(reviews?.workloadSelector, { app: 'reviews' });
  // Selected: the WorkloadEntry in the same namespace and the registered workload; not the other namespace.
  assert.deepEqual(idx.endpoints.get('reviews.shop.svc.cluster.local')?.map((e) => [e.id, e.origin]), [
    ['shop/reviews-vm', 'WorkloadEntry'],
    ['reviews-1', 'registration'],
  ]);

  assert.equal(idx.services.get('api.example.com')?.resolution, 'DNS');
  assert.equal(idx.services.get('api.example.com')?.location, 'MESH_EXTERNAL', 'Istio default location');
  assert.equal(idx.services.get('api.example.com')?.ports[0]?.protocol, 'TLS');

  // A registration whose service no ServiceEntry declares creates it, as a Kubernetes Service would.
  const ratings = idx.services.get('ratings.shop.svc.cluster.local');
  assert.deepEqual([ratings?.origin, ratings?.location, ratings?.ports.map((p) => p.number)], ['registration', 'MESH_INTERNAL', [9080]]);
  assert.deepEqual(idx.endpoints.get('ratings.shop.svc.cluster.local')?.map((e) => e.id), ['ratings-1']);
});

test('several instances of a self-registered service: endpoints for each, ports merged', () => {
  const idx = buildServiceIndex([], [], [
    workload({ id: 'a', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] }),
    workload({ id: 'b', ports: [{ number: 9090, name: 'grpc', protocol: 'GRPC' }], labels: { app: 'reviews', version: 'v2' } }),
  ], 'svc.cluster.local');
  assert.deepEqual(idx.services.get('reviews.shop.svc.cluster.local')?.ports.map((p) => p.number), [9080, 9090]);
  assert.deepEqual(idx.endpoints.get('reviews.shop.svc.cluster.local')?.map((e) => [e.id, e.labels['version']]), [['a', 'v1'], ['b', 'v2']]);
});
