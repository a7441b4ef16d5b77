/**
 * End to end: a real `weft control-plane` process probes two WorkloadEntries of one service
 * (each its own WorkloadGroup), and a real SDK client (core Mesh + http-adapter dispatcher)
 * sends traffic. When one endpoint's readiness fails, clients stop picking it; when it passes
 * again, it is back in rotation — with no config change and no failed request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mesh } from '@weft/core';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../demo/control-plane-process.ts';

const WEFT = fileURLToPath(new URL('../cli/weft.ts', import.meta.url));

interface App {
  port: number;
  served: number;
  isReady: boolean;
  server: Server;
}

async function startApp(): Promise<App> {
  const app = { port: 0, served: 0, isReady: true } as App;
  app.server = createServer((req, res) => {
    if (req.url === '/ready') {
      res.statusCode = app.isReady ? 200 : 503;
      return res.end();
    }
    app.served++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

function meshYaml(a: App, b: App): string {
  const group = (pod: string, port: number) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: { name: catalog-${pod}, namespace: shop }
spec:
  metadata: { labels: { app: catalog, pod: ${pod} } }
  template: { serviceAccount: catalog }
  probe: { httpGet: { path: /ready, port: ${port} }, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 1, successThreshold: 1 }
`;
  const entry = (pod: string, port: number) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: catalog-${pod}, namespace: shop }
spec: { address: 127.0.0.1, labels: { app: catalog, pod: ${pod} }, ports: { http: ${port} } }
`;
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [catalog.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  workloadSelector: { labels: { app: catalog } }
${entry('a', a.port)}${entry('b', b.port)}${group('a', a.port)}${group('b', b.port)}`;
}

let dir: string;
let cp: ControlPlaneProcess | undefined;
let a: App;
let b: App;
let mesh: Mesh | undefined;
let dispatcher: MeshDispatcher | undefined;

/** Sends `count` requests; returns the statuses that were not 200. */
async function load(count: number): Promise<number[]> {
  const bad: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch('http://catalog:8080/items', { dispatcher } as RequestInit);
    await res.text();
    if (res.status !== 200) bad.push(res.status);
  }
  return bad;
}

/** Repeats rounds of `count` requests until `done(servedByA, servedByB)` (bounded). */
async function until(what: string, count: number, done: (sa: number, sb: number) => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [sa, sb] = [a.served, b.served];
    assert.deepEqual(await load(count), [], 'no request fails while health changes');
    if (done(a.served - sa, b.served - sb)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  a = await startApp();
  b = await startApp();
  dir = mkdtempSync(join(tmpdir(), 'weft-health-e2e-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(a, b));
  cp = await startControlPlane({ configPaths: [dir], args: ['--debounce-ms', '20'] });
  const bootstrap = execFileSync(process.execPath, [WEFT, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'shop', '--workload-name', 'health-e2e'], { encoding: 'utf8' });
  mesh = await Mesh.create({ xdsClientOptions: { bootstrap }, namespace: 'shop' });
  dispatcher = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 10_000 });
});

after(async () => {
  await dispatcher?.close();
  await mesh?.close();
  await cp?.stop();
  for (const app of [a, b]) {
    app?.server.closeAllConnections();
    app?.server.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a probed endpoint that turns unready leaves clients\' picks and comes back when ready', async () => {
  await until('both endpoints in rotation', 40, (sa, sb) => sa > 0 && sb > 0);

  a.isReady = false;
  await until('a out of rotation', 30, (sa) => sa === 0);
  const [sa, sb] = [a.served, b.served];
  assert.deepEqual(await load(100), []);
  assert.equal(a.served - sa, 0, 'the UNHEALTHY endpoint gets no request');
  assert.equal(b.served - sb, 100);
  const health = (await (await fetch(`${cp?.adminUrl}/debug/health`)).json()) as { endpoints: { id: string; health: string }[] };
  assert.deepEqual(health.endpoints.map((e) => [e.id, e.health]).sort(), [['shop/catalog-a', 'UNHEALTHY'], ['shop/catalog-b', 'HEALTHY']]);

  a.isReady = true;
  await until('a back in rotation', 40, (back) => back > 0);
});
