import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, unpackAny, type Listener } from '@weft/xds-client';
import { capabilitiesFor } from '../client-capabilities.ts';
import { createInboundResources, inboundWorkloadFromMetadata } from '../inbound-resources.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { rateLimitFilter, withPolicies, workload } from '../testing/security-fixture.ts';

const NAME = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:50051';
const weft = capabilitiesFor('weft');
const base = makeModel({ services: [] });
const catalog = workload('shop', { app: 'catalog' }, 'catalog');

/** Resolves and decodes with the SDK's own decoder (the contract with the xds-client). */
function resolve(model = base, name = NAME, w = catalog, caps = weft) {
  const result = createInboundResources().resolve(model, name, w, caps);
  assert.ok(result?.resource, 'inbound listener expected');
  const decoded = decodeResource(TypeUrl.listener, result.resource.any);
  assert.ok(decoded.result.ok, `the xds-client accepts it: ${decoded.result.ok ? '' : decoded.result.error}`);
  return { listener: decoded.result.value as Listener, raw: unpackAny(result.resource.any), omissions: result.omissions, resource: result.resource };
}

function filterNames(l: Listener, chain = 0): string[] {
  return l.filterChains[chain]?.httpConnectionManager.httpFilters.map((f) => `${f.name}${f.config.type === 'rbac' ? `:${f.config.rbac.rules?.action}` : ''}`) ?? [];
}

test('no policy: PERMISSIVE — a tls chain (transport_protocol tls, client cert required) and a plaintext chain; router only', () => {
  const { listener, raw } = resolve();
  assert.equal(listener.name, NAME);
  assert.deepEqual(listener.address, { address: '0.0.0.0', port: 50051 });
  assert.equal(listener.filterChains.length, 2);
  const [tls, plain] = listener.filterChains;
  assert.equal(tls?.match.transportProtocol, 'tls');
  assert.equal(tls?.tls?.requireClientCertificate, true);
  assert.equal(plain?.match.transportProtocol, '');
  assert.equal(plain?.tls, undefined);
  assert.deepEqual(filterNames(listener), ['envoy.filters.http.router']);
  const hcm = unpackAny((raw.filter_chains as any)[0].filters[0].typed_config);
  const route = (hcm.route_config as any).virtual_hosts[0].routes[0];
  assert.deepEqual((hcm.route_config as any).virtual_hosts[0].domains, ['*']);
  assert.ok(route.non_forwarding_action, 'non-forwarding route');
  const ctx = unpackAny((raw.filter_chains as any)[0].transport_socket.typed_config) as any;
  assert.deepEqual(ctx.common_tls_context.tls_certificate_provider_instance, { instance_name: 'default', certificate_name: 'default' });
  assert.deepEqual(ctx.common_tls_context.validation_context.ca_certificate_provider_instance, { instance_name: 'default', certificate_name: 'ROOTCA' });
});

test('STRICT: one mTLS chain; DISABLE: one plaintext chain; portLevelMtls per port; IPv6 names', () => {
  const model = withPolicies(base, { peer: [['shop', 'default', { mtls: { mode: 'STRICT' } }], ['shop', 'catalog', { selector: { matchLabels: { app: 'catalog' } }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }]] });
  const strict = resolve(model).listener;
  assert.equal(strict.filterChains.length, 1);
  assert.equal(strict.filterChains[0]?.tls?.requireClientCertificate, true);
  const plain = resolve(model, 'xds.istio.io/grpc/lds/inbound/[::]:8080').listener;
  assert.deepEqual(plain.address, { address: '::', port: 8080 });
  assert.equal(plain.filterChains.length, 1);
  assert.equal(plain.filterChains[0]?.tls, undefined);
});

test('filters in order: RBAC DENY, RBAC ALLOW, local rate limit, router', () => {
  const model = withPolicies(base, {
    authz: [
      ['shop', 'allow-frontend', { selector: { matchLabels: { app: 'catalog' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }] }] }],
      ['shop', 'deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] }],
    ],
    envoyFilters: [['shop', 'catalog-ratelimit', rateLimitFilter('catalog', 10)]],
  });
  const { listener } = resolve(model);
  for (const chain of [0, 1]) {
    assert.deepEqual(filterNames(listener, chain), ['envoy.filters.http.rbac.deny:DENY', 'envoy.filters.http.rbac.allow:ALLOW', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
  }
  const rl = listener.filterChains[0]?.httpConnectionManager.httpFilters[2]?.config;
  assert.ok(rl?.type === 'localRateLimit');
  assert.deepEqual(rl.localRateLimit.tokenBucket, { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 });
  assert.deepEqual(rl.localRateLimit.responseHeadersToAdd.map((h: any) => h.key ?? h.header?.key), ['x-local-rate-limit']);
  // a workload the selectors do not pick gets neither the ALLOW nor the rate limit
  assert.deepEqual(filterNames(resolve(model, NAME, workload('shop', { app: 'ratings' })).listener), ['envoy.filters.http.rbac.deny:DENY', 'envoy.filters.http.router']);
  // an outbound-only rate limit does not apply inbound; grpc clients get the filter as optional
  const outbound = JSON.parse(JSON.stringify(rateLimitFilter('catalog')).replace('SIDECAR_INBOUND', 'SIDECAR_OUTBOUND'));
  assert.deepEqual(filterNames(resolve(withPolicies(base, { envoyFilters: [['shop', 'o', outbound]] })).listener), ['envoy.filters.http.router']);
  const grpc = resolve(model, NAME, catalog, capabilitiesFor('grpc-js-xds')).listener;
  assert.equal(grpc.filterChains[0]?.httpConnectionManager.httpFilters[2]?.isOptional, true);
});

test('resolver: one encoding per distinct content, per-node answers, names that are not inbound are undefined', () => {
  const r = createInboundResources();
  const model = withPolicies(base, { peer: [['shop', 'catalog', { selector: { matchLabels: { app: 'catalog' } }, mtls: { mode: 'STRICT' } }]] });
  const a = r.resolve(model, NAME, catalog, weft);
  const b = r.resolve(model, NAME, workload('shop', { app: 'catalog' }, 'other-sa'), weft);
  const c = r.resolve(model, NAME, workload('shop', { app: 'ratings' }), weft);
  assert.ok(a?.resource && b?.resource && c?.resource);
  assert.equal(a.resource, b.resource, 'equal content is encoded once');
  assert.notEqual(a.resource.version, c.resource.version, 'ratings is PERMISSIVE, catalog STRICT');
  const next = r.resolve({ ...model, generation: 2, version: 'v2' }, NAME, catalog, weft);
  assert.equal(next?.resource, a.resource, 'an unchanged listener keeps its encoding across generations');
  assert.equal(r.resolve(model, 'catalog.shop.svc.cluster.local:50051', catalog, weft), undefined);
  assert.equal(r.resolve(model, 'xds.istio.io/grpc/lds/inbound/nope', catalog, weft), undefined);
});

test('node metadata: LABELS as a map or k=v list, SERVICE_ACCOUNT defaulting to default', () => {
  assert.deepEqual(inboundWorkloadFromMetadata({ LABELS: { app: 'a', n: 1 }, SERVICE_ACCOUNT: 'sa', WORKLOAD_NAME: 'w' }, 'ns'), { namespace: 'ns', labels: { app: 'a' }, serviceAccount: 'sa', workloadName: 'w' });
  assert.deepEqual(inboundWorkloadFromMetadata({ LABELS: 'app=a, version=v1' }, 'ns'), { namespace: 'ns', labels: { app: 'a', version: 'v1' }, serviceAccount: 'default', workloadName: '' });
});
