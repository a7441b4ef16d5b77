/**
 * A Mesh driven end to end by a real xds-client over a real gRPC socket on 127.0.0.1: a tiny
 * State-of-the-World ADS server written here serves LDS → RDS → CDS → EDS; the test checks the
 * first config, a weighted split, an EDS update swapping the snapshot, and removal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { adsServiceDefinition, packAny, TypeUrl } from '@weft/xds-client';
import type { DiscoveryRequest, DiscoveryResponse } from '@weft/xds-client';
import { Mesh } from '../src/mesh/mesh.ts';
import type { HostSnapshot } from '../src/mesh/host-snapshot.ts';

type Stream = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** Minimal SotW ADS: answers each subscription with the named resources it has, pushes on change. */
class TinyAds {
  readonly server = new Server();
  readonly resources = new Map<string, Map<string, object>>();
  readonly streams = new Set<{ call: Stream; subs: Map<string, string[]> }>();
  readonly nacks: string[] = [];
  #version = 0;
  #nonce = 0;

  constructor() {
    this.server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: Stream) => {
        const entry = { call, subs: new Map<string, string[]>() };
        this.streams.add(entry);
        call.on('data', (req: DiscoveryRequest) => {
          if (req.error_detail) this.nacks.push(String(req.error_detail.message));
          const typeUrl = req.type_url ?? '';
          const names = [...(req.resource_names ?? [])].sort();
          const before = entry.subs.get(typeUrl);
          entry.subs.set(typeUrl, names);
          if (before === undefined || before.join() !== names.join()) this.#send(entry, typeUrl);
        });
        call.on('end', () => call.end());
        call.on('error', () => {});
        call.on('close', () => this.streams.delete(entry));
      },
      DeltaAggregatedResources: (call: ServerDuplexStream<unknown, unknown>) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'SotW only' }),
    });
  }

  set(typeUrl: string, name: string, resource: object | undefined): void {
    let byName = this.resources.get(typeUrl);
    if (byName === undefined) this.resources.set(typeUrl, (byName = new Map()));
    if (resource === undefined) byName.delete(name);
    else byName.set(name, resource);
    for (const s of this.streams) if (s.subs.has(typeUrl)) this.#send(s, typeUrl);
  }

  #send(entry: { call: Stream; subs: Map<string, string[]> }, typeUrl: string): void {
    const names = entry.subs.get(typeUrl) ?? [];
    const all = this.resources.get(typeUrl) ?? new Map();
    const wanted = [...all].filter(([n]) => names.length === 0 || names.includes(n));
    entry.call.write({
      version_info: String(++this.#version),
      type_url: typeUrl,
      nonce: String(++this.#nonce),
      resources: wanted.map(([, r]) => packAny(typeUrl, r)),
    } as DiscoveryResponse);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  close(): void {
    for (const s of this.streams) s.call.end();
    this.server.forceShutdown();
  }
}

const LISTENER = 'reviews.shop.svc.cluster.local:9080';

function listener(routeName: string): object {
  return {
    name: LISTENER,
    api_listener: {
      api_listener: packAny(TypeUrl.httpConnectionManager, {
        rds: { route_config_name: routeName, config_source: { ads: {} } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) }],
      }),
    },
  };
}

function routes(split: [string, number][]): object {
  return {
    name: 'reviews-routes',
    virtual_hosts: [
      {
        name: 'reviews',
        domains: ['reviews', 'reviews:9080', 'reviews.shop.svc.cluster.local', LISTENER],
        routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: split.map(([name, w]) => ({ name, weight: { value: w } })) } } }],
      },
    ],
  };
}

const cluster = (name: string) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name }, lb_policy: 'ROUND_ROBIN' });

function endpoints(name: string, ports: number[]): object {
  return {
    cluster_name: name,
    endpoints: [{ locality: { region: 'r1', zone: 'z1' }, lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } }, health_status: 'HEALTHY' })) }],
  };
}

