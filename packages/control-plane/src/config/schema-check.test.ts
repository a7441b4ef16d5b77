import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSchema, kindsFor } from './schema-check.ts';
import type { ConfigKind } from '../model/mesh-model.ts';

const doc = (apiVersion: string, kind: string, spec: unknown) => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'shop', labels: { any: 'label' } }, spec });

test('kindsFor lists the kinds of each API version Weft reads, and nothing else', () => {
  assert.deepEqual(kindsFor('networking.istio.io/v1'), ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'WorkloadEntry', 'WorkloadGroup', 'Sidecar']);
  assert.ok(kindsFor('networking.istio.io/v1alpha3')?.includes('EnvoyFilter'));
  assert.ok(!kindsFor('networking.istio.io/v1')?.includes('EnvoyFilter'));
  assert.deepEqual(kindsFor('security.istio.io/v1beta1'), ['PeerAuthentication', 'AuthorizationPolicy']);
  assert.equal(kindsFor('apps/v1'), undefined);
  assert.equal(kindsFor('networking.istio.io/v2'), undefined);
});

test('the generated validators catch wrong types and enum values; unknown fields are found at any depth, in every kind', async () => {
  const cases: [string, ConfigKind, unknown, string][] = [
    ['networking.istio.io/v1', 'VirtualService', { hosts: ['a'], http: [{ route: [{ destination: { host: 'a', subsett: 'v1' } }] }] }, 'spec/http/0/route/0/destination/subsett'],
    ['networking.istio.io/v1beta1', 'DestinationRule', { host: 'a', trafficPolicy: { loadBalancer: { simpel: 'RANDOM' } } }, 'spec/trafficPolicy/loadBalancer/simpel'],
    ['networking.istio.io/v1', 'Gateway', { servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], hostz: 1 }] }, 'spec/servers/0/hostz'],
    ['networking.istio.io/v1', 'ServiceEntry', { hosts: ['a.b'], resolution: 'DNS', extra: true }, 'spec/extra'],
    ['networking.istio.io/v1', 'WorkloadEntry', { address: '1.2.3.4', adress: 'x' }, 'spec/adress'],
    ['networking.istio.io/v1', 'Sidecar', { egress: [{ hosts: ['./*'], host: 'x' }] }, 'spec/egress/0/host'],
    ['networking.istio.io/v1alpha3', 'EnvoyFilter', { configPatches: [{ applyTo: 'HTTP_FILTER', pach: {} }] }, 'spec/configPatches/0/pach'],
    ['security.istio.io/v1', 'PeerAuthentication', { mtls: { mode: 'STRICT', strict: true } }, 'spec/mtls/strict'],
    ['security.istio.io/v1', 'AuthorizationPolicy', { rules: [{ from: [{ source: { principal: ['x'] } }] }] }, 'spec/rules/0/from/0/source/principal'],
  ];
  for (const [apiVersion, kind, spec, path] of cases) {
    const problems = await checkSchema(apiVersion, kind, doc(apiVersion, kind, spec));
    assert.deepEqual(problems.map((p) => p.path.join('/')), [path], `${kind}: ${JSON.stringify(problems)}`);
    assert.match(problems[0]!.message, /unknown field/);
  }
  const typed = await checkSchema('networking.istio.io/v1', 'VirtualService', doc('networking.istio.io/v1', 'VirtualService', { hosts: 'not-a-list' }));
  assert.deepEqual(typed, [{ path: ['spec', 'hosts'], message: 'must be array' }]);
  const en = await checkSchema('security.istio.io/v1', 'PeerAuthentication', doc('security.istio.io/v1', 'PeerAuthentication', { mtls: { mode: 'SOMETIMES' } }));
  assert.deepEqual(en.map((p) => p.path.join('.')), ['spec.mtls.mode']);
  assert.match(en[0]!.message, /must be one of .*STRICT/);
});

test('maps (labels, headers) and free-form values (EnvoyFilter patch.value) accept any key', async () => {
  const vs = await checkSchema('networking.istio.io/v1', 'VirtualService', doc('networking.istio.io/v1', 'VirtualService', {
    hosts: ['a'],
    http: [{ match: [{ headers: { 'x-anything': { exact: 'y' } } }], route: [{ destination: { host: 'a' }, headers: { request: { set: { 'x-b': 'c' } } } }] }],
  }));
  assert.deepEqual(vs, []);
  const ef = await checkSchema('networking.istio.io/v1alpha3', 'EnvoyFilter', doc('networking.istio.io/v1alpha3', 'EnvoyFilter', {
    configPatches: [{ applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE', value: { name: 'f', typed_config: { '@type': 't', deeply: { nested: ['free', { form: 1 }] } } } } }],
  }));
  assert.deepEqual(ef, []);
});

test('a string match with two alternatives set is one clear problem, not a cascade', async () => {
  const p = await checkSchema('networking.istio.io/v1', 'VirtualService', doc('networking.istio.io/v1', 'VirtualService', {
    hosts: ['a'],
    http: [{ match: [{ uri: { exact: '/a', prefix: '/b' } }], route: [{ destination: { host: 'a' } }] }],
  }));
  assert.ok(p.length >= 1);
  assert.ok(p.every((x) => x.path.join('.').startsWith('spec.http.0.match.0.uri')), JSON.stringify(p));
});

test('numeric map keys stay keys in field paths (portLevelMtls."8080"), array indexes become numbers', async () => {
  const p = await checkSchema('security.istio.io/v1', 'PeerAuthentication', doc('security.istio.io/v1', 'PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'NOPE' } } }));
  assert.deepEqual(p.map((x) => x.path), [['spec', 'portLevelMtls', '8080', 'mode']]);
  const q = await checkSchema('networking.istio.io/v1', 'VirtualService', doc('networking.istio.io/v1', 'VirtualService', { hosts: ['a', 7] }));
  assert.deepEqual(q.map((x) => x.path), [['spec', 'hosts', 1]]);
});
