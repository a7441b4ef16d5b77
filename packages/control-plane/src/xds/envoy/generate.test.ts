/**
 * Envoy sidecar configs against Envoy's own protos and golden files. Envoy itself cannot run
 * here, so: every resource the control plane would send an Envoy node (and the bootstrap) is
 * encoded strictly (unknown fields, enum names and JSON types fail), decoded back, re-encoded to
 * the same bytes, and compared with `testdata/<scenario>.json`. `WEFT_UPDATE_GOLDEN=1` rewrites
 * the golden files instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import { capabilitiesFor, detectClientKind } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { buildSnapshot, SNAPSHOT_TYPES } from '../snapshot.ts';
import { decodeEnvoyJson, encodeEnvoyJson } from './proto-json.ts';
import { ratingsBootstrap, ratingsNode, scenarioModel } from './testing-mesh.ts';

const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';
const SHORT: Record<string, string> = { [TypeUrl.cluster]: 'clusters', [TypeUrl.clusterLoadAssignment]: 'endpoints', [TypeUrl.listener]: 'listeners', [TypeUrl.routeConfiguration]: 'routes' };

/** Decodes, re-encodes strictly and checks the bytes are stable; returns the decoded JSON. */
function roundTrip(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const decoded = decodeEnvoyJson(typeName, bytes);
  assert.deepEqual(Buffer.from(encodeEnvoyJson(typeName, decoded)), Buffer.from(bytes), `${typeName} re-encodes to the same bytes`);
  return decoded;
}

async function envoyView(scenario: string, hasCerts = false) {
  const node = ratingsNode(hasCerts);
  const kind = detectClientKind(node, node.metadata);
  const snap = buildSnapshot(indexModel(await scenarioModel(scenario)), capabilitiesFor(kind, node, node.metadata));
  const view = snap.resourcesFor('shop');
  assert.ok(view, 'the shop view builds');
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const typeUrl of SNAPSHOT_TYPES) {
    out[SHORT[typeUrl] as string] = [...(view.get(typeUrl)?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name)).map((r) => {
      assert.equal(r.any.type_url, typeUrl);
      return roundTrip(typeUrl, r.any.value);
    });
  }
  return { kind, resources: out, omissions: snap.omissions };
}

function golden(name: string, actual: unknown): void {
  const path = new URL(`./testdata/${name}.json`, import.meta.url);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.WEFT_UPDATE_GOLDEN === '1') {
    writeFileSync(path, text);
    return;
  }
  assert.equal(text, readFileSync(path, 'utf8'), `golden ${name}.json differs (WEFT_UPDATE_GOLDEN=1 to update after checking the diff)`);
}

test('the bootstrap encodes strictly against envoy.config.bootstrap.v3.Bootstrap and matches its golden file', () => {
  const bootstrap = ratingsBootstrap();
  const decoded = roundTrip(BOOTSTRAP_TYPE, encodeEnvoyJson(BOOTSTRAP_TYPE, bootstrap));
  const ads = (decoded.dynamic_resources as { ads_config: Record<string, unknown> }).ads_config;
  assert.equal(ads.api_type, 'GRPC');
  assert.equal(ads.transport_api_version, 'V3');
  golden('bootstrap', bootstrap);
  const withCerts = ratingsBootstrap(true);
  const secrets = (roundTrip(BOOTSTRAP_TYPE, encodeEnvoyJson(BOOTSTRAP_TYPE, withCerts)).static_resources as { secrets: { name: string }[] }).secrets;
  assert.deepEqual(secrets.map((x) => x.name), ['default', 'ROOTCA']);
  golden('bootstrap-certs', withCerts);
});

test('a misspelt field or enum in Envoy JSON is refused with WEFT_ERR_XDS_INVALID naming the path', () => {
  const bootstrap = ratingsBootstrap() as { admin: Record<string, unknown>; static_resources: { clusters: Record<string, unknown>[] } };
  assert.throws(() => encodeEnvoyJson(BOOTSTRAP_TYPE, { ...bootstrap, admin: { ...bootstrap.admin, adress: {} } }), (e: Error & { code?: string }) => e.code === 'WEFT_ERR_XDS_INVALID' && e.message.includes('admin.adress'));
  const clusters = bootstrap.static_resources.clusters.map((c, i) => (i === 0 ? { ...c, type: 'STATICK' } : c));
  assert.throws(() => encodeEnvoyJson(BOOTSTRAP_TYPE, { ...bootstrap, static_resources: { ...bootstrap.static_resources, clusters } }), /static_resources\.clusters\[0\]\.type/);
});

