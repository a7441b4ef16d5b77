/**
 * Side by side against one `weft control-plane` process: a Weft gRPC client (`weft:///`, via
 * @weft/xds-client) and a real @grpc/grpc-js-xds client (`xds:///`), both bootstrapped with the
 * same `weft bootstrap` output, calling the same grpc-js servers on loopback, must see the same
 * routing: a method route to subset v2 and a 70/30 subset split.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createXdsClient } from '@weft/xds-client';
import type { XdsClient } from '@weft/xds-client';
import { registerWeftGrpc, weftChannelOptions } from '@weft/grpc-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { createEchoClient, startBackend, unary } from '../../packages/grpc-adapter/test/support/echo-service.ts';
import type { Backend, EchoClientApi } from '../../packages/grpc-adapter/test/support/echo-service.ts';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));
const HOST = 'echo.grpc.svc.cluster.local:50051';

let dir: string;
let cp: ControlPlaneProcess;
let v1: Backend;
let v2: Backend;
let xdsClient: XdsClient;
let clients: Record<'weft' | 'grpc_js_xds', EchoClientApi>;

function meshYaml(): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: grpc }
spec:
  hosts: [echo.grpc.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${v1.port} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { grpc: ${v2.port} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: grpc }
spec:
  host: echo
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: grpc }
spec:
  hosts: [echo]
  http:
    - match: [{ uri: { prefix: /weft.test.Echo/Other } }]
      route: [{ destination: { host: echo, subset: v2 } }]
    - route:
        - { destination: { host: echo, subset: v1 }, weight: 70 }
        - { destination: { host: echo, subset: v2 }, weight: 30 }
`;
}

async function share(client: EchoClientApi, n: number, method: 'Unary' | 'Other'): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let left = n;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (left-- > 0) {
        const who = (await unary(client, { text: 'x' }, { method, deadlineMs: 5000 })).server ?? '?';
        counts[who] = (counts[who] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

before(async () => {
  v1 = await startBackend('v1');
  v2 = await startBackend('v2');
  dir = mkdtempSync(join(tmpdir(), 'weft-grpc-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml());
  cp = await startControlPlane({ configPaths: [dir], args: ['--debounce-ms', '50'] });
  const bootstrap = execFileSync(process.execPath, [WEFT, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'grpc', '--workload-name', 'side-by-side'], { encoding: 'utf8' });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = bootstrap;
  (await import('@grpc/grpc-js-xds')).register();
  registerWeftGrpc({ isXdsSchemeClaimed: false });
  xdsClient = createXdsClient({ bootstrap });
  clients = {
    weft: createEchoClient(`weft:///${HOST}`, weftChannelOptions({ source: xdsClient })),
    grpc_js_xds: createEchoClient(`xds:///${HOST}`),
  };
});

after(async () => {
  for (const c of Object.values(clients ?? {})) c.close();
  xdsClient?.close();
  await cp?.stop();
  await v1?.close();
  await v2?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('both clients route /weft.test.Echo/Other to v2', async (t) => {
  for (const [name, client] of Object.entries(clients)) {
    const t0 = performance.now();
    assert.deepEqual(await share(client, 100, 'Other'), { v2: 100 }, name);
    t.diagnostic(`${name}: first 100 calls (including resolution) took ${Math.round(performance.now() - t0)} ms`);
  }
});

test('both clients split 70/30 over 1,000 calls (±5 points, > 3 sigma)', async () => {
  for (const [name, client] of Object.entries(clients)) {
    const counts = await share(client, 1000, 'Unary');
    const toV2 = (counts['v2'] ?? 0) / 1000;
    assert.ok(Math.abs(toV2 - 0.3) <= 0.05, `${name}: v2 share ${toV2}`);
  }
});

test('the grpc-js-xds client is unaffected by Weft being registered for weft:', () => {
  assert.equal(grpc.experimental.isLoadBalancerNameRegistered('xds_cluster_impl'), true);
  assert.equal(grpc.experimental.isLoadBalancerNameRegistered('weft_cluster_manager'), true);
});

test('zero-code: plain grpc-js code under --import @weft/grpc-adapter/register follows the same routing, short names included', async () => {
  const app = fileURLToPath(new URL('../../packages/grpc-adapter/test/support/register-app.ts', import.meta.url));
  const run = (target: string, method: string) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', '@weft/grpc-adapter/register', app],
        { env: { ...process.env, WEFT_TEST_TARGET: target, WEFT_TEST_METHOD: method, WEFT_TEST_CALLS: '20' }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${String(err)}\n${stderr}`)) : resolve(stdout.trim())),
      ),
    );
  assert.equal(await run(`xds:///${HOST}`, 'Other'), `servers=${new Array(20).fill('v2').join(',')}`);
  // The bootstrap's namespace is `grpc`: `echo:50051` is `echo.grpc.svc.cluster.local:50051`.
  assert.equal(await run('xds:///echo:50051', 'Other'), `servers=${new Array(20).fill('v2').join(',')}`);
});
