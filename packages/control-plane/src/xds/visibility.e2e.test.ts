import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import type { MeshModel, ServiceModel } from '../model/mesh-model.ts';
import { createXdsServer } from './xds-server.ts';
import { fakeSource, makeModel } from './testing/model-fixture.ts';
import { rawAdsClient, testNode } from './testing/raw-ads-client.ts';

const PRIVATE = 'ledger.bank.svc.cluster.local'; // exportTo: ['.']
const PUBLIC = 'rates.bank.svc.cluster.local';

function model(): MeshModel {
  const port = [{ number: 8080, name: 'http', protocol: 'HTTP' }];
  const m = makeModel({ services: [{ hostname: PRIVATE, ports: port, endpoints: [{ address: '127.0.0.1' }] }, { hostname: PUBLIC, ports: port, endpoints: [{ address: '127.0.0.2' }] }] });
  return { ...m, services: new Map<string, ServiceModel>([...m.services].map(([h, s]) => [h, h === PRIVATE ? { ...s, exportTo: ['.'] } : s])) };
}

test('through the xDS server, a client only receives the listeners its namespace may see', async () => {
  const server = createXdsServer({ source: fakeSource(model()), debounceMs: 10 });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const listenersFor = async (id: string, namespace: string): Promise<string[]> => {
      const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
      s.send({ node: testNode(id, { NAMESPACE: namespace }), type_url: TypeUrl.listener, resource_names: [`${PRIVATE}:8080`, `${PUBLIC}:8080`] });
      const res = await s.next(10_000);
      s.close();
      return (res.resources ?? []).map((r) => String(unpackAny(r).name)).sort();
    };
    assert.deepEqual(await listenersFor('inside', 'bank'), [`${PRIVATE}:8080`, `${PUBLIC}:8080`]);
    assert.deepEqual(await listenersFor('outside', 'shop'), [`${PUBLIC}:8080`]);
  } finally {
    client.close();
    await server.close(500);
  }
});
