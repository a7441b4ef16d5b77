import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createXdsClient, TypeUrl, type MeshError, type XdsConfig } from '@weft/xds-client';
import { FakeAdsServer, waitFor } from './fake-ads-server.ts';
import { apiListener, assignment, edsCluster, routeConfig } from './resources.ts';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

const LISTENER = 'reviews.default.svc.cluster.local:9080';
const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

async function setup() {
  const server = new FakeAdsServer();
  await server.start();
  const client = createXdsClient({
    bootstrap: { xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } },
    backoff: { initialMs: 20, maxMs: 200 },
    doesNotExistTimeoutMs: 300,
  });
  cleanups.push(() => client.close(), () => server.stop());
  const updates: XdsConfig[] = [];
  const errors: MeshError[] = [];
  const missing: string[] = [];
  const handle = client.watchXdsConfig(LISTENER, {
    onUpdate: (c) => updates.push(c),
    onError: (e) => errors.push(e),
    onResourceDoesNotExist: (r) => missing.push(r.name),
  });
  return { server, client, updates, errors, missing, handle };
}

test('watchXdsConfig follows LDS → RDS → CDS → EDS and delivers one complete config', async () => {
  const { server, client, updates } = await setup();
  server.set(TypeUrl.listener, LISTENER, apiListener(LISTENER, LISTENER));
  server.set(TypeUrl.routeConfiguration, LISTENER, routeConfig(LISTENER, [[V1, 90], [V2, 10]]));
  server.set(TypeUrl.cluster, V1, edsCluster(V1));
  server.set(TypeUrl.cluster, V2, edsCluster(V2));
  server.set(TypeUrl.clusterLoadAssignment, V1, assignment(V1, [9001, 9002]));
  server.set(TypeUrl.clusterLoadAssignment, V2, assignment(V2, [9003]));
  await waitFor(() => updates.length >= 1, 'a complete config');
  const c = updates.at(-1);
  assert.ok(c);
  assert.equal(c.listenerName, LISTENER);
  assert.equal(c.routeConfig.name, LISTENER);
  assert.deepEqual([...c.clusters.keys()].sort(), [V1, V2]);
  const v1 = c.clusters.get(V1);
  assert.ok(v1?.ok);
  assert.deepEqual(v1.value.endpoints?.localities[0]?.endpoints.map((e) => e.port), [9001, 9002]);
  assert.equal(client.dump().resources.length, 6);
});

test('dropping a cluster from the routes unsubscribes it; a missing cluster is an error entry, not a hole', async () => {
  const { server, client, updates } = await setup();
  server.set(TypeUrl.listener, LISTENER, apiListener(LISTENER, LISTENER));
  server.set(TypeUrl.routeConfiguration, LISTENER, routeConfig(LISTENER, [[V1, 50], [V2, 50]]));
  server.set(TypeUrl.cluster, V1, edsCluster(V1));
  server.set(TypeUrl.clusterLoadAssignment, V1, assignment(V1, [9001]));
  // V2 never exists: after the does-not-exist timeout the config is complete with V2 as an error.
  await waitFor(() => updates.length >= 1, 'config with a missing cluster', 3000);
  const first = updates.at(-1);
  const v2 = first?.clusters.get(V2);
  assert.ok(v2 && !v2.ok);
  assert.equal(v2.error.code, 'WEFT_ERR_XDS_NOT_FOUND');
  server.set(TypeUrl.routeConfiguration, LISTENER, routeConfig(LISTENER, [[V1, 100]]));
  await waitFor(() => updates.at(-1)?.clusters.size === 1, 'config without V2');
  await waitFor(() => !client.dump().resources.some((r) => r.name === V2), 'V2 unsubscribed');
});

test('removal of the listener is reported as does-not-exist', async () => {
  const { server, client, updates, missing } = await setup();
  server.set(TypeUrl.listener, LISTENER, apiListener(LISTENER, LISTENER));
  server.set(TypeUrl.routeConfiguration, LISTENER, routeConfig(LISTENER, [[V1, 1]]));
  server.set(TypeUrl.cluster, V1, edsCluster(V1));
  server.set(TypeUrl.clusterLoadAssignment, V1, assignment(V1, [9001]));
  await waitFor(() => updates.length >= 1, 'config');
  server.remove(TypeUrl.listener, LISTENER);
  await waitFor(() => missing.includes(LISTENER), 'listener does-not-exist');
  await waitFor(() => !client.dump().resources.some((r) => r.typeUrl === TypeUrl.cluster), 'cluster watches dropped with the listener');
});
