import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, unpackAny, type Cluster } from '@weft/xds-client';
import { compileUpstreamTls } from '@weft/core';
import type { MeshModel, WorkloadInstance } from '../../model/mesh-model.ts';
import { capabilitiesFor, type Omission } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { makeModel, type FixtureInput } from '../testing/model-fixture.ts';
import { buildCluster } from './cluster.ts';
import { fromStruct } from './types.ts';
import { packResource } from './pack.ts';

const HOST = 'ratings.shop.svc.cluster.local';

function model(input: Partial<FixtureInput> = {}, origin: WorkloadInstance['origin'] = 'registration'): MeshModel {
  const m = makeModel({
    services: [{
      hostname: HOST, ports: [{ number: 9080, name: 'http' }],
      endpoints: [{ address: '127.0.0.1', serviceAccount: 'ratings' }, { address: '127.0.0.2', serviceAccount: 'ratings-v2', labels: { version: 'v2' } }],
    }],
    ...input,
  });
  const endpoints = new Map([...m.endpoints].map(([h, list]) => [h, list.map((w) => ({ ...w, origin }))]));
  return { ...m, endpoints };
}

function cluster(m: MeshModel, subset = '', kind: 'weft' | 'grpc-js-xds' = 'weft') {
  const omissions: Omission[] = [];
  const c = buildCluster({ index: indexModel(m), caps: capabilitiesFor(kind), omit: (o) => omissions.push(o) }, HOST, 9080, subset);
  const any = packResource(TypeUrl.cluster, c.message);
  return { raw: unpackAny(any) as any, any, omissions };
}

function tlsContext(socket: any): any {
  assert.equal(socket.name, 'envoy.transport_sockets.tls');
  return unpackAny(socket.typed_config);
}

test('ISTIO_MUTUAL: provider instances, SANs of the service’s workloads, Istio SNI; the xds-client accepts it', () => {
  const dr = { name: 'r', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } }, subsets: [{ name: 'v2', labels: { version: 'v2' } }] } };
  const { raw, any } = cluster(model({ destinationRules: [dr] }, 'ServiceEntry'), 'v2');
  const ctx = tlsContext(raw.transport_socket);
  assert.equal(ctx.sni, `outbound_.9080_.v2_.${HOST}`);
  assert.deepEqual(ctx.common_tls_context.tls_certificate_provider_instance, { instance_name: 'default', certificate_name: 'default' });
  const cvc = ctx.common_tls_context.combined_validation_context;
  assert.deepEqual(cvc.validation_context_certificate_provider_instance, { instance_name: 'default', certificate_name: 'ROOTCA' });
  assert.deepEqual(cvc.default_validation_context.ca_certificate_provider_instance, { instance_name: 'default', certificate_name: 'ROOTCA' });
  assert.deepEqual(cvc.default_validation_context.match_subject_alt_names.map((m: any) => m.exact), ['spiffe://cluster.local/ns/shop/sa/ratings', 'spiffe://cluster.local/ns/shop/sa/ratings-v2']);
  const decoded = decodeResource(TypeUrl.cluster, any);
  assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
});

test('subjectAltNames and sni of the DestinationRule win; a subset may turn TLS off', () => {
  const dr = { name: 'r', namespace: 'shop', spec: {
    host: 'ratings', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/x'], sni: 'ratings.internal' } },
    subsets: [{ name: 'plain', labels: { version: 'v2' }, trafficPolicy: { tls: { mode: 'DISABLE' } } }],
  } };
  const m = model({ destinationRules: [dr] });
  const ctx = tlsContext(cluster(m).raw.transport_socket);
  assert.equal(ctx.sni, 'ratings.internal');
  assert.deepEqual(ctx.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names.map((x: any) => x.exact), ['spiffe://cluster.local/ns/shop/sa/x']);
  const plain = cluster(m, 'plain').raw;
  assert.equal(plain.transport_socket, undefined);
  assert.deepEqual(plain.transport_socket_matches ?? [], [], 'explicit DISABLE also turns auto mTLS off');
});

test('auto mTLS: mesh workloads and no DestinationRule tls → tlsMode istio match plus plaintext default', () => {
  const { raw } = cluster(model());
  assert.equal(raw.transport_socket, undefined);
  const [mtls, plain] = raw.transport_socket_matches;
  assert.deepEqual(fromStruct(mtls.match), { tlsMode: 'istio' });
  assert.equal(tlsContext(mtls.transport_socket).sni, `outbound_.9080_._.${HOST}`);
  assert.deepEqual(fromStruct(plain.match), {});
  assert.equal(plain.transport_socket.name, 'envoy.transport_sockets.raw_buffer');
  // ServiceEntry static endpoints are not mesh workloads; a tlsMode label makes them so
  assert.deepEqual(cluster(model({}, 'ServiceEntry')).raw.transport_socket_matches ?? [], []);
  const labelled = model({}, 'WorkloadEntry');
  const list = (labelled.endpoints.get(HOST) ?? []).map((w) => ({ ...w, labels: { ...w.labels, 'security.istio.io/tlsMode': 'istio' } }));
  assert.equal(cluster({ ...labelled, endpoints: new Map([[HOST, list]]) }).raw.transport_socket_matches.length, 2);
});

