/**
 * End to end: readiness gating of self-registered workloads through the real config store and
 * xDS server, observed in EDS (a raw ADS watcher) and in the traffic of a real SDK client (core
 * Mesh + http-adapter dispatcher). Two workloads of `ratings` register over ADS on the same port
 * of two loopback addresses: `a` serves from the start (default TCP readiness), `b` advertises
 * `WEFT_READINESS_PROBE=http:PORT/ready` and is at first not listening, then listening but not
 * ready, then ready, then stopped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { Mesh } from '@weft/core';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { createConfigStore, type ConfigStore } from '../config/config-store.ts';
import { createXdsServer, type XdsServer } from '../xds/xds-server.ts';
import { rawAdsClient, testNode } from '../xds/testing/raw-ads-client.ts';

interface App {
  server: Server;
  served: number;
  isReady: boolean;
}

function createApp(): App {
  const app: App = { served: 0, isReady: true, server: createServer() };
  app.server.on('request', (req, res) => {
    if (req.url === '/ready') {
      res.statusCode = app.isReady ? 200 : 503;
      return res.end();
    }
    app.served++;
    res.end('ok');
  });
  return app;
}

function listen(app: App, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(port, host, () => resolve((app.server.address() as AddressInfo).port));
  });
}

function stopListening(app: App): Promise<void> {
  app.server.closeAllConnections();
  return new Promise((resolve) => app.server.close(() => resolve()));
}

/** EDS health per endpoint address of one SotW response. */
function healthByAddress(res: DiscoveryResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of res.resources ?? []) {
    const cla = unpackAny(r) as { endpoints?: { lb_endpoints?: { endpoint: { address: { socket_address: { address: string } } }; health_status?: string }[] }[] };
    for (const l of cla.endpoints ?? []) for (const e of l.lb_endpoints ?? []) out[e.endpoint.address.socket_address.address] = e.health_status ?? 'UNKNOWN';
  }
  return out;
}

/** The workloads here hold no certificate: plaintext instead of auto-mTLS. */
const PLAINTEXT = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: shop }
spec: { host: ratings.shop.svc.cluster.local, trafficPolicy: { tls: { mode: DISABLE } } }
`;

let dir: string;
let store: ConfigStore;
let xds: XdsServer;
let ads: ReturnType<typeof rawAdsClient>;
let mesh: Mesh;
let dispatcher: MeshDispatcher;
let a: App;
let b: App;
let port: number;
let cluster: string;

before(async () => {
  a = createApp();
  b = createApp();
  port = await listen(a, '127.0.0.1', 0);
  dir = await mkdtemp(join(tmpdir(), 'weft-readiness-'));
  await writeFile(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: other, namespace: shop }\nspec: { hosts: [other.shop.svc.cluster.local], ports: [{ number: 80, name: http }], resolution: STATIC, location: MESH_INTERNAL }\n---\n${PLAINTEXT}`);
  store = await createConfigStore({ paths: [dir], debounceMs: 10, watch: false });
  xds = createXdsServer({ source: store, debounceMs: 0, registrationGraceMs: 5000 });
  const xdsPort = await xds.listen('127.0.0.1', 0);
  ads = rawAdsClient(`127.0.0.1:${xdsPort}`);
  cluster = `outbound|${port}||ratings.shop.svc.cluster.local`;
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~caller-1.shop~shop.svc.cluster.local', metadata: { NAMESPACE: 'shop' } },
  };
  mesh = await Mesh.create({ xdsClientOptions: { bootstrap }, namespace: 'shop' });
  dispatcher = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 10_000 });
});

after(async () => {
  await dispatcher?.close();
  await mesh?.close();
  ads?.close();
  await xds?.close(500);
  await store?.close();
  for (const app of [a, b]) if (app?.server.listening) await stopListening(app);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Sends `count` requests to ratings; every one must succeed. */
async function load(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://ratings:${port}/stars`, { dispatcher } as RequestInit);
    assert.equal(res.status, 200, await res.text());
  }
}

test('a self-registered workload gets traffic only while its readiness probe passes', async () => {
  const registering = (ip: string, extra: Record<string, string>) => {
    const s = ads.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: testNode(`sidecar~${ip}~ratings-${ip}.shop~shop.svc.cluster.local`, { NAMESPACE: 'shop', WEFT_SERVICE: 'ratings', WEFT_PORTS: `http:${port}`, INSTANCE_IPS: ip, ...extra }), type_url: TypeUrl.listener });
    return s;
  };
  const streamA = registering('127.0.0.1', {});
  const streamB = registering('127.0.0.2', { WEFT_READINESS_PROBE: `http:${port}/ready` });
  const watcher = ads.sotw<DiscoveryRequest, DiscoveryResponse>();
  watcher.send({ node: testNode('eds-watcher'), type_url: TypeUrl.clusterLoadAssignment, resource_names: [cluster] });
  /** Reads EDS pushes (ACKing each) until `want` holds; bounded in count and time. */
  const edsUntil = async (what: string, want: (h: Record<string, string>) => boolean): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const res = await watcher.next(10_000);
      watcher.send({ type_url: TypeUrl.clusterLoadAssignment, resource_names: [cluster], response_nonce: res.nonce, version_info: res.version_info });
      if (want(healthByAddress(res))) return;
    }
    throw new Error(`EDS never showed ${what}`);
  };
  try {
    await edsUntil('a ready and b registered but not ready', (h) => h['127.0.0.1'] === 'HEALTHY' && h['127.0.0.2'] === 'UNHEALTHY');
    await load(30);
    assert.equal(a.served, 30, 'b is not listening: every request went to a, none failed');

    b.isReady = false;
    await listen(b, '127.0.0.2', port);
    const before = b.served;
    for (let round = 0; round < 5; round++) await load(20);
    assert.equal(b.served, before, 'b listens but its /ready answers 503: it gets no request');

    b.isReady = true;
    await edsUntil('b ready', (h) => h['127.0.0.2'] === 'HEALTHY');
    const deadline = Date.now() + 10_000;
    while (b.served === 0 && Date.now() < deadline) await load(20);
    assert.ok(b.served > 0, 'once ready, b is in rotation');

    await stopListening(b);
    await edsUntil('b out of rotation', (h) => h['127.0.0.1'] === 'HEALTHY' && h['127.0.0.2'] === 'UNHEALTHY');
    const aBefore = a.served;
    await load(30);
    assert.equal(a.served - aBefore, 30, 'b stopped answering: it left the rotation, nothing failed');
  } finally {
    watcher.close();
    streamA.close();
    streamB.close();
  }
});
