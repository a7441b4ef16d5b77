/**
 * Istio metrics, response flags, access log and load stats of HTTP traffic through the mesh
 * dispatcher, fed by a real `weft control-plane` process serving Istio YAML over ADS, against
 * real upstream servers that run the inbound (server-side) telemetry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mesh, createAccessLog, createMeshTelemetry, createPeerIdentity, startAdminServer } from '@weft/core';
import type { AdminServerHandle, MeshTelemetry } from '@weft/core';
import { createMeshDispatcher, startInboundTelemetry } from '@weft/http-adapter';
import type { InboundTelemetryHandle, MeshDispatcher } from '@weft/http-adapter';
import { createXdsClient } from '@weft/xds-client';
import type { XdsClient } from '@weft/xds-client';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { startUpstream } from '../../packages/http-adapter/test/support.ts';
import type { Upstream } from '../../packages/http-adapter/test/support.ts';
import { parsePrometheus, sampleValue } from './prometheus-text.ts';
import { serviceEntryYaml, versionSubsetsYaml, virtualServiceYaml, yamlDocuments } from '../support/istio-yaml.ts';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

let dir: string;
let cp: ControlPlaneProcess;
let v1: Upstream;
let v2: Upstream;
let slow: Upstream;
let mesh: Mesh;
let xds: XdsClient;
let dispatcher: MeshDispatcher;
let client: MeshTelemetry;
let server: MeshTelemetry;
let inbound: InboundTelemetryHandle;
let admin: AdminServerHandle;
let logPath: string;

function meshYaml(): string {
  return yamlDocuments(
    serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, endpoints: [{ port: v1.port, labels: { app: 'reviews', version: 'v1' } }, { port: v2.port, labels: { app: 'reviews', version: 'v2' } }] }),
    versionSubsetsYaml('reviews', 'shop', ['v1', 'v2']),
    virtualServiceYaml(
      'reviews',
      'shop',
      `    - name: flaky
      match: [{ uri: { prefix: /flaky } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
      retries: { attempts: 2, retryOn: 5xx }
    - name: main
      match: [{ uri: { prefix: /reviews } }]
      route: [{ destination: { host: reviews, subset: v1 } }]`,
    ),
    serviceEntryYaml({ name: 'ratings', namespace: 'shop', port: 9080, endpoints: [{ port: slow.port, labels: { app: 'ratings', version: 'v1' } }] }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: shop }
spec:
  host: ratings
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }
`,
  );
}

before(async () => {
  v1 = await startUpstream('v1', (req, res) => {
    res.setHeader('content-length', '9');
    res.end('reviews-1');
  });
  v2 = await startUpstream('v2', (_req, res) => {
    res.statusCode = 503;
    res.end('down');
  });
  slow = await startUpstream('slow', (_req, res) => {
    setTimeout(() => res.end('slow'), 300);
  });
  dir = mkdtempSync(join(tmpdir(), 'weft-obs-'));
  logPath = join(dir, 'access.log');
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml());
  cp = await startControlPlane({ configPaths: [join(dir, 'mesh.yaml')], args: ['--debounce-ms', '50'] });
  const bootstrap = execFileSync(process.execPath, [WEFT, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'shop', '--workload-name', 'productpage'], { encoding: 'utf8' });
  xds = createXdsClient({ bootstrap });
  mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop' });
  client = createMeshTelemetry({
    local: createPeerIdentity({ workload: 'productpage-v1', namespace: 'shop', serviceAccount: 'productpage', labels: { app: 'productpage', version: 'v1' }, cluster: 'Kubernetes' }),
    accessLog: createAccessLog({ target: logPath }),
  });
  server = createMeshTelemetry({ local: createPeerIdentity({ workload: 'reviews-v1', namespace: 'shop', serviceAccount: 'reviews', labels: { app: 'reviews', version: 'v1' }, cluster: 'Kubernetes' }) });
  inbound = startInboundTelemetry(server, { ports: [v1.port, v2.port] });
  dispatcher = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 15_000, telemetry: client });
  admin = await startAdminServer({ port: 0, telemetry: client, mesh, configDump: () => xds.dump() });
});

after(async () => {
  inbound?.stop();
  await admin?.close();
  await dispatcher?.close();
  await mesh?.close();
  xds?.close();
  await client?.close();
  await cp?.stop();
  await v1?.close();
  await v2?.close();
  await slow?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<Response> {
  const res = await fetch(`http://reviews:9080${path}`, { dispatcher } as RequestInit);
  await res.arrayBuffer();
  return res;
}

let loadsBeforeBreakerTest: ReturnType<MeshTelemetry['loadStats']['collect']> = [];

test('source and destination metrics: counts, codes, flags, labels from endpoint metadata and metadata exchange, buckets', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await get('/reviews/1')).status, 200);
  const flaky = await get('/flaky');
  assert.equal(flaky.status, 503);
  const nr = await get('/nowhere');
  assert.equal(nr.status, 404);

  const text = await (await fetch(`${admin.url}/metrics`)).text();
  const samples = parsePrometheus(text);
  const ok = { reporter: 'source', response_code: '200', destination_service: 'reviews.shop.svc.cluster.local' };
  assert.equal(sampleValue(samples, 'istio_requests_total', ok), 20);
  const okSeries = samples.find((s) => s.name === 'istio_requests_total' && s.labels['response_code'] === '200')!;
  assert.equal(okSeries.labels['source_workload'], 'productpage-v1');
  assert.equal(okSeries.labels['source_app'], 'productpage');
  assert.equal(okSeries.labels['source_canonical_service'], 'productpage');
  assert.equal(okSeries.labels['source_canonical_revision'], 'v1');
  assert.equal(okSeries.labels['destination_service_name'], 'reviews');
  assert.equal(okSeries.labels['destination_service_namespace'], 'shop');
  assert.equal(okSeries.labels['destination_workload_namespace'], 'shop');
  assert.equal(okSeries.labels['destination_app'], 'reviews');
  assert.equal(okSeries.labels['destination_version'], 'v1');
  assert.equal(okSeries.labels['destination_canonical_revision'], 'v1');
  assert.equal(okSeries.labels['request_protocol'], 'http');
  assert.equal(okSeries.labels['response_flags'], '-');
  assert.equal(okSeries.labels['grpc_response_status'], '');
  assert.equal(okSeries.labels['connection_security_policy'], 'unknown');
  // Istio's duration and byte buckets, with every response (9 bytes) in the 10-byte bucket.
  assert.equal(sampleValue(samples, 'istio_response_bytes_bucket', { ...ok, le: '1' }), 0);
  assert.equal(sampleValue(samples, 'istio_response_bytes_bucket', { ...ok, le: '10' }), 20);
  assert.equal(sampleValue(samples, 'istio_request_duration_milliseconds_bucket', { ...ok, le: '3600000' }), 20);
  assert.ok(samples.some((s) => s.name === 'istio_request_duration_milliseconds_bucket' && s.labels['le'] === '0.5'));
  assert.equal(sampleValue(samples, 'istio_request_duration_milliseconds_count', ok), 20);
  // Retries exhausted on 503s: URX; no route: NR 404.
  assert.equal(sampleValue(samples, 'istio_requests_total', { reporter: 'source', response_code: '503', response_flags: 'URX' }), 1);
  assert.equal(sampleValue(samples, 'istio_requests_total', { reporter: 'source', response_code: '404', response_flags: 'NR' }), 1);

  // Server side: the callers' identity came over x-envoy-peer-metadata; v2 saw 3 attempts.
  const srv = parsePrometheus(await server.metrics.metrics());
  const inbound200 = { reporter: 'destination', response_code: '200', source_workload: 'productpage-v1', source_app: 'productpage', source_workload_namespace: 'shop', destination_workload: 'reviews-v1', connection_security_policy: 'none' };
  assert.equal(sampleValue(srv, 'istio_requests_total', inbound200), 20);
  assert.equal(sampleValue(srv, 'istio_requests_total', { reporter: 'destination', response_code: '503' }), 3);
  assert.equal(sampleValue(srv, 'istio_request_bytes_count', { reporter: 'destination', response_code: '200' }), 20);
  // ...and it answered with its own, which the server saw asked for.
  assert.ok(v1.seen.every((r) => typeof r.headers['x-envoy-peer-metadata'] === 'string' && typeof r.headers['traceparent'] === 'string'));
  // One more request for the access-log test; the load stats so far are checked further down.
  await get('/reviews/log');
  loadsBeforeBreakerTest = client.loadStats.collect();
});

test('circuit breaker overflow: 503 with response flag UO in metrics, and counted as a circuit_breaker drop for LRS', async () => {
  client.loadStats.collect();
  const statuses = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await fetch('http://ratings:9080/r', { dispatcher } as RequestInit);
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const overflowed = statuses.filter((s) => s === 503).length;
  assert.ok(overflowed >= 1 && overflowed <= 4, `statuses ${statuses.join(',')}`);
  const samples = parsePrometheus(await client.metrics.metrics());
  assert.equal(sampleValue(samples, 'istio_requests_total', { reporter: 'source', destination_service_name: 'ratings', response_code: '503', response_flags: 'UO' }), overflowed);
  assert.equal(sampleValue(samples, 'istio_requests_total', { reporter: 'source', destination_service_name: 'ratings', response_code: '200', response_flags: '-' }), 6 - overflowed);
  const load = client.loadStats.collect().find((l) => l.clusterName === 'outbound|9080||ratings.shop.svc.cluster.local')!;
  assert.equal(load.dropped.get('circuit_breaker'), overflowed);
  assert.equal(load.localities.reduce((n, l) => n + l.issued, 0), 6 - overflowed);
});

test('access log: one JSON line per request with Envoy field names', async () => {
  await client.accessLog!.close();
  const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const line = lines.find((l) => l['path'] === '/reviews/log')!;
  assert.ok(line, 'the request was logged');
  for (const field of ['start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'bytes_received', 'bytes_sent', 'duration', 'upstream_service_time', 'x_forwarded_for', 'user_agent', 'request_id', 'authority', 'upstream_host', 'upstream_cluster', 'downstream_remote_address', 'trace_id', 'grpc_status']) {
    assert.ok(field in line, `field ${field}`);
  }
  assert.equal(line['method'], 'GET');
  assert.equal(line['response_code'], 200);
  assert.equal(line['response_flags'], '-');
  assert.equal(line['bytes_sent'], 9);
  assert.equal(line['upstream_host'], v1.addr);
  assert.equal(line['upstream_cluster'], 'outbound|9080|v1|reviews.shop.svc.cluster.local');
  assert.equal(line['route_name'], 'main');
  assert.match(String(line['trace_id']), /^[0-9a-f]{32}$/);
  const flaky = lines.find((l) => l['path'] === '/flaky')!;
  assert.equal(flaky['response_flags'], 'URX');
});

test('load stats: per-locality and per-endpoint counts, errors on 5xx, deltas per collect', () => {
  const loads = loadsBeforeBreakerTest;
  const v1Load = loads.find((l) => l.clusterName === 'outbound|9080|v1|reviews.shop.svc.cluster.local')!;
  assert.equal(v1Load.localities.reduce((n, l) => n + l.successful, 0), 21);
  assert.equal(v1Load.localities[0]!.endpoints.get(v1.addr)?.issued, 21);
  const v2Load = loads.find((l) => l.clusterName === 'outbound|9080|v2|reviews.shop.svc.cluster.local')!;
  assert.equal(v2Load.localities.reduce((n, l) => n + l.error, 0), 3);
  assert.equal(client.loadStats.collect().filter((l) => l.clusterName.includes('reviews')).length, 0, 'a later collect has nothing new');
});

test('admin endpoints: /clusters with endpoint state, /config_dump, /ready, /healthz, /stats/prometheus', async () => {
  const notReady = await startAdminServer({ port: 0, mesh: { hosts: () => new Map() } });
  try {
    assert.equal((await fetch(`${notReady.url}/ready`)).status, 503, 'not ready before the first config');
  } finally {
    await notReady.close();
  }
  const dump = (await (await fetch(`${admin.url}/config_dump`)).json()) as { isConnected: boolean; resources: { typeUrl: string; name: string; status: string; version?: string }[] };
  assert.equal(dump.isConnected, true);
  const lds = dump.resources.find((r) => r.typeUrl.endsWith('Listener') && r.name.startsWith('reviews'));
  assert.ok(lds !== undefined && lds.version !== undefined, JSON.stringify(dump.resources.map((r) => [r.typeUrl, r.name])));
  const clusters = (await (await fetch(`${admin.url}/clusters`)).json()) as { clusters: Record<string, { endpoints: { address: string; healthStatus: string; isEjected: boolean; activeRequests: number }[] }> };
  const c = clusters.clusters['outbound|9080|v1|reviews.shop.svc.cluster.local']!;
  assert.deepEqual(c.endpoints.map((e) => [e.address, e.isEjected, e.activeRequests]), [[v1.addr, false, 0]]);
  assert.equal((await fetch(`${admin.url}/ready`)).status, 200);
  assert.equal((await fetch(`${admin.url}/healthz`)).status, 200);
  assert.match(await (await fetch(`${admin.url}/stats/prometheus`)).text(), /istio_requests_total\{/);
  assert.equal((await fetch(`${admin.url}/nope`)).status, 404);
});
