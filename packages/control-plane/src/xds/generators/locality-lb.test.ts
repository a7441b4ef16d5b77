import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import { capabilitiesFor } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { buildSnapshot } from '../snapshot.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { localityMatches, placementOfNode } from './locality-lb.ts';

const HOST = 'pay.shop.svc.cluster.local';
const CLUSTER = `outbound|80||${HOST}`;
const localities = ['us-east/a/1', 'us-east/a/2', 'us-east/b/1', 'us-west/a/1', 'eu/a/1'];

function snapshotWith(loadBalancer: unknown, outlier = true) {
  const m = makeModel({
    services: [{ hostname: HOST, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], endpoints: localities.map((locality, i) => ({ address: `10.0.0.${i + 1}`, locality, labels: { rack: i % 2 ? 'odd' : 'even' } })) }],
    destinationRules: [{ name: 'pay', namespace: 'shop', spec: { host: 'pay', trafficPolicy: { loadBalancer, ...(outlier ? { outlierDetection: { consecutive5xxErrors: 5 } } : {}) } } }],
  });
  return buildSnapshot(indexModel(m), capabilitiesFor('weft'));
}

/** `region/zone/subzone` → priority (or weight) as the client at `locality` gets it. */
function view(s: ReturnType<typeof snapshotWith>, locality: string | undefined, field: 'priority' | 'weight', labels?: Record<string, string>): Record<string, number> {
  const r = s.lookup(TypeUrl.clusterLoadAssignment, CLUSTER, 'shop', locality === undefined ? undefined : { locality, ...(labels ? { labels } : {}) });
  assert.ok(r);
  const out: Record<string, number> = {};
  for (const g of r.message.endpoints as { locality: { region: string; zone: string; sub_zone: string }; priority: number; load_balancing_weight: { value: number } }[]) {
    out[`${g.locality.region}/${g.locality.zone}/${g.locality.sub_zone}`] = field === 'priority' ? g.priority : g.load_balancing_weight.value;
  }
  return out;
}

test('locality patterns: "*" and missing parts match anything', () => {
  assert.equal(localityMatches(['us', 'a', '1'], 'us/*'), true);
  assert.equal(localityMatches(['us', 'a', '1'], 'us'), true);
  assert.equal(localityMatches(['us', 'a', '1'], 'us/b/*'), false);
  assert.equal(localityMatches(['us', 'a', '1'], '*'), true);
});

test('a node placement: its locality and LABELS (string or map); none without a locality', () => {
  assert.deepEqual(placementOfNode({ region: 'us', zone: 'a', sub_zone: '' }, 'version=v2, rack=r1'), { locality: 'us/a/', labels: { version: 'v2', rack: 'r1' } });
  assert.deepEqual(placementOfNode({ region: 'us' }, { rack: 'r1', n: 1 }), { locality: 'us//', labels: { rack: 'r1' } });
  assert.equal(placementOfNode({ region: '', zone: '' }, 'a=b'), undefined);
  assert.equal(placementOfNode(undefined, undefined), undefined);
});

test('failover by default: same subzone, zone, region, then the rest, renumbered without gaps', () => {
  const s = snapshotWith({ localityLbSetting: { enabled: true } });
  assert.deepEqual(view(s, 'us-east/a/1', 'priority'), { 'us-east/a/1': 0, 'us-east/a/2': 1, 'us-east/b/1': 2, 'us-west/a/1': 3, 'eu/a/1': 3 });
  assert.deepEqual(view(s, 'eu/a/9', 'priority'), { 'us-east/a/1': 1, 'us-east/a/2': 1, 'us-east/b/1': 1, 'us-west/a/1': 1, 'eu/a/1': 0 });
  // Without a client locality, or without outlier detection (Istio's rule), nothing changes.
  assert.deepEqual(Object.values(view(s, undefined, 'priority')), [0, 0, 0, 0, 0]);
  assert.deepEqual(Object.values(view(snapshotWith({ localityLbSetting: { enabled: true } }, false), 'us-east/a/1', 'priority')), [0, 0, 0, 0, 0]);
  assert.deepEqual(Object.values(view(snapshotWith({ localityLbSetting: { enabled: false } }), 'us-east/a/1', 'priority')), [0, 0, 0, 0, 0]);
});

