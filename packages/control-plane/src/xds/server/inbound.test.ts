/**
 * Inbound listeners and upstream TLS end to end through the real xDS server on loopback: a raw
 * ADS stream with a workload's node metadata asks for its inbound listener, the answer decodes
 * with the SDK's decoder, a config edit re-pushes it, and CDS carries the TLS sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, unpackAny, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse, type Listener } from '@weft/xds-client';
import type { MeshModel } from '../../model/mesh-model.ts';
import { createXdsServer } from '../xds-server.ts';
import { fakeSource, makeModel } from '../testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';
import { rateLimitFilter, withPolicies } from '../testing/security-fixture.ts';

/** The server hands the model to its streams (`ConnectionHost.model`); without it inbound names are absent. */
const CATALOG = 'catalog.shop.svc.cluster.local';
const RATINGS = 'ratings.shop.svc.cluster.local';
const inbound = (port: number) => `xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`;
const node = (id: string) => testNode(id, { NAMESPACE: 'shop', LABELS: 'app=catalog,version=v1', SERVICE_ACCOUNT: 'catalog', WORKLOAD_NAME: 'catalog-v1' });

function baseModel(generation: number): MeshModel {
  const m = makeModel({
    generation,
    services: [
      { hostname: CATALOG, ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', ports: { grpc: 7001 }, serviceAccount: 'catalog', labels: { app: 'catalog' } }] },
      { hostname: RATINGS, ports: [{ number: 9080, name: 'http' }], endpoints: [{ address: '127.0.0.2', serviceAccount: 'ratings' }] },
    ],
    destinationRules: [{ name: 'ratings', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } }],
  });
  // catalog's endpoint registered itself (a mesh workload); ratings' is a ServiceEntry endpoint
  const endpoints = new Map([...m.endpoints].map(([h, list]) => [h, list.map((w) => (h === CATALOG ? { ...w, origin: 'registration' as const } : w))]));
  return { ...m, endpoints };
}

function strictModel(generation = 1): MeshModel {
  return withPolicies(baseModel(generation), {
    peer: [
      ['shop', 'default', { mtls: { mode: 'STRICT' } }],
      ['shop', 'catalog-metrics', { selector: { matchLabels: { app: 'catalog' } }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }],
    ],
    authz: [
      ['shop', 'catalog-viewer', { selector: { matchLabels: { app: 'catalog' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { paths: ['/shop.Catalog/*'] } }] }] }],
      ['istio-system', 'no-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] }],
      ['shop', 'audit', { action: 'AUDIT', rules: [{}] }],
    ],
    envoyFilters: [['shop', 'catalog-ratelimit', rateLimitFilter('catalog', 10)]],
  });
}

function listenersOf(res: { resources?: unknown[] }): Map<string, Listener> {
  const out = new Map<string, Listener>();
  for (const r of (res.resources ?? []) as { type_url: string; value: Uint8Array; resource?: unknown }[]) {
    const any = (r.resource ?? r) as { type_url: string; value: Uint8Array };
    const d = decodeResource(TypeUrl.listener, any);
    assert.ok(d.result.ok, d.result.ok ? '' : d.result.error);
    out.set(d.name, d.result.value as Listener);
  }
  return out;
}

const filters = (l: Listener | undefined) => l?.filterChains[0]?.httpConnectionManager.httpFilters.map((f) => f.name);

async function start(model: MeshModel) {
  const source = fakeSource(model);
  const server = createXdsServer({ source, debounceMs: 10, limits: { removalDelayMs: 0 } });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  return { source, server, client, async stop() { client.close(); await server.close(500); } };
}

