/**
 * A raw ADS client that identifies itself as Envoy does (user agent `envoy`, the node of
 * `weft envoy-bootstrap`) against a running xDS server: it gets the sidecar-shaped resources in
 * Envoy's subscription order (CDS and LDS wildcard, EDS and RDS by name), its ACKs and NACKs are
 * booked per type, it registers as an endpoint reached on the inbound port, and a proxyless
 * client of the same mesh still gets the proxyless shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse, type XdsNode } from '@weft/xds-client';
import { toStruct } from '../generators/types.ts';
import { fakeSource } from '../testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';
import { createXdsServer } from '../xds-server.ts';
import { ratingsNode, scenarioModel } from './testing-mesh.ts';

function names(res: DiscoveryResponse): string[] {
  return (res.resources ?? []).map((r) => String(unpackAny(r).name ?? unpackAny(r).cluster_name)).sort();
}

test('an Envoy node over ADS: sidecar resources, ACK/NACK bookkeeping, registration on the inbound port', async () => {
  const source = fakeSource(await scenarioModel('01-canary.yaml'));
  const server = createXdsServer({ source, debounceMs: 10, registrationGraceMs: 50, limits: { removalDelayMs: 0 } });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const raw = ratingsNode();
    const node: XdsNode = { id: raw.id, user_agent_name: 'envoy', metadata: toStruct(raw.metadata) };
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const ack = (r: DiscoveryResponse, resource_names: string[] = []) => s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names });

    s.send({ node, type_url: TypeUrl.cluster });
    const cds = await s.next();
    assert.ok(names(cds).includes('inbound|9080||'));
    assert.ok(names(cds).includes('outbound|50051|v1|catalog.shop.svc.cluster.local'));
    ack(cds);
    const edsNames = names(cds);
    s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: edsNames });
    const eds = await s.next();
    assert.deepEqual(names(eds), edsNames, 'every cluster has its assignment');
    ack(eds, edsNames);

    s.send({ type_url: TypeUrl.listener });
    const lds = await s.next();
    assert.deepEqual(names(lds), ['virtualInbound', 'virtualOutbound']);
    ack(lds);
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: ['virtualInbound', 'virtualOutbound'] });
    const rds = await s.next();
    assert.deepEqual(names(rds), ['virtualInbound', 'virtualOutbound']);
    // Envoy NACKs RDS (say, a route it cannot take): recorded, nothing resent
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: ['virtualInbound', 'virtualOutbound'], version_info: '', response_nonce: rds.nonce, error_detail: { code: 3, message: 'test rejection' } });
    await s.expectNothing(100);

    const sync = server.syncReport().clients.find((c) => c.nodeId === raw.id);
    assert.equal(sync?.kind, 'envoy');
    assert.equal(sync?.types.cds?.acks, 1);
    assert.equal(sync?.types.eds?.acks, 1);
    assert.equal(sync?.types.lds?.acks, 1);
    assert.equal(sync?.types.rds?.nacks, 1);
    assert.equal(sync?.types.rds?.lastNack?.message, 'test rejection');
    assert.ok(sync?.omissions.some((o) => o.field === 'auto mTLS'), 'a sidecar without a certificate is told it reaches mesh workloads in plaintext');

    const registered = source.registered.get(`xds:${raw.id}`);
    assert.equal(registered?.address, '10.0.0.20');
    assert.deepEqual(registered?.ports.map((p) => [p.number, p.targetPort]), [[9080, 15006]]);

    // a proxyless client of the same mesh still gets API listeners named host:port
    const p = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    p.send({ node: testNode('sidecar~10.0.0.40~probe.shop~shop.svc.cluster.local', { NAMESPACE: 'shop' }, 'gRPC Node Pure JS'), type_url: TypeUrl.listener, resource_names: ['catalog.shop.svc.cluster.local:50051'] });
    assert.deepEqual(names(await p.next()), ['catalog.shop.svc.cluster.local:50051']);
    p.close();
    s.close();
  } finally {
    client.close();
    await server.close(500);
  }
});
