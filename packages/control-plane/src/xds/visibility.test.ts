import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import type { ConfigObject, MeshModel, ServiceModel } from '../model/mesh-model.ts';
import { capabilitiesFor } from './client-capabilities.ts';
import type { SidecarView } from './generators/istio-views.ts';
import { indexModel } from './mesh-index.ts';
import { buildSnapshot } from './snapshot.ts';
import { makeModel } from './testing/model-fixture.ts';
import { compileEgress, isExportedTo } from './visibility.ts';

const A = 'a.shop.svc.cluster.local'; // exported to its own namespace only
const B = 'b.shop.svc.cluster.local';
const C = 'c.other.svc.cluster.local';

function sidecar(namespace: string, hosts: string[] | undefined, selector?: Record<string, string>): ConfigObject<SidecarView> {
  return {
    kind: 'Sidecar', apiVersion: 'networking.istio.io/v1', name: 'default', namespace, labels: {}, annotations: {}, source: { file: 'f.yaml', line: 1, column: 1 },
    spec: { ...(hosts ? { egress: [{ hosts }] } : {}), ...(selector ? { workloadSelector: { labels: selector } } : {}) },
  };
}

function model(extra: { destinationRules?: { name: string; namespace: string; spec: unknown }[]; virtualServices?: { name: string; namespace: string; spec: unknown }[]; sidecars?: ConfigObject<SidecarView>[] } = {}): MeshModel {
  const port = [{ number: 80, name: 'http', protocol: 'HTTP' }];
  const endpoints = [{ address: '10.0.0.1', labels: { version: 'v1' } }, { address: '10.0.0.2', labels: { version: 'v2' } }];
  const m = makeModel({
    services: [{ hostname: A, ports: port, endpoints }, { hostname: B, ports: port, endpoints }, { hostname: C, ports: port, endpoints }],
    destinationRules: extra.destinationRules ?? [],
    virtualServices: extra.virtualServices ?? [],
  });
  const services = new Map<string, ServiceModel>([...m.services].map(([h, s]) => [h, h === A ? { ...s, exportTo: ['.'] } : s]));
  return { ...m, services, sidecars: (extra.sidecars ?? []) as unknown as MeshModel['sidecars'] };
}

const snap = (m: MeshModel) => buildSnapshot(indexModel(m), capabilitiesFor('weft'));
const listener = (h: string) => `${h}:80`;

test('exportTo: ".", "*", "~", namespaces, and the mesh default', () => {
  assert.equal(isExportedTo(undefined, 'shop', 'any'), true);
  assert.equal(isExportedTo([], 'shop', 'any'), true);
  assert.equal(isExportedTo(['*'], 'shop', 'any'), true);
  assert.equal(isExportedTo(['.'], 'shop', 'shop'), true);
  assert.equal(isExportedTo(['.'], 'shop', 'other'), false);
  assert.equal(isExportedTo(['~'], 'shop', 'shop'), false);
  assert.equal(isExportedTo(['.', 'team'], 'shop', 'team'), true);
  assert.equal(isExportedTo(['team'], 'shop', 'shop'), false);
});

test('Sidecar egress hosts: "./*", "*/*", "~/*", "ns/host" and wildcard hosts', () => {
  const f = (hosts: string[]) => compileEgress(sidecar('team', hosts));
  assert.equal(f(['./*']).allows('team', 'x.team.svc.cluster.local'), true);
  assert.equal(f(['./*']).allows('shop', B), false);
  assert.equal(f(['*/*']).allows('shop', B), true);
  assert.equal(f(['~/*']).allows('team', 'x.team.svc.cluster.local'), false);
  assert.equal(f([`shop/${B}`]).allows('shop', B), true);
  assert.equal(f([`shop/${B}`]).allows('shop', A), false);
  assert.equal(f(['shop/*.shop.svc.cluster.local']).allows('shop', A), true);
  assert.equal(f(['other/*']).allows('shop', B), false);
  assert.equal(compileEgress(sidecar('team', undefined)).allows('shop', B), true, 'no egress listener imports everything');
});

test('a service exported to "." has no listener, route, cluster or endpoints for clients of other namespaces', () => {
  const s = snap(model());
  for (const type of [TypeUrl.listener, TypeUrl.routeConfiguration] as const) {
    assert.ok(s.lookup(type, listener(A), 'shop'), `shop sees ${type}`);
    assert.equal(s.lookup(type, listener(A), 'other'), undefined, `other does not see ${type}`);
    assert.ok(s.lookup(type, listener(B), 'other'));
  }
  assert.equal(s.lookup(TypeUrl.cluster, `outbound|80||${A}`, 'other'), undefined);
  assert.equal(s.lookup(TypeUrl.clusterLoadAssignment, `outbound|80||${A}`, 'other'), undefined);
  assert.ok(s.lookup(TypeUrl.cluster, `outbound|80||${A}`, 'shop'));
  // Short names resolve in the client's namespace and obey the same rule.
  assert.ok(s.lookup(TypeUrl.listener, 'a:80', 'shop'));
  assert.equal(s.lookup(TypeUrl.listener, 'a.shop:80', 'other'), undefined);
  assert.ok(s.resourcesFor('other')?.get(TypeUrl.listener)?.has(listener(B)));
  assert.equal(s.resourcesFor('other')?.get(TypeUrl.listener)?.has(listener(A)), false);
});