test('canary scenario: an envoy node gets the sidecar listeners, one outbound route table with the canary weights, and the inbound path to its app', async () => {
  const { kind, resources, omissions } = await envoyView('01-canary.yaml');
  assert.equal(kind, 'envoy');
  assert.deepEqual(resources.listeners?.map((l) => l.name), ['virtualInbound', 'virtualOutbound']);
  const outbound = resources.routes?.find((r) => r.name === 'virtualOutbound') as { virtual_hosts: { name: string; domains: string[]; routes: { route?: { weighted_clusters?: { clusters: { name: string; weight: { value: number } }[] } } }[] }[] };
  const catalog = outbound.virtual_hosts.find((v) => v.name === 'catalog.shop.svc.cluster.local:50051');
  assert.ok(catalog?.domains.includes('catalog:50051'), 'short names of the own namespace resolve');
  assert.deepEqual(catalog?.routes[0]?.route?.weighted_clusters?.clusters.map((c) => [c.name, c.weight.value]), [['outbound|50051|v1|catalog.shop.svc.cluster.local', 90], ['outbound|50051|v2|catalog.shop.svc.cluster.local', 10]]);
  const all = outbound.virtual_hosts.flatMap((v) => v.domains);
  assert.equal(new Set(all).size, all.length, 'no domain twice (Envoy refuses the route table)');
  assert.ok(resources.clusters?.some((c) => c.name === 'inbound|9080||'));
  const inboundEp = resources.endpoints?.find((e) => e.cluster_name === 'inbound|9080||');
  assert.deepEqual(inboundEp?.endpoints, [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9080 } } } }] }]);
  // the sidecar's own endpoint is reached through its inbound port
  const ratingsEp = JSON.stringify(resources.endpoints?.find((e) => e.cluster_name === 'outbound|9080||ratings.shop.svc.cluster.local'));
  assert.match(ratingsEp, /"address":"10\.0\.0\.20","port_value":15006/);
  // no certificate: auto mTLS and the PERMISSIVE mTLS chain are left out, and said so
  assert.equal(JSON.stringify(resources.clusters).includes('tlsMode-istio'), false);
  const inbound = resources.listeners?.find((l) => l.name === 'virtualInbound') as { filter_chains: unknown[]; listener_filters?: unknown };
  assert.equal(inbound.filter_chains.length, 1);
  assert.equal(inbound.listener_filters, undefined);
  assert.deepEqual(omissions.map((o) => o.field).filter((f) => /mTLS/.test(f)).sort(), ['PeerAuthentication PERMISSIVE (mTLS chain)', 'auto mTLS']);
  golden('canary', resources);
});

test('mTLS + authz scenario without a certificate: STRICT keeps its mTLS chain (SDS over ADS, fails closed) and reports it', async () => {
  const { resources, omissions } = await envoyView('07-mtls-authz.yaml');
  const inbound = resources.listeners?.find((l) => l.name === 'virtualInbound') as { filter_chains: { transport_socket?: { typed_config: Record<string, unknown> } }[] };
  assert.equal(inbound.filter_chains.length, 1);
  assert.match(JSON.stringify(inbound.filter_chains[0]?.transport_socket), /"name":"default","sds_config":\{"ads":\{\}/);
  assert.ok(omissions.some((o) => o.field === 'mTLS (SDS)'));
  golden('mtls-authz', resources);
});

test('mTLS + authz scenario with the certificate in the bootstrap: STRICT mTLS chain and auto mTLS name the static secrets, RBAC of the ratings policy', async () => {
  const { resources, omissions } = await envoyView('07-mtls-authz.yaml', true);
  const inbound = resources.listeners?.find((l) => l.name === 'virtualInbound') as { filter_chains: { transport_socket?: { typed_config: Record<string, unknown> }; filters: { typed_config: { http_filters: { name: string }[] } }[] }[] };
  assert.equal(inbound.filter_chains.length, 1);
  const tls = JSON.stringify(inbound.filter_chains[0]?.transport_socket?.typed_config);
  assert.match(tls, /"tls_certificate_sds_secret_configs":\[\{"name":"default"\}\]/);
  assert.match(tls, /"validation_context_sds_secret_config":\{"name":"ROOTCA"\}/);
  assert.deepEqual(inbound.filter_chains[0]?.filters[0]?.typed_config.http_filters.map((f) => f.name), ['envoy.filters.http.rbac.allow', 'envoy.filters.http.router']);
  const ratings = JSON.stringify(resources.clusters?.find((c) => c.name === 'outbound|9080||ratings.shop.svc.cluster.local'));
  assert.match(ratings, /tlsMode-istio/);
  assert.doesNotMatch(JSON.stringify(resources), /sds_config/);
  assert.deepEqual(omissions.filter((o) => /mTLS/.test(o.field)), []);
  golden('mtls-authz-certs', resources);
});