/** Waits (bounded) until `predicate` holds for the current snapshot. */
async function until(mesh: Mesh, predicate: (s: HostSnapshot | undefined) => boolean, what: string): Promise<void> {
  if (predicate(mesh.resolve('reviews:9080'))) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (sub.cancel(), reject(new Error(`timed out waiting for ${what}`))), 10_000);
    const sub = mesh.onUpdate(() => {
      if (!predicate(mesh.resolve('reviews:9080'))) return;
      clearTimeout(timer);
      sub.cancel();
      resolve();
    });
  });
}

test('Mesh over a real xds-client and a tiny ADS server: first config, weighted split, EDS update, removal', async (t) => {
  const ads = new TinyAds();
  const port = await ads.listen();
  t.after(() => ads.close());
  ads.set(TypeUrl.listener, LISTENER, listener('reviews-routes'));
  ads.set(TypeUrl.routeConfiguration, 'reviews-routes', routes([['v1', 80], ['v2', 20]]));
  ads.set(TypeUrl.cluster, 'v1', cluster('v1'));
  ads.set(TypeUrl.cluster, 'v2', cluster('v2'));
  ads.set(TypeUrl.clusterLoadAssignment, 'v1', endpoints('v1', [10001, 10002]));
  ads.set(TypeUrl.clusterLoadAssignment, 'v2', endpoints('v2', [10003]));

  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~test.shop~shop.svc.cluster.local', metadata: { NAMESPACE: 'shop' } },
  };
  const mesh = await Mesh.create({ xdsClientOptions: { bootstrap, protocol: 'sotw', env: {} } });
  t.after(() => mesh.close());
  assert.equal(mesh.namespace, 'shop', 'namespace from the bootstrap node metadata');

  const first = await mesh.waitForHost('reviews:9080', { timeoutMs: 10_000 });
  assert.equal(first.listenerName, LISTENER);
  const n = 2000;
  let v1 = 0;
  const ports = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = mesh.route('reviews:9080', { path: '/reviews/1', headers: {} });
    if (r.clusterName === 'v1') v1++;
    ports.add(r.endpoint.port);
  }
  // 80/20 over 2,000: σ = √(2000·0.8·0.2) ≈ 17.9; ±5σ ≈ ±90.
  assert.ok(Math.abs(v1 - 1600) < 90, `v1 ${v1}`);
  assert.deepEqual([...ports].sort(), [10001, 10002, 10003]);

  ads.set(TypeUrl.clusterLoadAssignment, 'v2', endpoints('v2', [10004]));
  await until(mesh, (s) => s?.pickEndpoint('v2', { path: '/', headers: {} }).port === 10004, 'the EDS update');
  assert.notEqual(mesh.resolve('reviews:9080'), first, 'a new snapshot was swapped in');
  assert.equal(first.pickEndpoint('v2', { path: '/', headers: {} }).port, 10003, 'the old snapshot is unchanged');

  ads.set(TypeUrl.listener, LISTENER, undefined);
  await until(mesh, (s) => s === undefined, 'the listener removal');
  await assert.rejects(mesh.waitForHost('reviews:9080', { timeoutMs: 5_000 }), (e: { code?: string }) => e.code === 'WEFT_ERR_UNKNOWN_HOST');
  assert.deepEqual(ads.nacks, []);
});

test('Mesh.fromEnv with no reachable control plane: a bounded wait fails with WEFT_ERR_XDS_UNAVAILABLE, close() releases everything', async () => {
  // A port that was just free: nothing listens there.
  const probe = new Server();
  const deadPort = await new Promise<number>((resolve, reject) =>
    probe.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  probe.forceShutdown();
  const env = {
    GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${deadPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~offline.default~default.svc.cluster.local' },
    }),
    WEFT_NAMESPACE: 'offline',
  };
  const mesh = await Mesh.fromEnv(env);
  assert.equal(mesh.namespace, 'offline');
  assert.equal(mesh.listenerNameFor('reviews:9080'), 'reviews.offline.svc.cluster.local:9080');
  await assert.rejects(mesh.waitForHost('reviews:9080', { timeoutMs: 300 }), (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_XDS_UNAVAILABLE' && /reviews\.offline\.svc\.cluster\.local:9080/.test(e.message));
  assert.throws(() => mesh.route('reviews:9080', { path: '/', headers: {} }), (e: { code?: string }) => e.code === 'WEFT_ERR_XDS_UNAVAILABLE');
  await mesh.close();
});
