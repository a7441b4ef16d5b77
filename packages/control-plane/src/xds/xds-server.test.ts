import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeClientConstructor, credentials, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { TypeUrl, unpackAny, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { createXdsServer, type XdsServer } from './xds-server.ts';
import { fakeSource, makeModel, type FixtureInput } from './testing/model-fixture.ts';
import { rawAdsClient, testNode } from './testing/raw-ads-client.ts';

const HOST = 'catalog.shop.svc.cluster.local';

function input(weightV2 = 10, generation = 1): FixtureInput {
  return {
    generation,
    services: [
      {
        hostname: HOST,
        ports: [{ number: 50051, name: 'grpc' }],
        endpoints: [
          { address: '127.0.0.1', ports: { grpc: 7001 }, labels: { version: 'v1' } },
          { address: '127.0.0.1', ports: { grpc: 7002 }, labels: { version: 'v2' } },
        ],
      },
      { hostname: 'ratings.shop.svc.cluster.local', ports: [{ number: 9080, name: 'http' }], endpoints: [{ address: '127.0.0.2' }] },
    ],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } }],
    virtualServices: [{
      name: 'catalog', namespace: 'shop',
      spec: { hosts: ['catalog'], http: [{ route: [{ destination: { host: 'catalog', subset: 'v1' }, weight: 100 - weightV2 }, { destination: { host: 'catalog', subset: 'v2' }, weight: weightV2 }] }] },
    }],
  };
}

async function start(options: { removalDelayMs?: number; graceMs?: number; maxNames?: number } = {}) {
  const source = fakeSource(makeModel(input()));
  const server = createXdsServer({
    source, debounceMs: 10, registrationGraceMs: options.graceMs ?? 50,
    limits: { removalDelayMs: options.removalDelayMs ?? 0, ...(options.maxNames ? { maxNamesPerType: options.maxNames } : {}) },
  });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  return { source, server, client, async stop() { client.close(); await server.close(500); } };
}

type Sotw = ReturnType<ReturnType<typeof rawAdsClient>['sotw']>;

function names(res: DiscoveryResponse): string[] {
  return (res.resources ?? []).map((r) => String(unpackAny(r).name ?? unpackAny(r).cluster_name)).sort();
}

function syncOf(server: XdsServer, nodeId: string) {
  const c = server.syncReport().clients.find((x) => x.nodeId === nodeId);
  assert.ok(c, `client ${nodeId} in syncz`);
  return c;
}

test('SotW: wildcard LDS, ACK is silent, NACK is recorded and nothing is resent, a change pushes', async () => {
  const { source, server, client, stop } = await start();
  try {
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>() as Sotw;
    s.send({ node: testNode('sotw-1'), type_url: TypeUrl.listener });
    const first = (await s.next()) as DiscoveryResponse;
    assert.deepEqual(names(first), [`${HOST}:50051`, 'ratings.shop.svc.cluster.local:9080']);
    assert.ok(first.nonce && first.version_info);
    s.send({ type_url: TypeUrl.listener, version_info: first.version_info, response_nonce: first.nonce });
    await s.expectNothing(150);
    assert.equal(syncOf(server, 'sotw-1').types.lds?.state, 'SYNCED');

    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [`${HOST}:50051`] });
    const rds = (await s.next()) as DiscoveryResponse;
    assert.equal(names(rds).length, 1);
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [`${HOST}:50051`], version_info: '', response_nonce: rds.nonce, error_detail: { code: 3, message: 'weights rejected' } });
    await s.expectNothing(150);
    const sync = syncOf(server, 'sotw-1').types.rds;
    assert.equal(sync?.state, 'NACKED');
    assert.equal(sync?.lastNack?.message, 'weights rejected');
    assert.match(await server.metrics.registry.metrics(), /pilot_total_xds_rejects\{type="rds"\} 1/);

    source.set(makeModel(input(30, 2)));
    const pushed = (await s.next()) as DiscoveryResponse;
    assert.equal(pushed.type_url, TypeUrl.routeConfiguration, 'only the route changed');
    const route = unpackAny(pushed.resources?.[0] as never) as { virtual_hosts: { routes: { route: { weighted_clusters: { clusters: { weight: { value: number } }[] } } }[] }[] };
    assert.deepEqual(route.virtual_hosts[0]?.routes[0]?.route.weighted_clusters.clusters.map((c) => c.weight.value), [70, 30]);
    assert.notEqual(pushed.version_info, rds.version_info);
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [`${HOST}:50051`], version_info: pushed.version_info, response_nonce: pushed.nonce });
    await s.expectNothing(100);
    assert.equal(syncOf(server, 'sotw-1').types.rds?.state, 'SYNCED');
    s.close();
  } finally {
    await stop();
  }
});

