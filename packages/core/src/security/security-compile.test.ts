/**
 * Compilation of the security config core hands to the adapters: inbound policy modes from
 * filter chains, upstream TLS modes and auto mTLS, certificate providers (identity and
 * file_watcher), and `Mesh.watchInbound` over a single-resource watch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, FilterChain, Listener, UpstreamTls } from '@weft/xds-client';
import { compileInboundPolicy, defaultInboundPolicy } from './inbound-policy.ts';
import { compileUpstreamTls } from './upstream-tls.ts';
import { createCertificateProviders } from './certificate-providers.ts';
import { inboundListenerName } from './inbound-watch.ts';
import { Mesh } from '../mesh/mesh.ts';

const hcm = { routeSource: { type: 'rds' as const, routeConfigName: 'x' }, httpFilters: [{ name: 'router', config: { type: 'router' as const }, isOptional: false }], statPrefix: 'in' };
const tls = { identity: { type: 'certificateProvider' as const, instanceName: 'default', certificateName: 'default' }, validation: { type: 'certificateProvider' as const, instanceName: 'default', certificateName: 'ROOTCA' }, requireClientCertificate: true };
const match = (transportProtocol = '', destinationPort?: number) => ({ prefixRanges: [], sourceType: 'ANY' as const, sourcePrefixRanges: [], sourcePorts: [], serverNames: [], transportProtocol, applicationProtocols: [], ...(destinationPort ? { destinationPort } : {}) });
const chain = (name: string, isTls: boolean, m = match()): FilterChain => ({ name, match: m, ...(isTls ? { tls } : {}), httpConnectionManager: hcm });
const listener = (chains: FilterChain[]): Listener => ({ name: 'in', address: { address: '0.0.0.0', port: 9080 }, filterChains: chains });

test('inbound modes: STRICT, PERMISSIVE (tls + plaintext chains), DISABLE; chains for other ports are ignored', () => {
  assert.equal(compileInboundPolicy(listener([chain('m', true)]), 9080).mode, 'STRICT');
  const permissive = compileInboundPolicy(listener([chain('t', true, match('tls')), chain('p', false)]), 9080);
  assert.deepEqual([permissive.mode, permissive.tlsChain?.name, permissive.plaintextChain?.name], ['PERMISSIVE', 't', 'p']);
  assert.equal(compileInboundPolicy(listener([chain('p', false)]), 9080).mode, 'DISABLE');
  assert.equal(compileInboundPolicy(listener([chain('other', true, match('', 8080)), chain('p', false)]), 9080).mode, 'DISABLE');
  assert.throws(() => compileInboundPolicy(listener([chain('other', false, match('', 8080))]), 9080), { code: 'WEFT_ERR_XDS_INVALID' });
  assert.throws(() => compileInboundPolicy({ name: 'api', filterChains: [] }, 9080), { code: 'WEFT_ERR_XDS_INVALID' });
  assert.equal(defaultInboundPolicy('PERMISSIVE').tlsChain?.isClientCertRequired, true);
  assert.equal(defaultInboundPolicy('DISABLE').tlsChain, undefined);
});

const upstream = (sans: string[], withIdentity = true): UpstreamTls => ({
  ...(withIdentity ? { identity: tls.identity } : {}),
  validation: tls.validation,
  matchSubjectAltNames: sans.map((v) => ({ sanType: 'ANY' as const, matcher: { type: 'exact' as const, value: v, ignoreCase: false } })),
  alpnProtocols: [],
});
const cluster = (over: Partial<Cluster>): Cluster => ({ name: 'c', discovery: { type: 'eds', serviceName: 'c' }, lbPolicy: { type: 'roundRobin' }, isLocalityWeighted: false, circuitBreakers: [], connectTimeoutMs: 1000, isLoadReportingEnabled: false, metadata: {}, upstreamProtocol: 'http1', ...over });

test('upstream TLS modes and auto mTLS per endpoint metadata', () => {
  assert.equal(compileUpstreamTls(cluster({}), undefined).isTlsPossible, false);
  const istio = compileUpstreamTls(cluster({ tls: upstream(['spiffe://cluster.local/ns/shop/sa/reviews']) }), undefined).forEndpoint(undefined);
  assert.deepEqual([istio.mode, istio.expectedSpiffeIds], ['ISTIO_MUTUAL', ['spiffe://cluster.local/ns/shop/sa/reviews']]);
  assert.equal(compileUpstreamTls(cluster({ tls: upstream(['reviews.example.com']) }), undefined).forEndpoint(undefined).mode, 'MUTUAL');
  assert.equal(compileUpstreamTls(cluster({ tls: upstream([], false) }), undefined).forEndpoint(undefined).mode, 'SIMPLE');
  const auto = compileUpstreamTls(cluster({ transportSocketMatches: [{ name: 'istio', match: { tlsMode: 'istio' }, tls: upstream([]) }, { name: 'plain', match: {} }] }), undefined);
  assert.equal(auto.forEndpoint({ 'envoy.transport_socket_match': { tlsMode: 'istio' } }).mode, 'ISTIO_MUTUAL');
  assert.equal(auto.forEndpoint({ 'envoy.transport_socket_match': { tlsMode: 'disabled' } }).mode, 'none');
  assert.equal(auto.forEndpoint({}).mode, 'none');
});

test('file_watcher provider: reads the files, picks up a changed file, fails with WEFT_ERR_CERT_UNAVAILABLE when missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fw-'));
  try {
    // A roots-only instance (CA file alone) exercises reading and re-reading.
    let t = 0;
    const providers = createCertificateProviders({ bootstrapProviders: { roots: { pluginName: 'file_watcher', config: { ca_certificate_file: join(dir, 'ca.pem'), refresh_interval: '0.001s' } } }, now: () => t });
    assert.throws(() => providers.credentials('roots'), { code: 'WEFT_ERR_CERT_UNAVAILABLE' });
    const bad = createCertificateProviders({ bootstrapProviders: { x: { pluginName: 'spiffe', config: {} } } });
    assert.throws(() => bad.credentials('x'), { code: 'WEFT_ERR_CONFIG_INVALID' });
    assert.equal(createCertificateProviders({ identity: () => undefined }).credentials('default'), undefined);
    writeFileSync(join(dir, 'ca.pem'), '');
    t = 10;
    const first = providers.credentials('roots');
    assert.ok(first !== undefined);
    t = 20;
    assert.equal(providers.credentials('roots'), first, 'unchanged files: same credentials object');
    utimesSync(join(dir, 'ca.pem'), new Date(), new Date(Date.now() + 5000));
    t = 30;
    assert.notEqual(providers.credentials('roots'), first, 'a changed file is re-read');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Mesh.watchInbound asks for the A36 name and delivers compiled policies asynchronously', async () => {
  assert.equal(inboundListenerName(9080, undefined), 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080');
  const asked: string[] = [];
  let push: ((l: Listener) => void) | undefined;
  let gone: (() => void) | undefined;
  const source = {
    watchXdsConfig: () => ({ cancel() {} }),
    watch: (_t: string, name: string, w: { onChanged(v: Listener): void; onDoesNotExist(): void }) => {
      asked.push(name);
      push = (l) => setImmediate(() => w.onChanged(l));
      gone = () => setImmediate(() => w.onDoesNotExist());
      return { cancel() {} };
    },
    bootstrap: { serverListenerResourceNameTemplate: 'custom/%s' },
  };
  const mesh = await Mesh.create({ xdsClient: source as never });
  const seen: (string | undefined)[] = [];
  let next: (() => void) | undefined;
  mesh.watchInbound(9080, { onPolicy: (p) => { seen.push(p?.mode); next?.(); } });
  const arrival = () => new Promise<void>((resolve) => (next = resolve));
  assert.deepEqual(asked, ['custom/0.0.0.0:9080']);
  let arrived = arrival();
  push!(listener([chain('m', true)]));
  await arrived;
  arrived = arrival();
  gone!();
  await arrived;
  assert.deepEqual(seen, ['STRICT', undefined]);
  await mesh.close();
});
