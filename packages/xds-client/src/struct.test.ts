import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adsServiceDefinition, nodeForWire } from './ads-service.ts';
import type { DiscoveryRequest } from './ads-service.ts';
import { structToJson, toStruct } from './struct.ts';

const metadata = { NAMESPACE: 'shop', LABELS: { app: 'ratings', version: 'v2' }, WEFT_PORTS: 'http:9080', INSTANCE_IPS: ['127.0.0.1'], READY: true, WEIGHT: 3, NONE: null };

test('node metadata survives the wire: a plain object becomes a Struct the server decodes back', () => {
  const method = adsServiceDefinition()["StreamAggregatedResources"]!;
  const sent: DiscoveryRequest = { type_url: 'x', node: nodeForWire({ id: 'sidecar~127.0.0.1~r.shop~shop.svc.cluster.local', metadata }) };
  const received = method.requestDeserialize(method.requestSerialize(sent)) as DiscoveryRequest;
  assert.deepEqual(structToJson(received.node?.metadata), metadata);
});

test('without nodeForWire protobufjs drops plain-object metadata (the bug this guards)', () => {
  const method = adsServiceDefinition()["StreamAggregatedResources"]!;
  const received = method.requestDeserialize(method.requestSerialize({ node: { id: 'n', metadata } })) as DiscoveryRequest;
  assert.deepEqual(structToJson(received.node?.metadata), {});
});

test('toStruct and structToJson round-trip nested values', () => {
  assert.deepEqual(structToJson(toStruct(metadata)), metadata);
});