test('SotW: unsubscribe, resource removal, stale nonce, unknown type, short-name listener', async () => {
  const { source, client, stop } = await start();
  try {
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>() as Sotw;
    s.send({ node: testNode('sidecar~127.0.0.9~web.shop~shop.svc.cluster.local'), type_url: 'type.googleapis.com/garbage.Type', resource_names: ['x'] });
    s.send({ type_url: TypeUrl.listener, resource_names: ['catalog:50051'] });
    const alias = (await s.next()) as DiscoveryResponse;
    assert.deepEqual(names(alias), ['catalog:50051']);
    const hcm = unpackAny((unpackAny(alias.resources?.[0] as never) as { api_listener: { api_listener: never } }).api_listener.api_listener) as { rds: { route_config_name: string } };
    assert.equal(hcm.rds.route_config_name, `${HOST}:50051`);

    s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [`outbound|50051|v1|${HOST}`, `outbound|50051|v2|${HOST}`] });
    const eds = (await s.next()) as DiscoveryResponse;
    assert.equal(eds.resources?.length, 2);
    s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [`outbound|50051|v1|${HOST}`], response_nonce: 'never-sent' });
    await s.expectNothing(100);
    s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [`outbound|50051|v1|${HOST}`], response_nonce: eds.nonce, version_info: eds.version_info });
    const narrowed = (await s.next()) as DiscoveryResponse;
    assert.deepEqual(names(narrowed), [`outbound|50051|v1|${HOST}`]);
    s.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [`outbound|50051|v1|${HOST}`], response_nonce: narrowed.nonce, version_info: narrowed.version_info });

    const without = input(0, 2);
    without.services = without.services.filter((x) => x.hostname !== HOST);
    without.virtualServices = [];
    without.destinationRules = [];
    source.set(makeModel(without));
    const removed = (await s.next()) as DiscoveryResponse;
    assert.equal(removed.type_url, TypeUrl.clusterLoadAssignment);
    assert.equal(removed.resources?.length ?? 0, 0);
    const lds = (await s.next()) as DiscoveryResponse;
    assert.equal(lds.type_url, TypeUrl.listener);
    assert.equal(lds.resources?.length ?? 0, 0);
    s.close();
  } finally {
    await stop();
  }
});

test('Delta: wildcard CDS, subscribe/unsubscribe EDS, only changes and removals, reconnect with initial versions', async () => {
  const { source, client, stop } = await start();
  try {
    const d = client.delta<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
    d.send({ node: testNode('delta-1'), type_url: TypeUrl.cluster });
    const cds = await d.next();
    assert.equal(cds.resources?.length, 4, 'whole-service and two subsets of catalog, one of ratings');
    d.send({ type_url: TypeUrl.cluster, response_nonce: cds.nonce });
    d.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names_subscribe: [`outbound|50051|v1|${HOST}`, 'outbound|1|missing|nowhere'] });
    const eds = await d.next();
    assert.deepEqual(eds.resources?.map((r) => r.name), [`outbound|50051|v1|${HOST}`]);
    assert.deepEqual(eds.removed_resources, ['outbound|1|missing|nowhere']);
    d.send({ type_url: TypeUrl.clusterLoadAssignment, response_nonce: eds.nonce });
    await d.expectNothing(100);

    d.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names_unsubscribe: [`outbound|50051|v1|${HOST}`] });
    await d.expectNothing(100);

    const changed = input(10, 2);
    (changed.destinationRules?.[0]?.spec as { subsets: unknown[] }).subsets.pop();
    changed.virtualServices = [];
    source.set(makeModel(changed));
    const push = await d.next();
    assert.equal(push.type_url, TypeUrl.cluster);
    assert.deepEqual(push.resources ?? [], [], 'unchanged clusters are not resent');
    assert.deepEqual(push.removed_resources, [`outbound|50051|v2|${HOST}`]);
    const versions = Object.fromEntries((cds.resources ?? []).map((r) => [r.name as string, r.version as string]));
    d.close();

    const again = client.delta<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
    again.send({ node: testNode('delta-1'), type_url: TypeUrl.cluster, initial_resource_versions: versions });
    const resumed = await again.next();
    assert.deepEqual(resumed.resources ?? [], []);
    assert.deepEqual(resumed.removed_resources, [`outbound|50051|v2|${HOST}`]);
    again.close();
  } finally {
    await stop();
  }
});

