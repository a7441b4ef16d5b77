import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createXdsServer } from '../xds/xds-server.ts';
import { fakeSource, makeModel } from '../xds/testing/model-fixture.ts';
import { testNode } from '../xds/testing/raw-ads-client.ts';
import { createLrsMetrics } from './lrs-metrics.ts';
import { createLrsService } from './lrs-service.ts';
import { createServiceGraph } from './service-graph.ts';
import { clusterStats, openLrsStream } from './testing/lrs-test-client.ts';

const CATALOG = 'catalog.shop.svc.cluster.local';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function start() {
  const source = fakeSource(makeModel({ services: [{ hostname: CATALOG, ports: [{ number: 50051 }] }] }));
  const xds = createXdsServer({ source, debounceMs: 0 });
  const graph = createServiceGraph({ knownServices: () => source.current.services.values() });
  const registry = new Registry();
  const metrics = createLrsMetrics(registry, () => graph.edgeCount);
  const lrs = createLrsService({ graph, reportingIntervalMs: 200, metrics });
  xds.grpcServer.addService(lrs.definition, lrs.handlers);
  const port = await xds.listen('127.0.0.1', 0);
  return { xds, graph, lrs, registry, address: `127.0.0.1:${port}`, async stop() { lrs.close(); await xds.close(500); } };
}

test('LRS on the xDS port: asks for all clusters at the configured interval and builds graph edges', async () => {
  const s = await start();
  const a = openLrsStream(s.address, testNode('sidecar~127.0.0.1~frontend-1.shop~shop.svc.cluster.local', { NAMESPACE: 'shop', WEFT_SERVICE: 'frontend', WORKLOAD_NAME: 'frontend-1' }));
  const b = openLrsStream(s.address, testNode('sidecar~127.0.0.2~batch-1.shop~shop.svc.cluster.local', { NAMESPACE: 'shop', WORKLOAD_NAME: 'batch-1' }));
  try {
    const res = await a.response;
    assert.equal(res.send_all_clusters, true);
    assert.equal(Number(res.load_reporting_interval?.seconds ?? 0), 0);
    assert.equal(res.load_reporting_interval?.nanos, 200_000_000);
    await b.response;

    a.report([clusterStats(`outbound|50051|v1|${CATALOG}`, { issued: 90, ok: 80, errors: 10, inProgress: 3, latencyMs: 12 }), clusterStats(`outbound|50051|v2|${CATALOG}`, { issued: 10, ok: 10 })]);
    b.report([clusterStats('outbound|50051||catalog', { issued: 5, ok: 5 }), clusterStats('not-an-istio-cluster', { issued: 1, ok: 1 })]);
    const doc = await until('three edges', () => { const d = s.graph.document(); return d.edges.length === 3 ? d : undefined; });

    const v1 = doc.edges.find((e) => e.subset === 'v1');
    assert.ok(v1);
    assert.equal(v1.source, 'frontend.shop.svc.cluster.local');
    assert.equal(v1.destination, CATALOG);
    assert.equal(v1.requests, 90);
    assert.equal(v1.errorRate, 10 / 90);
    assert.equal(v1.inProgress, 3);
    assert.equal(v1.latencyMs, 12);
    assert.ok(v1.rps > 0);
    assert.equal(v1.mtls, null, 'no ADS stream for that node: TLS unknown');
    assert.equal(doc.edges.find((e) => e.subset === 'v2')?.latencyMs, null);
    const fromBatch = doc.edges.find((e) => e.source === 'workload:shop/batch-1');
    assert.equal(fromBatch?.destination, CATALOG, 'a short host resolves in the reporter namespace');
    const nodes = new Map(doc.nodes.map((n) => [n.id, n]));
    assert.equal(nodes.get(CATALOG)?.kind, 'service');
    assert.deepEqual(nodes.get(CATALOG)?.versions, ['', 'v1', 'v2'].filter(Boolean));
    assert.equal(nodes.get('workload:shop/batch-1')?.kind, 'workload');

    // A second report adds to the window; in-progress is a gauge (replaced, not summed).
    a.report([clusterStats(`outbound|50051|v1|${CATALOG}`, { issued: 10, ok: 10, inProgress: 1 })]);
    const after = await until('second report', () => { const e = s.graph.document().edges.find((x) => x.subset === 'v1'); return e && e.requests === 100 ? e : undefined; });
    assert.equal(after.inProgress, 1);

    const text = await s.registry.metrics();
    assert.match(text, /weft_lrs_reports_total 3/);
    assert.match(text, /weft_lrs_graph_edges 3/);
    assert.match(text, /weft_lrs_streams 2/);

    // A reporter that disconnects no longer counts in flight requests.
    a.close();
    await until('in-progress dropped', () => (s.graph.document().edges.find((x) => x.subset === 'v1')?.inProgress === 0 ? true : undefined));
  } finally {
    a.close();
    b.close();
    await s.stop();
  }
});

test('LRS: a stream whose first request has no node id ends with INVALID_ARGUMENT', async () => {
  const s = await start();
  const c = openLrsStream(s.address, {});
  try {
    await assert.rejects(c.response, (e: { code?: number }) => e.code === 3);
    assert.equal(s.graph.document().reports, 0);
  } finally {
    c.close();
    await s.stop();
  }
});
