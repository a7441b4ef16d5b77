/**
 * Streams with the same view and subscription share one resource set and one encoded response
 * body per snapshot (`shared-sets.ts`): each still gets its own nonce and only its own nonce is
 * its ACK, a round superseded mid-way still leaves every stream on the newest version, a
 * different subscription gets its own set, and a stream's pending make-before-break removal is
 * not lost to a stream that shares its subscription but was never sent the vanished cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { PUSH_BATCH_SIZE, createXdsServer, type XdsServer } from '../xds-server.ts';
import { fakeSource, makeModel } from '../testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';

const HOST = 'catalog.shop.svc.cluster.local';
const CATALOG = `${HOST}:50051`;
const RATINGS = 'ratings.shop.svc.cluster.local:9080';
const V1 = `outbound|50051|v1|${HOST}`;
const V2 = `outbound|50051|v2|${HOST}`;

function model(weightV2: number, generation: number, hasV2 = true) {
  const subsets = [{ name: 'v1', labels: { version: 'v1' } }, ...(hasV2 ? [{ name: 'v2', labels: { version: 'v2' } }] : [])];
  const route = hasV2 ? [{ destination: { host: 'catalog', subset: 'v1' }, weight: 100 - weightV2 }, { destination: { host: 'catalog', subset: 'v2' }, weight: weightV2 }] : [{ destination: { host: 'catalog', subset: 'v1' } }];
  return makeModel({
    generation,
    services: [
      { hostname: HOST, ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', labels: { version: 'v1' } }, { address: '127.0.0.2', labels: { version: 'v2' } }] },
      { hostname: 'ratings.shop.svc.cluster.local', ports: [{ number: 9080, name: 'http' }], endpoints: [{ address: '127.0.0.3' }] },
    ],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', subsets } }],
    virtualServices: [{ name: 'catalog', namespace: 'shop', spec: { hosts: ['catalog'], http: [{ route }] } }],
  });
}

/** The v2 weight of the catalog route in an RDS response (-1 when absent). */
function weightV2(res: DiscoveryResponse): number {
  for (const any of res.resources ?? []) {
    const rc = unpackAny(any) as { name: string; virtual_hosts: { routes: { route: { weighted_clusters?: { clusters: { name: string; weight: { value: number } }[] } } }[] }[] };
    if (rc.name !== CATALOG) continue;
    const c = rc.virtual_hosts[0]?.routes[0]?.route.weighted_clusters?.clusters.find((x) => x.name.includes('|v2|'));
    return c?.weight.value ?? -1;
  }
  return -1;
}

function names(res: DiscoveryResponse): string[] {
  return (res.resources ?? []).map((r) => String(unpackAny(r).name)).sort();
}