test('SotW: the inbound listener follows PeerAuthentication (namespace STRICT, port DISABLE), RBAC and rate limit; an edit re-pushes it', async () => {
  const { source, server, client, stop } = await start(strictModel());
  try {
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: node('catalog-1'), type_url: TypeUrl.listener, resource_names: [inbound(50051), inbound(8080)] });
    const first = await s.next(10_000);
    const ls = listenersOf(first);
    const main = ls.get(inbound(50051));
    assert.equal(main?.filterChains.length, 1, 'STRICT: one chain');
    assert.equal(main?.filterChains[0]?.tls?.requireClientCertificate, true);
    assert.deepEqual(main?.address, { address: '0.0.0.0', port: 50051 });
    assert.deepEqual(filters(main), ['envoy.filters.http.rbac.audit', 'envoy.filters.http.rbac.deny', 'envoy.filters.http.rbac.allow', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
    const metrics = ls.get(inbound(8080));
    assert.equal(metrics?.filterChains.length, 1);
    assert.equal(metrics?.filterChains[0]?.tls, undefined, 'portLevelMtls DISABLE: plaintext');
    const conn = server.connections()[0];
    assert.ok(!conn?.omissions.some((o) => o.field.includes('AuthorizationPolicy shop/audit')), 'AUDIT is sent to a Weft client, not omitted');
    s.send({ type_url: TypeUrl.listener, resource_names: [inbound(50051), inbound(8080)], version_info: first.version_info, response_nonce: first.nonce });
    await s.expectNothing(150);

    // namespace goes PERMISSIVE and the ALLOW policy is removed
    const edited = strictModel(2);
    source.set({ ...edited, peerAuthentications: [], authorizationPolicies: edited.authorizationPolicies.filter((p) => p.name !== 'catalog-viewer') });
    const pushed = listenersOf(await s.next(10_000));
    const after = pushed.get(inbound(50051));
    assert.deepEqual(after?.filterChains.map((c) => [c.match.transportProtocol, !!c.tls]), [['tls', true], ['', false]], 'PERMISSIVE: tls chain plus plaintext chain');
    assert.deepEqual(filters(after), ['envoy.filters.http.rbac.audit', 'envoy.filters.http.rbac.deny', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
    s.close();
  } finally {
    await stop();
  }
});

test('Delta: inbound listener subscribe, unchanged content is not pushed again, [::] names', async () => {
  const { source, client, stop } = await start(strictModel());
  try {
    const d = client.delta<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
    d.send({ node: node('catalog-2'), type_url: TypeUrl.listener, resource_names_subscribe: ['xds.istio.io/grpc/lds/inbound/[::]:50051'] });
    const first = await d.next(10_000);
    const l = listenersOf(first).get('xds.istio.io/grpc/lds/inbound/[::]:50051');
    assert.deepEqual(l?.address, { address: '::', port: 50051 });
    d.send({ type_url: TypeUrl.listener, response_nonce: first.nonce });
    // a change elsewhere (ratings' DestinationRule) leaves the inbound listener's bytes unchanged
    const m = strictModel(2);
    source.set({ ...m, destinationRules: [] });
    await d.expectNothing(300);
    d.close();
  } finally {
    await stop();
  }
});

test('CDS: ISTIO_MUTUAL from a DestinationRule and auto mTLS for self-registered endpoints, with SPIFFE SANs', async () => {
  const { client, stop } = await start(strictModel());
  try {
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: node('client-1'), type_url: TypeUrl.cluster });
    const res = await s.next(10_000);
    const clusters = new Map((res.resources ?? []).map((r) => {
      const m = unpackAny(r) as Record<string, any>;
      return [m.name as string, m];
    }));
    const ratings = clusters.get(`outbound|9080||${RATINGS}`);
    const rctx = unpackAny(ratings?.transport_socket.typed_config) as Record<string, any>;
    assert.deepEqual(rctx.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names.map((m: any) => m.exact), ['spiffe://cluster.local/ns/shop/sa/ratings']);
    assert.equal(rctx.sni, `outbound_.9080_._.${RATINGS}`);
    const catalog = clusters.get(`outbound|50051||${CATALOG}`);
    assert.equal(catalog?.transport_socket, undefined);
    assert.equal(catalog?.transport_socket_matches.length, 2);
    const cctx = unpackAny(catalog?.transport_socket_matches[0].transport_socket.typed_config) as Record<string, any>;
    assert.deepEqual(cctx.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names.map((m: any) => m.exact), ['spiffe://cluster.local/ns/shop/sa/catalog']);
    s.close();
  } finally {
    await stop();
  }
});
