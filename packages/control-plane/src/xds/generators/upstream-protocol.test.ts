import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, unpackAny, type Cluster } from '@weft/xds-client';
import { capabilitiesFor, type ClientKind, type Omission } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { buildCluster } from './cluster.ts';
import { packResource } from './pack.ts';
import { UPSTREAM_HTTP_PROTOCOL_OPTIONS_NAME, UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE_URL } from './upstream-protocol.ts';

const HOST = 'details.shop.svc.cluster.local';

// unpackAny names the oneof members set (`upstream_protocol_options`, `protocol_config`): the
// expectations below check the fields sit in the oneofs of Envoy's HttpProtocolOptions.
const H2 = { upstream_protocol_options: 'explicit_http_config', explicit_http_config: { protocol_config: 'http2_protocol_options', http2_protocol_options: {} } };

/** Service ports: one per protocol source (explicit protocol, name prefix, plain HTTP, TCP). */
const PORTS = [
  { number: 8080, name: 'web', protocol: 'HTTP2' },
  { number: 8081, name: 'http2-api', protocol: 'HTTP2' },
  { number: 50051, name: 'grpc-api', protocol: 'GRPC' },
  { number: 9080, name: 'http', protocol: 'HTTP' },
  { number: 5432, name: 'tcp-db', protocol: 'TCP' },
];

/** Builds one cluster, encodes it against Envoy's Cluster proto and decodes it twice: raw and as the xds-client does. */
function cluster(port: number, pool?: unknown, kind: ClientKind = 'weft', subset = '') {
  const m = makeModel({
    services: [{ hostname: HOST, ports: PORTS, endpoints: [{ address: '127.0.0.1', labels: { version: 'v1' } }] }],
    destinationRules: pool === undefined ? [] : [{ name: 'details', namespace: 'shop', spec: { host: 'details', trafficPolicy: { connectionPool: pool }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] } }],
  });
  const omissions: Omission[] = [];
  const c = buildCluster({ index: indexModel(m), caps: capabilitiesFor(kind), omit: (o) => omissions.push(o) }, HOST, port, subset);
  const any = packResource(TypeUrl.cluster, c.message);
  const raw = unpackAny(any) as Record<string, any>;
  const decoded = decodeResource(TypeUrl.cluster, any);
  assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
  return { raw, decoded: decoded.result.value as Cluster, omissions };
}

/** The HttpProtocolOptions of a raw cluster, unpacked; undefined when the cluster has none. */
function options(raw: Record<string, any>): Record<string, any> | undefined {
  const ext = raw.typed_extension_protocol_options?.[UPSTREAM_HTTP_PROTOCOL_OPTIONS_NAME];
  if (ext === undefined) return undefined;
  assert.equal(ext.type_url, UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE_URL);
  return unpackAny(ext) as Record<string, any>;
}

test('HTTP2 and GRPC ports: explicit_http_config.http2_protocol_options; the xds-client reads HTTP/2', () => {
  for (const port of [8080, 8081, 50051]) {
    const { raw, decoded } = cluster(port);
    assert.deepEqual(options(raw), H2, `port ${port}`);
    assert.equal(decoded.upstreamProtocol, 'http2', `port ${port}`);
  }
});

test('HTTP and TCP ports without a DestinationRule carry no protocol options (HTTP/1, Envoy’s default)', () => {
  for (const port of [9080, 5432]) {
    const { raw, decoded } = cluster(port);
    assert.equal(raw.typed_extension_protocol_options, undefined, `port ${port}`);
    assert.equal(decoded.upstreamProtocol, 'http1', `port ${port}`);
  }
});

test('h2UpgradePolicy: UPGRADE makes an HTTP port HTTP/2 (subsets inherit it); DO_NOT_UPGRADE keeps HTTP/1 and never downgrades an HTTP2 port', () => {
  const upgraded = cluster(9080, { http: { h2UpgradePolicy: 'UPGRADE' } });
  assert.deepEqual(options(upgraded.raw), H2);
  assert.equal(upgraded.decoded.upstreamProtocol, 'http2');
  assert.equal(cluster(9080, { http: { h2UpgradePolicy: 'UPGRADE' } }, 'weft', 'v1').decoded.upstreamProtocol, 'http2');
  const kept = cluster(9080, { http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' } });
  assert.equal(kept.raw.typed_extension_protocol_options, undefined);
  assert.equal(kept.decoded.upstreamProtocol, 'http1');
  assert.equal(cluster(8080, { http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' } }).decoded.upstreamProtocol, 'http2');
  assert.equal(cluster(9080, { http: { h2UpgradePolicy: 'DEFAULT' } }).decoded.upstreamProtocol, 'http1');
});

test('useClientProtocol: use_downstream_protocol_config with both protocols; UPGRADE still wins, as in istiod', () => {
  const { raw, decoded } = cluster(8080, { http: { useClientProtocol: true } });
  assert.deepEqual(options(raw), { upstream_protocol_options: 'use_downstream_protocol_config', use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } });
  assert.equal(decoded.upstreamProtocol, 'useDownstream');
  assert.equal(cluster(9080, { http: { useClientProtocol: true, h2UpgradePolicy: 'UPGRADE' } }).decoded.upstreamProtocol, 'http2');
});

test('idle timeout, requests per connection and concurrent streams travel in the same options', () => {
  const h2 = cluster(50051, { http: { idleTimeout: '90s', maxRequestsPerConnection: 10, maxConcurrentStreams: 64 } });
  assert.deepEqual(options(h2.raw), {
    common_http_protocol_options: { idle_timeout: { seconds: 90, nanos: 0 }, max_requests_per_connection: { value: 10 } },
    upstream_protocol_options: 'explicit_http_config',
    explicit_http_config: { protocol_config: 'http2_protocol_options', http2_protocol_options: { max_concurrent_streams: { value: 64 } } },
  });
  assert.equal(h2.decoded.idleTimeoutMs, 90_000);
  assert.equal(h2.decoded.maxRequestsPerConnection, 10);
  assert.equal(h2.decoded.http2MaxConcurrentStreams, 64);
  // On an HTTP/1 port the protocol is spelled out (Envoy requires one) and streams do not apply.
  const h1 = cluster(9080, { tcp: { idleTimeout: '1.5s' }, http: { maxConcurrentStreams: 64 } });
  assert.deepEqual(options(h1.raw), { common_http_protocol_options: { idle_timeout: { seconds: 1, nanos: 500_000_000 } }, upstream_protocol_options: 'explicit_http_config', explicit_http_config: { protocol_config: 'http_protocol_options', http_protocol_options: {} } });
  assert.equal(h1.decoded.upstreamProtocol, 'http1');
  assert.equal(h1.decoded.idleTimeoutMs, 1500);
});

test('gRPC clients get the same options and nothing is reported left out (their channels are HTTP/2 anyway)', () => {
  const { raw, omissions } = cluster(50051, { http: { h2UpgradePolicy: 'UPGRADE' } }, 'grpc-js-xds');
  assert.deepEqual(options(raw), H2);
  assert.deepEqual(omissions, []);
});

test('a destination no registry knows gets options only from its DestinationRule', () => {
  const m = makeModel({ services: [] });
  const ctx = { index: indexModel(m), caps: capabilitiesFor('weft'), omit: () => {} };
  const raw = unpackAny(packResource(TypeUrl.cluster, buildCluster(ctx, 'nowhere.shop.svc.cluster.local', 9080, '').message)) as Record<string, any>;
  assert.equal(raw.typed_extension_protocol_options, undefined);
});