test('bad input: no node, too many subscriptions, thousands of names, garbage bytes', async () => {
  const { server, client, stop } = await start({ maxNames: 5000 });
  try {
    const noNode = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    noNode.send({ type_url: TypeUrl.listener });
    assert.equal((await noNode.ended())?.code, status.INVALID_ARGUMENT);

    const many = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const names4k = Array.from({ length: 4000 }, (_, i) => `outbound|${1000 + i}||x${i}.shop.svc.cluster.local`);
    many.send({ node: testNode('many'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [...names4k, `outbound|50051|v1|${HOST}`] });
    const res = await many.next();
    assert.equal(res.resources?.length, 1);
    many.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [...names4k, ...names4k.map((n) => `${n}.more`)], response_nonce: res.nonce });
    assert.equal((await many.ended())?.code, status.RESOURCE_EXHAUSTED);

    const Raw = makeClientConstructor({
      S: { path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', requestStream: true, responseStream: true,
        requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
    }, 'Raw');
    const raw = new Raw(server.address as string, credentials.createInsecure()) as unknown as { S(): ClientDuplexStream<Buffer, Buffer>; close(): void };
    const call = raw.S();
    const ended = new Promise<ServiceError | undefined>((resolve) => { call.on('error', resolve); call.on('end', () => resolve(undefined)); });
    call.on('data', () => {});
    call.write(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03]));
    const err = await ended;
    assert.ok(err && err.code !== status.OK, 'garbage ends the stream with an error');
    raw.close();

    const ok = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    ok.send({ node: testNode('after-garbage'), type_url: TypeUrl.listener });
    assert.equal((await ok.next()).resources?.length, 2, 'the server still serves');
    ok.close();
  } finally {
    await stop();
  }
});

test('inconsistent generation is reported and the last good snapshot keeps serving', async () => {
  const { source, server, client, stop } = await start();
  try {
    const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: testNode('c1'), type_url: TypeUrl.routeConfiguration, resource_names: [`${HOST}:50051`] });
    const good = await s.next();
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [`${HOST}:50051`], response_nonce: good.nonce, version_info: good.version_info });
    const bad = input(10, 2);
    (bad.virtualServices?.[0]?.spec as { http: { route: { destination: { subset: string } }[] }[] }).http[0]!.route[1]!.destination.subset = 'v9';
    const pushed = new Promise<void>((resolve) => { const d = server.onPushed(() => { d[Symbol.dispose](); resolve(); }); });
    source.set(makeModel(bad));
    await pushed;
    await s.expectNothing(100);
    const report = server.syncReport();
    assert.equal(report.snapshotFailures.length, 1);
    assert.match(report.snapshotFailures[0]?.message ?? '', /outbound\|50051\|v9\|catalog/);
    assert.equal(report.clients[0]?.generation, 1);
    s.close();
  } finally {
    await stop();
  }
});

test('self-registration lives with the stream, survives a quick reconnect, goes after the grace', async () => {
  const { source, server, client, stop } = await start({ graceMs: 150 });
  try {
    const meta = { NAMESPACE: 'shop', WEFT_SERVICE: 'reviews', WEFT_PORTS: 'grpc:50052', INSTANCE_IPS: '127.0.0.1', LABELS: 'version=v3' };
    const a = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    a.send({ node: testNode('reviews-1', meta), type_url: TypeUrl.listener });
    await a.next();
    const w = source.registered.get('xds:reviews-1');
    assert.deepEqual({ service: w?.service, ns: w?.namespace, ports: w?.ports, labels: w?.labels }, { service: 'reviews', ns: 'shop', ports: [{ name: 'grpc', number: 50052, protocol: 'GRPC' }], labels: { version: 'v3' } });
    a.close();
    await new Promise((r) => setTimeout(r, 30));
    const b = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    b.send({ node: testNode('reviews-1', meta), type_url: TypeUrl.listener });
    await b.next();
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(source.registered.has('xds:reviews-1'), 'a reconnect within the grace keeps the endpoint');
    b.close();
    const deadline = Date.now() + 3000;
    while (source.registered.has('xds:reviews-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!source.registered.has('xds:reviews-1'));
    assert.deepEqual(source.events, ['register xds:reviews-1', 'register xds:reviews-1', 'unregister xds:reviews-1']);
    assert.equal(server.connections().length, 0);
  } finally {
    await stop();
  }
});

test('close() ends streams with UNAVAILABLE', async () => {
  const { server, client } = await start();
  const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
  s.send({ node: testNode('bye'), type_url: TypeUrl.listener });
  await s.next();
  const ended = s.ended();
  await server.close(500);
  assert.equal((await ended)?.code, status.UNAVAILABLE);
  client.close();
});

test('Delta: NACK recorded with its error, nothing resent, explicit wildcard and stale nonce', async () => {
  const { server, client, stop } = await start();
  try {
    const d = client.delta<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
    d.send({ node: testNode('delta-nack'), type_url: TypeUrl.listener, resource_names_subscribe: ['*'] });
    const lds = await d.next();
    assert.equal(lds.resources?.length, 2);
    d.send({ type_url: TypeUrl.listener, response_nonce: 'not-ours' });
    d.send({ type_url: TypeUrl.listener, response_nonce: lds.nonce, error_detail: { code: 3, message: 'listener rejected' } });
    await d.expectNothing(150);
    const sync = syncOf(server, 'delta-nack');
    assert.equal(sync.protocol, 'delta');
    assert.equal(sync.types.lds?.state, 'NACKED');
    assert.equal(sync.types.lds?.lastNack?.message, 'listener rejected');
    assert.equal(sync.types.lds?.isWildcard, true);
    d.close();
  } finally {
    await stop();
  }
});
