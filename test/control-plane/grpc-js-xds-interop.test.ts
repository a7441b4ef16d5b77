/**
 * Interop: the real @grpc/grpc-js-xds client, bootstrapped by `weft bootstrap`, against a
 * `weft control-plane` process and real grpc-js servers on loopback. Method routing, a 70/30
 * subset split over 1,000 calls, a config edit shifting the split while traffic flows, and a
 * subset removed without a failed call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { echoService, startEchoBackend } from './echo-backend.ts';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));
const TARGET = 'xds:///echo.test.svc.cluster.local:50051';

let dir: string;
let cp: ControlPlaneProcess;
let backends: { port: number; stop(): Promise<void> }[] = [];
type Grpc = typeof import('@grpc/grpc-js');
let grpc: Grpc;
let client: InstanceType<Grpc['Client']>;

function config(weights: { v1: number; v2?: number }, hasV2Subset = true): string {
  const subsets = [`    - { name: v1, labels: { version: v1 } }`, ...(hasV2Subset ? [`    - { name: v2, labels: { version: v2 } }`] : [])].join('\n');
  const split = [`        - { destination: { host: echo, subset: v1 }, weight: ${weights.v1} }`, ...(weights.v2 !== undefined ? [`        - { destination: { host: echo, subset: v2 }, weight: ${weights.v2} }`] : [])].join('\n');
  const special = hasV2Subset ? 'v2' : 'v1';
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: test }
spec:
  hosts: [echo.test.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${backends[0]?.port} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { grpc: ${backends[1]?.port} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: test }
spec:
  host: echo
  subsets:
${subsets}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: test }
spec:
  hosts: [echo]
  http:
    - match: [{ uri: { prefix: /test.Echo/Special } }]
      route: [{ destination: { host: echo, subset: ${special} } }]
    - route:
${split}
`;
}

function writeConfig(text: string): void {
  writeFileSync(join(dir, 'mesh.yaml'), text);
}

function call(method: 'Who' | 'Special'): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/test.Echo/${method}`, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(String(res))));
  });
}

async function share(n: number, method: 'Who' | 'Special' = 'Who', concurrency = 10): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let left = n;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) {
      const who = await call(method);
      counts[who] = (counts[who] ?? 0) + 1;
    }
  }));
  return counts;
}

before(async () => {
  backends = [await startEchoBackend('v1'), await startEchoBackend('v2')];
  dir = mkdtempSync(join(tmpdir(), 'weft-interop-'));
  writeConfig(config({ v1: 70, v2: 30 }));
  cp = await startControlPlane({ configPaths: [dir], args: ['--debounce-ms', '50'] });
  const bootstrap = execFileSync(process.execPath, [WEFT, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'test', '--workload-name', 'interop-client'], { encoding: 'utf8' });
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = bootstrap;
  grpc = await import('@grpc/grpc-js');
  (await import('@grpc/grpc-js-xds')).register();
  client = new grpc.Client(TARGET, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  await cp?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('method routing: /test.Echo/Special always goes to v2', async () => {
  const counts = await share(100, 'Special');
  assert.deepEqual(counts, { v2: 100 });
});

test('a 70/30 subset split over 1,000 calls (±5 points, > 3 sigma)', async () => {
  const counts = await share(1000);
  const v2 = (counts.v2 ?? 0) / 1000;
  assert.ok(Math.abs(v2 - 0.3) <= 0.05, `v2 share ${v2}`);
});

test('editing the config while traffic flows shifts the split', async (t) => {
  const written = performance.now();
  writeConfig(config({ v1: 30, v2: 70 }));
  let shiftedAfterMs: number | undefined;
  for (let i = 0; i < 200 && shiftedAfterMs === undefined; i++) {
    const counts = await share(50);
    // 50 calls at 30% v2 reach 60% v2 with probability < 1e-5; at 70% they do most of the time.
    if ((counts.v2 ?? 0) >= 30) shiftedAfterMs = performance.now() - written;
  }
  assert.ok(shiftedAfterMs !== undefined, 'the split never shifted');
  t.diagnostic(`split shifted ${Math.round(shiftedAfterMs)} ms after the file was written`);
  const counts = await share(1000);
  const v2 = (counts.v2 ?? 0) / 1000;
  assert.ok(Math.abs(v2 - 0.7) <= 0.05, `v2 share after the edit ${v2}`);
});

test('a subset removed drains without failed calls', async () => {
  let failures = 0;
  let calls = 0;
  let isRunning = true;
  const seen: string[] = [];
  const traffic = Promise.all(Array.from({ length: 8 }, async () => {
    while (isRunning) {
      try {
        seen.push(await call('Who'));
      } catch {
        failures++;
      }
      calls++;
    }
  }));
  await new Promise((r) => setTimeout(r, 200));
  writeConfig(config({ v1: 100 }, false));
  const deadline = Date.now() + 10_000;
  // wait for 200 consecutive v1 answers, then keep the traffic on for a little longer
  while (Date.now() < deadline && !(seen.length > 200 && seen.slice(-200).every((s) => s === 'v1'))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1500));
  isRunning = false;
  await traffic;
  const syncz = await (await fetch(`${cp.adminUrl}/debug/syncz`)).text();
  assert.equal(failures, 0, `${failures} of ${calls} calls failed`);
  assert.ok(seen.slice(-200).every((s) => s === 'v1'), `traffic moved to v1; control plane: ${cp.stderr.join('\n')}\n${syncz}`);
  const counts = await share(200);
  assert.deepEqual(counts, { v1: 200 });
});

test('weft status, /debug/syncz, /debug/config_dump and /metrics show the grpc-js-xds client', async () => {
  const table = execFileSync(process.execPath, [WEFT, 'status', '--admin', cp.adminUrl], { encoding: 'utf8' });
  const row = table.split('\n').find((l) => l.includes('interop-client'));
  assert.ok(row, table);
  assert.match(row, /grpc-js-xds\s+sotw\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
  const node = 'sidecar~127.0.0.1~interop-client.test~test.svc.cluster.local';
  const dump = (await (await fetch(`${cp.adminUrl}/debug/config_dump?node=${encodeURIComponent(node)}`)).json()) as { config: Record<string, { resources: { name?: string }[] }> };
  assert.deepEqual(dump.config.lds?.resources.map((r) => r.name), ['echo.test.svc.cluster.local:50051']);
  assert.equal((await fetch(`${cp.adminUrl}/debug/config_dump?node=nobody`)).status, 404);
  const metrics = await (await fetch(`${cp.adminUrl}/metrics`)).text();
  assert.match(metrics, /pilot_xds\{kind="grpc-js-xds",protocol="sotw"\} 1/);
  assert.match(metrics, /pilot_xds_pushes\{type="rds"\} [1-9]/);
  assert.equal((await fetch(`${cp.adminUrl}/readyz`)).status, 200);
});
