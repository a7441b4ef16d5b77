/**
 * Push rounds in slices (here `pushSliceMs: 0`: one batch per turn): with more streams than one
 * slice, a round is spread over several event-loop turns (it is not finished when `pushNow`
 * returns), every stream still gets the new RouteConfiguration, and a second round started
 * before the first finished supersedes it: every stream ends on the newest version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { PUSH_BATCH_SIZE, createXdsServer } from '../xds-server.ts';
import { fakeSource, makeModel } from '../testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';

const HOST = 'catalog.shop.svc.cluster.local';
const LISTENER = `${HOST}:50051`;
const STREAMS = PUSH_BATCH_SIZE * 2 + 10;

function model(weightV2: number, generation: number) {
  return makeModel({
    generation,
    services: [{ hostname: HOST, ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', labels: { version: 'v1' } }, { address: '127.0.0.2', labels: { version: 'v2' } }] }],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } }],
    virtualServices: [{ name: 'catalog', namespace: 'shop', spec: { hosts: ['catalog'], http: [{ route: [{ destination: { host: 'catalog', subset: 'v1' }, weight: 100 - weightV2 }, { destination: { host: 'catalog', subset: 'v2' }, weight: weightV2 }] }] } }],
  });
}

/** The v2 weight in an RDS response. */
function weightV2(res: DiscoveryResponse): number {
  const rc = unpackAny((res.resources ?? [])[0] as never) as { virtual_hosts: { routes: { route: { weighted_clusters: { clusters: { name: string; weight: { value: number } }[] } } }[] }[] };
  const c = rc.virtual_hosts[0]?.routes[0]?.route.weighted_clusters.clusters.find((x) => x.name.includes('|v2|'));
  return c?.weight.value ?? -1;
}

test(`a push round over ${STREAMS} streams runs in batches of ${PUSH_BATCH_SIZE}; a newer round supersedes one in progress`, { timeout: 60_000 }, async () => {
  const source = fakeSource(model(10, 1));
  const server = createXdsServer({ source, debounceMs: 1_000_000, pushSliceMs: 0 });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const streams = Array.from({ length: STREAMS }, () => client.sotw<DiscoveryRequest, DiscoveryResponse>());
    await Promise.all(streams.map(async (s, i) => {
      s.send({ node: testNode(`batch-${i}`, { NAMESPACE: 'shop' }), type_url: TypeUrl.routeConfiguration, resource_names: [LISTENER] });
      const first = await s.next(30_000);
      assert.equal(weightV2(first), 10);
      s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [LISTENER], version_info: first.version_info, response_nonce: first.nonce });
    }));
    assert.equal(server.connections().length, STREAMS);

    const rounds: [number, number][] = [];
    const sub = server.onPushed((generation, pushed) => rounds.push([generation, pushed]));
    source.set(model(40, 2));
    server.pushNow();
    assert.deepEqual(rounds, [], 'the round is not over when pushNow returns: later batches follow on later turns');
    // a newer model before the round finished: the new round takes over the unvisited streams
    source.set(model(70, 3));
    server.pushNow();
    await new Promise<void>((resolve) => {
      const wait = () => (rounds.length > 0 ? resolve() : setTimeout(wait, 10));
      wait();
    });
    sub[Symbol.dispose]();
    assert.deepEqual(rounds, [[3, STREAMS]], 'one completed round, of the newest generation, that reached every stream');

    // every stream ends on the newest weight (some saw 40 first: they were in the first batch)
    const last = await Promise.all(streams.map(async (s) => {
      let res = await s.next(30_000);
      while (weightV2(res) !== 70) res = await s.next(30_000);
      return weightV2(res);
    }));
    assert.ok(last.every((w) => w === 70));
    for (const s of streams) s.close();
  } finally {
    client.close();
    await server.close(500);
  }
});
