import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesFor } from './client-capabilities.ts';
import { createSnapshotCache, type SnapshotFailure } from './snapshot-cache.ts';
import { makeModel, type FixtureInput } from './testing/model-fixture.ts';

function mesh(generation: number, subset: string): FixtureInput {
  return {
    generation,
    services: [{ hostname: 'catalog.shop.svc.cluster.local', ports: [{ number: 80, name: 'http' }], endpoints: [{ address: '127.0.0.1', labels: { version: 'v1' } }] }],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } }],
    // a route to a subset no DestinationRule defines makes the snapshot inconsistent
    virtualServices: [{ name: 'catalog', namespace: 'shop', spec: { hosts: ['catalog'], http: [{ route: [{ destination: { host: 'catalog', subset } }] }] } }],
  };
}

test('a generation prepared ahead is served as built; its failure is reported only when served, and the last good snapshot stays', () => {
  const failures: SnapshotFailure[] = [];
  const cache = createSnapshotCache((f) => failures.push(f));
  const caps = capabilitiesFor('grpc-js-xds');
  const m1 = makeModel(mesh(1, 'v1'));
  const s1 = cache.get(m1, caps);
  assert.ok(s1);

  const m2 = makeModel(mesh(2, 'v1'));
  cache.prepare(m2, caps);
  assert.equal(cache.get(m1, caps), s1, 'the generation in force is still served while the next one is prepared');
  const s2 = cache.get(m2, caps);
  assert.ok(s2 && s2 !== s1);
  assert.equal(cache.get(m2, capabilitiesFor('grpc-js-xds')), s2, 'one snapshot per profile and generation');

  const broken = makeModel(mesh(3, 'v9'));
  cache.prepare(broken, caps);
  assert.equal(failures.length, 0, 'a prepared generation that fails is not reported before it is served');
  assert.equal(cache.get(m2, caps), s2);
  assert.equal(cache.get(broken, caps), s2, 'served: the last good snapshot instead');
  assert.equal(cache.get(broken, caps), s2);
  assert.equal(failures.length, 1, 'reported once');
  assert.equal(failures[0]?.generation, 3);
  assert.match(failures[0]?.message ?? '', /v9/);

  // a prepared generation that was never served is not a fallback
  const m4 = makeModel(mesh(4, 'v1'));
  cache.prepare(m4, caps);
  const broken5 = makeModel(mesh(5, 'v9'));
  assert.equal(cache.get(broken5, caps), s2, 'the last snapshot served, not the prepared one');
  assert.equal(failures.length, 2);
});
