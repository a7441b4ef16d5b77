import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import { capabilitiesFor } from './client-capabilities.ts';
import { indexModel } from './mesh-index.ts';
import { buildSnapshot, type SnapshotTypeUrl } from './snapshot.ts';
import { isSameMessage } from './snapshot-reuse.ts';
import { makeModel, type FixtureInput } from './testing/model-fixture.ts';

test('isSameMessage: equal structures are the same, any difference in value, length, key or bytes is not', () => {
  const base = () => ({ name: 'c', lb: { policy: 'ROUND_ROBIN', n: 3 }, list: [1, { a: 'x' }], any: { type_url: 't', value: new Uint8Array([1, 2, 3]) } });
  assert.equal(isSameMessage(base(), base()), true);
  // key order does not matter; keys holding undefined are absent (as in JSON)
  assert.equal(isSameMessage({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
  assert.equal(isSameMessage({ a: 1, b: undefined }, { a: 1 }), true);
  assert.equal(isSameMessage({ a: 1 }, { a: 1, b: undefined }), true);
  const differences: [unknown, unknown][] = [
    [{ ...base(), lb: { policy: 'ROUND_ROBIN', n: 4 } }, base()],
    [{ ...base(), list: [1] }, base()],
    [{ ...base(), list: [1, { a: 'y' }] }, base()],
    [{ ...base(), any: { type_url: 't', value: new Uint8Array([1, 2, 4]) } }, base()],
    [{ ...base(), any: { type_url: 't', value: new Uint8Array([1, 2]) } }, base()],
    [{ ...base(), extra: 0 }, base()],
    [base(), { ...base(), extra: false }],
    [{ a: null }, { a: {} }],
    [{ a: [] }, { a: {} }],
    [{ a: '1' }, { a: 1 }],
    [{ a: new Map() }, { a: new Map() }],
  ];
  for (const [a, b] of differences) {
    assert.equal(isSameMessage(a, b), false, JSON.stringify([a, b]));
    assert.equal(isSameMessage(b, a), false, JSON.stringify([b, a]));
  }
});

function mesh(generation: number, weight: number, port = 20000): FixtureInput {
  const input: FixtureInput = { generation, services: [], virtualServices: [], destinationRules: [] };
  for (let i = 0; i < 5; i++) {
    input.services.push({ hostname: `s${i}.shop.svc.cluster.local`, ports: [{ number: 80, name: 'http' }], endpoints: [{ address: '127.0.0.1', ports: { http: (i === 0 ? port : 20000) + i }, labels: { version: 'v1' } }] });
    input.destinationRules?.push({ name: `s${i}`, namespace: 'shop', spec: { host: `s${i}`, subsets: [{ name: 'v1', labels: { version: 'v1' } }] } });
    input.virtualServices?.push({ name: `s${i}`, namespace: 'shop', spec: { hosts: [`s${i}`], http: [{ route: [{ destination: { host: `s${i}`, subset: 'v1' }, weight: i === 1 ? weight : 100 }, { destination: { host: `s${i}` }, weight: i === 1 ? 100 - weight : 0 }] }] } });
  }
  return input;
}

test('a new generation reuses the encoding of every unchanged resource and re-encodes exactly the changed ones', () => {
  const caps = capabilitiesFor('grpc-js-xds');
  const first = buildSnapshot(indexModel(makeModel(mesh(1, 90))), caps);
  // s1's route weights and s0's endpoint port change; nothing else does
  const second = buildSnapshot(indexModel(makeModel(mesh(2, 80, 21000))), caps, first);
  const changed: string[] = [];
  for (const [typeUrl, byName] of second.resources) {
    for (const [name, r] of byName) {
      const before = first.resources.get(typeUrl as SnapshotTypeUrl)?.get(name);
      assert.ok(before, `${name} existed before`);
      if (r !== before) {
        changed.push(name);
        assert.notEqual(r.version, before.version, `${name} was re-encoded because it changed`);
      } else assert.equal(r.message, before.message);
    }
  }
  assert.deepEqual(changed.sort(), ['outbound|80|v1|s0.shop.svc.cluster.local', 'outbound|80||s0.shop.svc.cluster.local', 's1.shop.svc.cluster.local:80'].sort());
  assert.ok(second.resources.get(TypeUrl.routeConfiguration)?.has('s1.shop.svc.cluster.local:80'));
});
