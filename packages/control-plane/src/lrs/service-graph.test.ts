import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServiceGraph, type Reporter } from './service-graph.ts';
import { clusterStats } from './testing/lrs-test-client.ts';

const reporter: Reporter = { nodeId: 'n1', source: 'a.ns.svc.cluster.local', sourceKind: 'service', namespace: 'ns', workload: 'a-1' };

test('service graph: counts leave the sliding window and idle edges age out', () => {
  let now = 1_000_000;
  const g = createServiceGraph({ windowMs: 10_000, bucketCount: 10, now: () => now });
  g.record(reporter, [clusterStats('outbound|80||b.ns.svc.cluster.local', { issued: 100, ok: 100 })]);
  now += 5_000;
  g.record(reporter, [clusterStats('outbound|80||b.ns.svc.cluster.local', { issued: 50, ok: 40, errors: 10 })]);
  let e = g.document().edges[0];
  assert.equal(e?.requests, 150);
  assert.equal(e?.rps, 150 / 5);
  now += 6_000; // the first report is now older than the window
  e = g.document().edges[0];
  assert.equal(e?.requests, 50);
  assert.equal(e?.errorRate, 10 / 50);
  assert.equal(e?.rps, 50 / 10);
  now += 11_000; // no report for a whole window: the edge is gone
  assert.equal(g.document().edges.length, 0);
  assert.equal(g.edgeCount, 0);
});

test('service graph: the edge cap evicts the least recently reported edge', () => {
  let now = 0;
  const g = createServiceGraph({ maxEdges: 2, now: () => now });
  for (const host of ['b', 'c', 'b', 'd']) {
    now += 3000; // more than one bucket (2 s), so recency is tracked
    g.record(reporter, [clusterStats(`outbound|80||${host}.ns.svc.cluster.local`, { issued: 1, ok: 1 })]);
  }
  const doc = g.document();
  assert.deepEqual(doc.edges.map((x) => x.destination.split('.')[0]).sort(), ['b', 'd']);
  assert.equal(doc.evictedEdges, 1);
});

test('service graph: mTLS per edge comes from the reporters\' cluster TLS', () => {
  const g = createServiceGraph({ isClusterTls: (node, cluster) => (node === 'n1' ? cluster.includes('|v2|') : undefined) });
  g.record(reporter, [clusterStats('outbound|80|v1|b.ns.svc.cluster.local', { issued: 1, ok: 1 }), clusterStats('outbound|80|v2|b.ns.svc.cluster.local', { issued: 1, ok: 1 })]);
  g.record({ ...reporter, nodeId: 'n2' }, [clusterStats('outbound|80||c.ns.svc.cluster.local', { issued: 1, ok: 1 })]);
  const bySubset = new Map(g.document().edges.map((x) => [`${x.destination.split('.')[0]}${x.subset}`, x.mtls]));
  assert.equal(bySubset.get('bv1'), false);
  assert.equal(bySubset.get('bv2'), true);
  assert.equal(bySubset.get('c'), null);
});
