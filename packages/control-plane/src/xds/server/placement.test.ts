/**
 * EDS locality failover per client through the real xDS server on loopback: the node's
 * `locality` (its bootstrap) decides which endpoints are priority 0 for it, so two clients in
 * different regions asking for the same cluster get different priorities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, type ClusterLoadAssignment, type DiscoveryRequest, type DiscoveryResponse, type XdsNode } from '@weft/xds-client';
import { createXdsServer } from '../xds-server.ts';
import { fakeSource, makeModel } from '../testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';

const HOST = 'ratings.shop.svc.cluster.local';
const CLUSTER = `outbound|9080||${HOST}`;

function model() {
  return makeModel({
    services: [{
      hostname: HOST,
      ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }],
      endpoints: [
        { address: '127.0.0.1', locality: 'us-east/a/r1' },
        { address: '127.0.0.2', locality: 'eu-west/b/r1' },
      ],
    }],
    // Istio turns locality failover on only together with outlier detection
    destinationRules: [{ name: 'ratings', namespace: 'shop', spec: { host: HOST, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5 } } } }],
  });
}

function placedNode(id: string, region: string, zone: string): XdsNode {
  return { ...testNode(id, { NAMESPACE: 'shop' }), locality: { region, zone, sub_zone: 'r1' } };
}

/** Priority of each endpoint address in the one assignment of `res`. */
function priorities(res: DiscoveryResponse): Record<string, number> {
  const [any] = res.resources as { type_url: string; value: Uint8Array }[];
  assert.ok(any);
  const d = decodeResource(TypeUrl.clusterLoadAssignment, any);
  assert.ok(d.result.ok, d.result.ok ? '' : d.result.error);
  const cla = d.result.value as ClusterLoadAssignment;
  const out: Record<string, number> = {};
  for (const l of cla.localities) for (const e of l.endpoints) out[e.address] = l.priority;
  return out;
}

test('two clients in different localities get different EDS priorities for the same cluster', async () => {
  const server = createXdsServer({ source: fakeSource(model()), debounceMs: 10 });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const us = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const eu = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const unplaced = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    us.send({ node: placedNode('us-1', 'us-east', 'a'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [CLUSTER] });
    eu.send({ node: placedNode('eu-1', 'eu-west', 'b'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [CLUSTER] });
    unplaced.send({ node: testNode('nowhere-1', { NAMESPACE: 'shop' }), type_url: TypeUrl.clusterLoadAssignment, resource_names: [CLUSTER] });
    assert.deepEqual(priorities(await us.next(10_000)), { '127.0.0.1': 0, '127.0.0.2': 1 });
    assert.deepEqual(priorities(await eu.next(10_000)), { '127.0.0.1': 1, '127.0.0.2': 0 });
    // a client that reports no locality gets the assignment as generated: one priority
    assert.deepEqual(priorities(await unplaced.next(10_000)), { '127.0.0.1': 0, '127.0.0.2': 0 });
    us.close();
    eu.close();
    unplaced.close();
  } finally {
    client.close();
    await server.close(500);
  }
});