test('failover from/to: the named region comes before every other region', () => {
  const s = snapshotWith({ localityLbSetting: { enabled: true, failover: [{ from: 'us-east', to: 'eu' }] } });
  assert.deepEqual(view(s, 'us-east/b/7', 'priority'), { 'us-east/a/1': 1, 'us-east/a/2': 1, 'us-east/b/1': 0, 'us-west/a/1': 3, 'eu/a/1': 2 });
});

test('failoverPriority: ranked by how many of the labels, in order, match the client', () => {
  const s = snapshotWith({ localityLbSetting: { enabled: true, failoverPriority: ['topology.kubernetes.io/region', 'rack'] } });
  assert.deepEqual(view(s, 'us-east/z/z', 'priority', { rack: 'odd' }), { 'us-east/a/1': 1, 'us-east/a/2': 0, 'us-east/b/1': 1, 'us-west/a/1': 2, 'eu/a/1': 2 });
});

test('distribute: weights per destination pattern, shared by the localities it matches; unnamed localities get nothing', () => {
  const s = snapshotWith({ localityLbSetting: { enabled: true, distribute: [{ from: 'us-east/*', to: { 'us-east/a/*': 80, 'eu/*': 20 } }] } }, false);
  assert.deepEqual(view(s, 'us-east/a/1', 'weight'), { 'us-east/a/1': 40, 'us-east/a/2': 40, 'eu/a/1': 20 });
  // A client the rule does not name keeps the plain assignment.
  assert.deepEqual(Object.keys(view(s, 'us-west/a/1', 'weight')).length, 5);
});

test('endpoints carry Istio workload metadata, mesh workloads the tlsMode transport-socket match, registrations their peer exchange', () => {
  const m = makeModel({
    services: [{ hostname: HOST, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], endpoints: [
      { address: '10.0.0.1', id: 'shop/pay-vm', labels: { app: 'pay', version: 'v2', 'security.istio.io/tlsMode': 'istio' }, serviceAccount: 'pay-sa' },
      { address: '10.0.0.2', id: 'shop/pay-se/x/0', labels: {} },
      { address: '10.0.0.3', id: 'xds:pay-3', labels: { app: 'pay' }, origin: 'registration', peerExchange: 'connection' },
    ] }],
  });
  const r = buildSnapshot(indexModel(m), capabilitiesFor('weft')).lookup(TypeUrl.clusterLoadAssignment, CLUSTER, 'shop');
  const eps = (r?.message.endpoints as { lb_endpoints: { metadata: { filter_metadata: Record<string, { fields: Record<string, { string_value?: string }> }> } }[] }[])[0]!.lb_endpoints;
  const meta = eps.map((e) => e.metadata.filter_metadata);
  assert.equal(meta[0]!['istio']!.fields['workload']!.string_value, 'pay-vm;shop;pay;v2;Kubernetes');
  assert.equal(meta[0]!['istio']!.fields['service_account']!.string_value, 'pay-sa');
  assert.equal(meta[0]!['envoy.transport_socket_match']!.fields['tlsMode']!.string_value, 'istio');
  assert.equal(meta[1]!['istio']!.fields['workload']!.string_value, 'pay-se;shop;pay-se;latest;Kubernetes');
  assert.equal(meta[1]!['envoy.transport_socket_match'], undefined);
  // A workload that announced the metadata exchange once per connection (WEFT_PEER_EXCHANGE) says so to its callers.
  assert.equal(meta[2]!['weft']!.fields['peer_exchange']!.string_value, 'connection');
  assert.equal(meta[0]!['weft'], undefined);
});