test('auto mTLS is off towards workloads whose PeerAuthentication is DISABLE, and an omission for gRPC clients', () => {
  const m = model();
  const peer = (mode: string) => [{ kind: 'PeerAuthentication', apiVersion: 'security.istio.io/v1', name: 'default', namespace: 'shop', labels: {}, annotations: {}, spec: { mtls: { mode } }, source: { file: 't', line: 1, column: 1 } }] as unknown as MeshModel['peerAuthentications'];
  assert.deepEqual(cluster({ ...m, peerAuthentications: peer('DISABLE') }).raw.transport_socket_matches ?? [], []);
  assert.equal(cluster({ ...m, peerAuthentications: peer('STRICT') }).raw.transport_socket_matches.length, 2);
  const grpc = cluster(m, '', 'grpc-js-xds');
  assert.deepEqual(grpc.omissions.map((o) => o.field), ['auto mTLS']);
});

test('SIMPLE and MUTUAL: files from the DestinationRule; credentialName is an omission', () => {
  const tls = { mode: 'MUTUAL', clientCertificate: '/etc/certs/cert.pem', privateKey: '/etc/certs/key.pem', caCertificates: '/etc/certs/ca.pem', sni: 'api.example.com', subjectAltNames: ['api.example.com'], credentialName: 'secret' };
  const { raw, omissions } = cluster(model({ destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls } } }] }));
  const ctx = tlsContext(raw.transport_socket);
  assert.equal(ctx.sni, 'api.example.com');
  assert.equal(ctx.common_tls_context.validation_context.trusted_ca.filename, '/etc/certs/ca.pem');
  assert.equal(ctx.common_tls_context.tls_certificates[0].certificate_chain.filename, '/etc/certs/cert.pem');
  assert.deepEqual(omissions.map((o) => o.field), ['trafficPolicy.tls.credentialName']);
  const simple = cluster(model({ destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls: { mode: 'SIMPLE' } } } }] })).raw;
  assert.equal(tlsContext(simple.transport_socket).common_tls_context.tls_certificates, undefined);
});

test('SIMPLE/MUTUAL files and the auto mTLS plaintext match decode in the SDK and compile to the requirement the adapters use', () => {
  const tls = { mode: 'MUTUAL', clientCertificate: '/etc/certs/cert.pem', privateKey: '/etc/certs/key.pem', caCertificates: '/etc/certs/ca.pem', subjectAltNames: ['api.example.com'] };
  const mutual = decodeResource(TypeUrl.cluster, cluster(model({ destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls } } }] })).any);
  assert.ok(mutual.result.ok, mutual.result.ok ? '' : mutual.result.error);
  const c = mutual.result.value as Cluster;
  assert.deepEqual(c.tls?.identity, { type: 'file', path: '/etc/certs/cert.pem', privateKeyPath: '/etc/certs/key.pem' });
  assert.deepEqual(c.tls?.validation, { type: 'file', path: '/etc/certs/ca.pem' });
  const req = compileUpstreamTls(c, undefined).forEndpoint(undefined);
  assert.equal(req.mode, 'MUTUAL');
  assert.equal(req.validationFile, '/etc/certs/ca.pem');
  assert.deepEqual(req.identityFiles, { certificateChain: '/etc/certs/cert.pem', privateKey: '/etc/certs/key.pem' });
  const simple = decodeResource(TypeUrl.cluster, cluster(model({ destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'ratings', trafficPolicy: { tls: { mode: 'SIMPLE', caCertificates: '/etc/certs/ca.pem' } } } }] })).any);
  assert.ok(simple.result.ok, simple.result.ok ? '' : simple.result.error);
  const simpleReq = compileUpstreamTls(simple.result.value as Cluster, undefined).forEndpoint(undefined);
  assert.deepEqual([simpleReq.mode, simpleReq.validationFile, simpleReq.identityFiles], ['SIMPLE', '/etc/certs/ca.pem', undefined]);
  // auto mTLS: the tlsMode-disabled match is `{name: raw_buffer}` with no typed config
  const auto = decodeResource(TypeUrl.cluster, cluster(model()).any);
  assert.ok(auto.result.ok, auto.result.ok ? '' : auto.result.error);
  const compiled = compileUpstreamTls(auto.result.value as Cluster, undefined);
  assert.equal(compiled.forEndpoint({ 'envoy.transport_socket_match': { tlsMode: 'istio' } }).mode, 'ISTIO_MUTUAL');
  assert.equal(compiled.forEndpoint({}).mode, 'none');
});
