import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { createConfigStore } from '../config/config-store.ts';
import { createXdsServer } from '../xds/xds-server.ts';
import { rawAdsClient, testNode } from '../xds/testing/raw-ads-client.ts';
import { createEndpointHealthMonitor } from './endpoint-health.ts';
import { createHealthChecker } from './health-checker.ts';
import { parseWorkloadGroup } from './workload-group.ts';

const HOST = 'catalog.shop.svc.cluster.local';
const CLUSTER = `outbound|8080||${HOST}`;

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function config(probePort: number): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http }]
  workloadSelector: { labels: { app: catalog } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: catalog-probed, namespace: shop }
spec: { address: 127.0.0.1, labels: { app: catalog, probed: "yes" }, ports: { http: 9001 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: catalog-plain, namespace: shop }
spec: { address: 127.0.0.1, labels: { app: catalog }, ports: { http: 9002 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: { name: catalog, namespace: shop }
spec:
  metadata: { labels: { app: catalog, probed: "yes" } }
  template: { serviceAccount: catalog }
  probe:
    httpGet: { path: /ready, port: ${probePort} }
    periodSeconds: 1
    timeoutSeconds: 1
    failureThreshold: 2
    successThreshold: 1
`;
}

/** EDS health of each endpoint port of the catalog cluster, from one SotW response. */
function healthByPort(res: DiscoveryResponse): Record<number, string> {
  const out: Record<number, string> = {};
  for (const r of res.resources ?? []) {
    const cla = unpackAny(r) as { endpoints?: { lb_endpoints?: { endpoint: { address: { socket_address: { port_value: number } } }; health_status?: string }[] }[] };
    for (const l of cla.endpoints ?? []) for (const e of l.lb_endpoints ?? []) out[e.endpoint.address.socket_address.port_value] = e.health_status ?? 'UNKNOWN';
  }
  return out;
}

test('WorkloadGroup probe: a failing endpoint turns UNHEALTHY in EDS and comes back HEALTHY', async () => {
  let isReady = true;
  const app = createServer((req, res) => {
    res.statusCode = req.url === '/ready' && isReady ? 200 : 503;
    res.end();
  });
  const probePort = await listen(app);
  const dir = await mkdtemp(join(tmpdir(), 'weft-health-'));
  await writeFile(join(dir, 'mesh.yaml'), config(probePort));
  const store = await createConfigStore({ paths: [dir], debounceMs: 10 });
  const xds = createXdsServer({ source: store, debounceMs: 0 });
  const monitor = createEndpointHealthMonitor({ source: store, sink: store.registry });
  const port = await xds.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    await monitor.ready;
    assert.deepEqual(monitor.report().endpoints.map((e) => e.id), ['shop/catalog-probed'], 'only the group members are probed');
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: testNode('probe-watcher'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [CLUSTER] });
    /** Reads EDS pushes (ACKing each) until `want` holds. */
    const waitFor = async (want: (h: Record<number, string>) => boolean): Promise<Record<number, string>> => {
      for (let i = 0; i < 50; i++) {
        const res = await s.next(10_000);
        s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [CLUSTER], response_nonce: res.nonce, version_info: res.version_info });
        const h = healthByPort(res);
        if (want(h)) return h;
      }
      throw new Error('EDS never reached the wanted health');
    };
    await waitFor((h) => h[9001] === 'HEALTHY' && h[9002] === 'HEALTHY');

    isReady = false;
    const down = await waitFor((h) => h[9001] === 'UNHEALTHY');
    assert.equal(down[9002], 'HEALTHY', 'an endpoint outside the group is not probed');
    const st = monitor.report().endpoints[0];
    assert.equal(st?.health, 'UNHEALTHY');
    assert.ok((st?.consecutiveFailures ?? 0) >= 2, 'failureThreshold consecutive failures before the flip');
    assert.equal(st?.lastResult, 'HTTP 503');

    isReady = true;
    await waitFor((h) => h[9001] === 'HEALTHY');

    isReady = false;
    await waitFor((h) => h[9001] === 'UNHEALTHY');
    // Removing the WorkloadGroup is a config change: the new generation stops the probe and
    // clears the health it set.
    await writeFile(join(dir, 'mesh.yaml'), config(probePort).split('---').slice(0, 3).join('---'));
    await waitFor((h) => h[9001] === 'HEALTHY');
    assert.deepEqual(monitor.report().endpoints, []);
    s.close();
  } finally {
    monitor.close();
    client.close();
    await xds.close(500);
    await store.close();
    app.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A grpc-js server implementing `grpc.health.v1.Health/Check` that answers `status` (1 = SERVING). */
async function grpcHealthServer(status: () => number): Promise<{ port: number; server: GrpcServer }> {
  const server = new GrpcServer();
  const id = (b: Buffer) => b;
  server.addService({ Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } } as never, {
    Check: (_call: unknown, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.from([0x08, status()])),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, server };
}

test('tcpSocket and grpc probes: refused connections and a missing health service count as failures', async () => {
  const serving = await grpcHealthServer(() => 1);
  const notServing = await grpcHealthServer(() => 2);
  const tcp = createTcpServer((sock) => sock.destroy());
  const tcpPort = await listen(tcp);
  const closed = createTcpServer();
  const closedPort = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const results: Record<string, string | undefined> = {};
  const checker = createHealthChecker({ setEndpointHealth: (id, h) => void (results[id] = h) });
  const probe = (action: unknown) => ({ action, initialDelayMs: 0, periodMs: 60_000, timeoutMs: 2000, successThreshold: 1, failureThreshold: 1 }) as never;
  try {
    checker.update([
      { id: 'tcp-open', address: '127.0.0.1', group: 'g', probe: probe({ type: 'tcpSocket', port: tcpPort }) },
      { id: 'tcp-closed', address: '127.0.0.1', group: 'g', probe: probe({ type: 'tcpSocket', port: closedPort }) },
      { id: 'grpc-not-grpc', address: '127.0.0.1', group: 'g', probe: probe({ type: 'grpc', port: closedPort, service: '' }) },
      { id: 'grpc-serving', address: '127.0.0.1', group: 'g', probe: probe({ type: 'grpc', port: serving.port, service: 'catalog' }) },
      { id: 'grpc-not-serving', address: '127.0.0.1', group: 'g', probe: probe({ type: 'grpc', port: notServing.port, service: '' }) },
    ]);
    const ids = ['tcp-open', 'tcp-closed', 'grpc-not-grpc', 'grpc-serving', 'grpc-not-serving'];
    await Promise.all(ids.map((id) => checker.nextResult(id)));
    assert.deepEqual(results, { 'tcp-open': 'HEALTHY', 'tcp-closed': 'UNHEALTHY', 'grpc-not-grpc': 'UNHEALTHY', 'grpc-serving': 'HEALTHY', 'grpc-not-serving': 'UNHEALTHY' });
    assert.equal(checker.status().find((x) => x.id === 'grpc-not-serving')?.lastResult, 'NOT_SERVING');
    checker.update([]);
    assert.deepEqual(results, Object.fromEntries(ids.map((id) => [id, undefined])), 'targets that leave get their health cleared');
  } finally {
    checker.close();
    tcp.close();
    serving.server.forceShutdown();
    notServing.server.forceShutdown();
  }
});

test('WorkloadGroup parsing: defaults, and bad probes named by field', () => {
  const g = parseWorkloadGroup({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'a' }, spec: { metadata: { labels: { app: 'a' } }, probe: { tcpSocket: { port: 80 } } } });
  assert.deepEqual(g?.probe, { action: { type: 'tcpSocket', port: 80 }, initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  assert.equal(g?.namespace, 'default');
  const bad = (probe: unknown) => () => parseWorkloadGroup({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'a', namespace: 'x' }, spec: { probe } });
  assert.throws(bad({ exec: { command: ['true'] } }), { code: 'WEFT_ERR_CONFIG_INVALID', message: /spec\.probe\.exec is not supported/ });
  assert.throws(bad({ httpGet: { port: 'http' } }), { code: 'WEFT_ERR_CONFIG_INVALID', message: /WorkloadGroup x\/a: spec\.probe\.httpGet\.port/ });
  assert.throws(bad({ tcpSocket: { port: 1 }, grpc: { port: 2 } }), { message: /exactly one of/ });
  assert.throws(bad({ tcpSocket: { port: 1 }, failureThreshold: 0 }), { message: /failureThreshold must be an integer >= 1/ });
  assert.equal(parseWorkloadGroup({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'a' }, spec: {} }), undefined);
});

test('self-registration: a workload whose stream dies leaves EDS after the grace, through the real config store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-selfreg-'));
  await writeFile(join(dir, 'empty.yaml'), `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: other, namespace: shop }\nspec: { hosts: [other.shop.svc.cluster.local], ports: [{ number: 80, name: http }], resolution: STATIC, location: MESH_INTERNAL }\n`);
  const store = await createConfigStore({ paths: [dir], debounceMs: 10, watch: false });
  const xds = createXdsServer({ source: store, debounceMs: 0, registrationGraceMs: 100 });
  const port = await xds.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  const cluster = 'outbound|7070||ratings.shop.svc.cluster.local';
  const endpointsIn = async (want: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while ((store.current.endpoints.get('ratings.shop.svc.cluster.local')?.length ?? 0) !== want) {
      if (Date.now() > deadline) throw new Error(`ratings never had ${want} endpoint(s)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    const workload = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    workload.send({ node: testNode('sidecar~127.0.0.1~ratings-1.shop~shop.svc.cluster.local', { NAMESPACE: 'shop', WEFT_SERVICE: 'ratings', WEFT_PORTS: 'http:7070', INSTANCE_IPS: '127.0.0.1' }), type_url: TypeUrl.listener });
    await endpointsIn(1);
    const watcher = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    watcher.send({ node: testNode('watcher'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [cluster] });
    const first = await watcher.next(10_000);
    assert.deepEqual(Object.keys(healthByPort(first)), ['7070']);
    watcher.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [cluster], response_nonce: first.nonce, version_info: first.version_info });
    workload.close();
    await endpointsIn(0);
    const gone = await watcher.next(10_000);
    assert.deepEqual(healthByPort(gone), {}, 'EDS no longer lists the workload once its stream is gone');
    watcher.close();
  } finally {
    client.close();
    await xds.close(500);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
