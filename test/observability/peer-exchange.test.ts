/**
 * The metadata exchange once per connection between Weft workloads: a server started by the
 * register hook announces it in its node metadata, the real control plane publishes it in the
 * endpoint's EDS metadata (`weft.peer_exchange: connection`), and a Weft client then sends
 * `x-envoy-peer-metadata` only on the first request of each connection — again on a connection
 * the server closed — while the server still labels every request with the caller's workload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { Mesh, createMeshTelemetry, createPeerIdentity } from '@weft/core';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { freePort } from '../../packages/control-plane/src/demo/free-port.ts';
import { WEFT_CLI } from '../support/meshed-http-client.ts';
import { parsePrometheus, sampleValue } from './prometheus-text.ts';

const SERVER = fileURLToPath(new URL('./fixtures/exchange-server.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
let cp: ControlPlaneProcess;
let server: ChildProcess;
let port: number;
let adminPort: number;
let statsPort: number;
let mesh: Mesh;
let dispatcher: MeshDispatcher;

interface Stats {
  requests: number;
  withPeerMetadata: number;
  withPeerMetadataId: number;
  connections: number;
}

async function stats(): Promise<Stats> {
  const res = await request(`http://127.0.0.1:${statsPort}/`);
  return (await res.body.json()) as Stats;
}

async function get(path: string): Promise<number> {
  const res = await request(`http://reviews.shop.svc.cluster.local:${port}${path}`, { dispatcher });
  await res.body.dump();
  return res.statusCode;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-exchange-'));
  // Plaintext (the client has no workload certificate): auto mTLS would otherwise pick ISTIO_MUTUAL.
  writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: shop }\nspec: { mtls: { mode: DISABLE } }\n');
  cp = await startControlPlane({ configPaths: [dir], args: ['--debounce-ms', '50'] });
  port = await freePort();
  adminPort = await freePort();
  server = spawn(process.execPath, ['--import', '@weft/http-adapter/register', SERVER], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WEFT_XDS_ADDRESS: cp.xdsAddress, WEFT_INSTANCE_IP: '127.0.0.1', WEFT_SERVICE: 'reviews', WEFT_NAMESPACE: 'shop', WEFT_LABELS: 'version=v1', WEFT_PORT: String(port), WEFT_ADMIN_PORT: String(adminPort), GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: '' },
  });
  let err = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  statsPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  const bootstrap = execFileSync(process.execPath, [WEFT_CLI, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'shop', '--workload-name', 'productpage-v1'], { encoding: 'utf8' });
  mesh = await Mesh.create({ xdsClientOptions: { bootstrap }, namespace: 'shop' });
  const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'productpage-v1', namespace: 'shop', labels: { app: 'productpage', version: 'v1' } }) });
  dispatcher = createMeshDispatcher({ mesh, telemetry, firstConfigTimeoutMs: 10_000 });
  // The registration becomes a HEALTHY endpoint once the control plane's readiness probe passed.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await get('/warm').catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`the registered server never answered through the mesh (last status ${status}): ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await dispatcher?.close();
  await mesh?.close();
  server?.kill('SIGKILL');
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('between Weft workloads the metadata exchange goes once per connection, and every request is still labelled with the caller', async () => {
  const before = await stats();
  for (let i = 0; i < 20; i++) assert.equal(await get('/one-by-one'), 200);
  for (let round = 0; round < 5; round++) assert.deepEqual(await Promise.all(Array.from({ length: 6 }, () => get('/six-at-once'))), Array(6).fill(200));
  // The server closes the connection after this response: the next request opens another one and introduces itself again.
  assert.equal(await get('/close'), 200);
  for (let i = 0; i < 5; i++) assert.equal(await get('/after-close'), 200);
  const after = await stats();
  const requests = after.requests - before.requests;
  const connections = after.connections - before.connections;
  assert.equal(requests, 56);
  assert.ok(connections >= 2 && connections <= 8, `connections opened: ${connections}`);
  // Once per connection: the connections opened during the run, plus at most the warm-up's still-open one that had introduced itself before.
  assert.equal(after.withPeerMetadata - before.withPeerMetadata, connections);
  assert.equal(after.withPeerMetadataId - before.withPeerMetadataId, connections);

  const text = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text();
  const series = parsePrometheus(text).filter((s) => s.name === 'istio_requests_total' && s.labels['reporter'] === 'destination');
  const fromProductpage = sampleValue(series, 'istio_requests_total', { source_workload: 'productpage-v1', source_app: 'productpage', destination_app: 'reviews', response_code: '200' });
  assert.deepEqual(series.filter((s) => s.labels['source_workload'] !== 'productpage-v1'), [], 'every request came from the meshed client, labelled as such');
  // Every request that reached the server through the mesh: this test's and the warm-up's one.
  assert.equal(fromProductpage, requests + 1);
});