/** Waits (bounded) until `check` holds for the sync report. */
async function until(server: XdsServer, check: (r: ReturnType<XdsServer['syncReport']>) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check(server.syncReport())) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('streams sharing a subscription share the response body but each has its own nonce and ACK, also across a superseded round', { timeout: 60_000 }, async () => {
  const source = fakeSource(model(10, 1));
  const server = createXdsServer({ source, debounceMs: 1_000_000, pushSliceMs: 0 });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const count = PUSH_BATCH_SIZE * 2 + 1;
    const same = Array.from({ length: count }, () => client.sotw<DiscoveryRequest, DiscoveryResponse>());
    const other = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const subscribe = async (s: typeof other, id: string, resourceNames: string[]) => {
      s.send({ node: testNode(id, { NAMESPACE: 'shop' }), type_url: TypeUrl.routeConfiguration, resource_names: resourceNames });
      const first = await s.next(30_000);
      s.send({ type_url: TypeUrl.routeConfiguration, resource_names: resourceNames, version_info: first.version_info, response_nonce: first.nonce });
      return first;
    };
    await Promise.all(same.map((s, i) => subscribe(s, `same-${i}`, [CATALOG])));
    const otherFirst = await subscribe(other, 'other', [CATALOG, RATINGS]);
    assert.deepEqual(names(otherFirst), [CATALOG, RATINGS]);

    // a second round starts before the first has visited every stream
    source.set(model(40, 2));
    server.pushNow();
    source.set(model(70, 3));
    server.pushNow();

    const finals = await Promise.all(same.map(async (s) => {
      let res = await s.next(30_000);
      while (weightV2(res) !== 70) res = await s.next(30_000);
      return res;
    }));
    let otherFinal = await other.next(30_000);
    while (weightV2(otherFinal) !== 70) otherFinal = await other.next(30_000);

    const version = finals[0]?.version_info;
    assert.ok(version);
    assert.ok(finals.every((r) => r.version_info === version), 'one version for one shared set');
    const body = Buffer.from(finals[0]?.resources?.[0]?.value ?? []);
    assert.ok(finals.every((r) => Buffer.from(r.resources?.[0]?.value ?? []).equals(body)), 'the same resource bytes for every stream');
    assert.equal(new Set(finals.map((r) => r.nonce)).size, count, 'every stream its own nonce');
    assert.deepEqual(names(otherFinal), [CATALOG, RATINGS], 'another subscription gets its own set');
    assert.notEqual(otherFinal.version_info, version);

    // another stream's nonce is not an ACK; the stream's own nonce is
    const s0 = same[0];
    s0?.send({ type_url: TypeUrl.routeConfiguration, resource_names: [CATALOG], version_info: version, response_nonce: finals[1]?.nonce });
    await until(server, (r) => r.clients.find((c) => c.nodeId === 'same-0')?.types.rds?.state === 'STALE', 'same-0 STALE');
    for (const [i, s] of same.entries()) s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [CATALOG], version_info: version, response_nonce: finals[i]?.nonce });
    other.send({ type_url: TypeUrl.routeConfiguration, resource_names: [CATALOG, RATINGS], version_info: otherFinal.version_info, response_nonce: otherFinal.nonce });
    await until(server, (r) => r.clients.length === count + 1 && r.clients.every((c) => c.types.rds?.state === 'SYNCED'), 'every stream SYNCED');
    const report = server.syncReport();
    assert.ok(report.clients.filter((c) => c.nodeId.startsWith('same-')).every((c) => c.types.rds?.ackedVersion === version && c.generation === 3));
    for (const s of [...same, other]) s.close();
  } finally {
    client.close();
    await server.close(500);
  }
});

test('a vanished cluster stays with the stream that was sent it (removal delay) while a new stream with the same subscription never gets it', { timeout: 30_000 }, async () => {
  const source = fakeSource(model(10, 1));
  const server = createXdsServer({ source, debounceMs: 1_000_000, limits: { removalDelayMs: 400 } });
  const port = await server.listen('127.0.0.1', 0);
  const client = rawAdsClient(`127.0.0.1:${port}`);
  try {
    const old = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    old.send({ node: testNode('old', { NAMESPACE: 'shop' }), type_url: TypeUrl.cluster, resource_names: [V1, V2] });
    const first = await old.next();
    assert.deepEqual(names(first), [V1, V2]);
    old.send({ type_url: TypeUrl.cluster, resource_names: [V1, V2], version_info: first.version_info, response_nonce: first.nonce });

    source.set(model(0, 2, false));
    server.pushNow();
    const late = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    late.send({ node: testNode('late', { NAMESPACE: 'shop' }), type_url: TypeUrl.cluster, resource_names: [V1, V2] });
    assert.deepEqual(names(await late.next()), [V1], 'the new stream never held v2: it does not get it');
    await old.expectNothing(150);
    const after = await old.next(3000);
    assert.deepEqual(names(after), [V1], 'the old stream loses v2 only after the removal delay');
    old.close();
    late.close();
  } finally {
    client.close();
    await server.close(500);
  }
});