test('DestinationRule precedence: client namespace, then service namespace (if exported), then root', () => {
  const dr = (namespace: string, simple: string, exportTo?: string[]) => ({ name: `b-${namespace}`, namespace, spec: { host: B, trafficPolicy: { loadBalancer: { simple } }, ...(exportTo ? { exportTo } : {}) } });
  const lbOf = (m: MeshModel, ns: string) => snap(m).lookup(TypeUrl.cluster, `outbound|80||${B}`, ns)?.message.lb_policy;
  const m1 = model({ destinationRules: [dr('team', 'LEAST_REQUEST', ['.']), dr('shop', 'RANDOM'), dr('istio-system', 'ROUND_ROBIN')] });
  assert.equal(lbOf(m1, 'team'), 'LEAST_REQUEST');
  assert.equal(lbOf(m1, 'other'), 'RANDOM');
  assert.equal(lbOf(m1, 'shop'), 'RANDOM');
  // The service namespace's rule not exported to the client: the root namespace's applies.
  const m2 = model({ destinationRules: [dr('shop', 'RANDOM', ['.']), dr('istio-system', 'LEAST_REQUEST')] });
  assert.equal(lbOf(m2, 'other'), 'LEAST_REQUEST');
  assert.equal(lbOf(m2, 'shop'), 'RANDOM');
  // A rule in a third namespace never applies to other clients.
  const m3 = model({ destinationRules: [dr('team', 'RANDOM')] });
  assert.equal(lbOf(m3, 'other'), 'ROUND_ROBIN');
  assert.equal(lbOf(m3, 'team'), 'RANDOM');
});

test('a VirtualService exported to "." routes only its own namespace; others get the default route', () => {
  const vs = { name: 'b', namespace: 'shop', spec: { hosts: ['b'], exportTo: ['.'], http: [{ route: [{ destination: { host: 'b', subset: 'v1' }, weight: 90 }, { destination: { host: 'b', subset: 'v2' }, weight: 10 }] }] } };
  const dr = { name: 'b', namespace: 'shop', spec: { host: 'b', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } };
  const s = snap(model({ virtualServices: [vs], destinationRules: [dr] }));
  const actionOf = (ns: string) => ((s.lookup(TypeUrl.routeConfiguration, listener(B), ns)?.message.virtual_hosts as { routes: { route: Record<string, unknown> }[] }[])[0]?.routes[0]?.route);
  assert.ok(actionOf('shop')?.weighted_clusters);
  assert.equal(actionOf('other')?.cluster, `outbound|80||${B}`);
});

test('a namespace Sidecar limits what its clients see; the root namespace Sidecar is the default; selector Sidecars are not applied', () => {
  const m = model({ sidecars: [sidecar('other', ['./*']), sidecar('istio-system', [`shop/${B}`]), sidecar('shop', ['~/*'], { app: 'x' })] });
  const s = snap(m);
  const sees = (ns: string) => [A, B, C].filter((h) => s.lookup(TypeUrl.listener, listener(h), ns));
  assert.deepEqual(sees('other'), [C]);
  assert.deepEqual(sees('lonely'), [B]);
  assert.deepEqual(sees('shop'), [B], 'the selector Sidecar (~/*) is not applied; the root one is');
});

test('namespaces that see the same config share one set of encoded resources', () => {
  const s = snap(model());
  const inX = s.lookup(TypeUrl.routeConfiguration, listener(B), 'x');
  assert.ok(inX);
  assert.equal(s.lookup(TypeUrl.routeConfiguration, listener(B), 'y'), inX);
  assert.equal(s.lookup(TypeUrl.routeConfiguration, listener(B), 'shop'), s.resources.get(TypeUrl.routeConfiguration)?.get(listener(B)));
});

test('a namespace whose view is inconsistent keeps the previous generation of that namespace, and the failure is reported', () => {
  // The VirtualService (exported everywhere) routes to subset v3, which only the DestinationRule
  // in `team` (exported to `.`) defines: clients in `other` have no v3 cluster.
  const vs = { name: 'b', namespace: 'team', spec: { hosts: [B], http: [{ route: [{ destination: { host: B, subset: 'v3' } }] }] } };
  const dr = { name: 'b', namespace: 'team', spec: { host: B, exportTo: ['.'], subsets: [{ name: 'v3', labels: { version: 'v2' } }] } };
  const caps = capabilitiesFor('weft');
  const first = buildSnapshot(indexModel(model()), caps);
  const good = first.lookup(TypeUrl.routeConfiguration, listener(B), 'other');
  assert.ok(good);
  const second = buildSnapshot(indexModel({ ...model({ virtualServices: [vs], destinationRules: [dr] }), generation: 2 }), caps, first);
  assert.ok(second.lookup(TypeUrl.cluster, `outbound|80|v3|${B}`, 'team'), 'team sees its own subset');
  assert.equal(second.lookup(TypeUrl.routeConfiguration, listener(B), 'other'), good, 'other keeps the last good route');
  assert.match(second.viewFailures.join('\n'), /not consistent for namespace other/);
  // The last good resources are carried forward through further bad generations.
  const third = buildSnapshot(indexModel({ ...model({ virtualServices: [vs], destinationRules: [dr] }), generation: 3 }), caps, second);
  assert.equal(third.lookup(TypeUrl.routeConfiguration, listener(B), 'other'), good);
  // A good generation replaces them.
  const fourth = buildSnapshot(indexModel({ ...model(), generation: 4 }), caps, third);
  assert.ok(fourth.lookup(TypeUrl.routeConfiguration, listener(B), 'other'));
  assert.deepEqual(fourth.viewFailures, []);
});
