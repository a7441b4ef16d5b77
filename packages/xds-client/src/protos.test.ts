import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packAny, unpackAny, TypeUrl, messageType } from './protos.ts';

test('every resource type of the LDS/RDS/CDS/EDS chain is loaded from grpc-js-xds deps', () => {
  for (const url of [TypeUrl.listener, TypeUrl.routeConfiguration, TypeUrl.cluster, TypeUrl.clusterLoadAssignment]) {
    assert.equal(messageType(url).fullName, '.' + url.split('/')[1]);
  }
});

test('packAny and unpackAny round-trip a cluster with proto field names and enum names', () => {
  const cluster = {
    name: 'outbound|9080||reviews.default.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: { service_name: 'outbound|9080||reviews.default.svc.cluster.local', eds_config: { ads: {} } },
    lb_policy: 'LEAST_REQUEST',
  };
  const back = unpackAny(packAny(TypeUrl.cluster, cluster));
  assert.equal(back['name'], cluster.name);
  assert.equal(back['type'], 'EDS');
  assert.equal(back['lb_policy'], 'LEAST_REQUEST');
  assert.deepEqual((back['eds_cluster_config'] as { service_name: string }).service_name, cluster.name);
});

test('unpackAny throws on bytes that are not the message they claim to be', () => {
  assert.throws(() => unpackAny({ type_url: TypeUrl.cluster, value: Uint8Array.from([0xff, 0xff, 0xff, 0xff]) }));
});
