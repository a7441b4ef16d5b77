/**
 * Both register hooks in one process (`--import @weft/http-adapter/register --import
 * @weft/grpc-adapter/register`) share one workload: one ADS stream registers it, one admin
 * server serves its metrics, and a gRPC call to its plain grpc.Server on WEFT_PORT is recorded
 * once (by the gRPC interceptor, not again by the HTTP hook's HTTP/2 telemetry).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { parsePrometheus, sampleValue } from '../observability/prometheus-text.ts';
import { call, eventually, freePort, startMeshedEchoCaller, startPlainServer, type EchoClient, type MeshedEchoCaller, type PlainServerProcess } from './fixtures/zero-code-support.ts';

let dir: string;
let cp: ControlPlaneProcess;
let app: PlainServerProcess;
let port: number;
let adminPort: number;
let caller: MeshedEchoCaller | undefined;
let meshed: EchoClient;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-grpc-both-'));
  writeFileSync(join(dir, 'mesh.yaml'), '');
  cp = await startControlPlane({ configPaths: [join(dir, 'mesh.yaml')], args: ['--debounce-ms', '50'] });
  [port, adminPort] = [await freePort(), await freePort()];
  app = await startPlainServer(['@weft/http-adapter/register', '@weft/grpc-adapter/register'], {
    WEFT_XDS_ADDRESS: cp.xdsAddress,
    WEFT_SERVICE: 'both',
    WEFT_NAMESPACE: 'shop',
    WEFT_PORT: String(port),
    WEFT_ADMIN_PORT: String(adminPort),
  });
  caller = await startMeshedEchoCaller(cp.xdsAddress, `xds:///both.shop.svc.cluster.local:${port}`);
  meshed = caller.client;
});

after(async () => {
  await caller?.close();
  await app?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('one ADS stream for the workload, and each gRPC call recorded exactly once on the one admin server', async () => {
  await eventually('a meshed call', async () => ((await call(meshed, 'Hello')).code === 0 ? true : undefined), () => app.stderr());
  for (let i = 0; i < 4; i++) assert.equal((await call(meshed, 'Hello')).code, 0);
  const syncz = (await (await fetch(`${cp.adminUrl}/debug/syncz`)).json()) as { clients: { nodeId: string }[] };
  assert.equal(syncz.clients.filter((c) => /~both[-.]/.test(c.nodeId)).length, 1, JSON.stringify(syncz.clients.map((c) => c.nodeId)));
  const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
  const total = samples.filter((s) => s.name === 'istio_requests_total' && s.labels['reporter'] === 'destination').reduce((n, s) => n + s.value, 0);
  assert.equal(total, 5, 'five calls, five destination samples (no HTTP/2 double count)');
  assert.equal(sampleValue(samples, 'istio_requests_total', { reporter: 'destination', request_protocol: 'grpc', grpc_response_status: '0' }), 5);
});
