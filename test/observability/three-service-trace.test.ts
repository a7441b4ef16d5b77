/**
 * One trace across three meshed services (A → B → C over HTTP, each a separate process with
 * the OpenTelemetry SDK started from `OTEL_*` variables), captured by an in-process OTLP/HTTP
 * (JSON) receiver: one trace id, and every span's parent is the span that caused it. Each
 * process starts its telemetry the way the register hook does (`startWorkloadTelemetry`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { parsePrometheus, sampleValue } from './prometheus-text.ts';
import { freePort } from '../../packages/control-plane/src/demo/free-port.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/traced-service.ts', import.meta.url));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  serviceName: string;
  attributes: Record<string, unknown>;
}

let dir: string;
let cp: ControlPlaneProcess;
let receiver: Server;
let otlpUrl: string;
const spans: OtlpSpan[] = [];
const children: ChildProcess[] = [];

function collect(body: string): void {
  const data = JSON.parse(body) as { resourceSpans?: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  for (const rs of data.resourceSpans ?? []) {
    const serviceName = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attributes: Record<string, unknown> = {};
        for (const a of (s['attributes'] as { key: string; value: Record<string, unknown> }[]) ?? []) attributes[a.key] = Object.values(a.value)[0];
        spans.push({ traceId: String(s['traceId']), spanId: String(s['spanId']), parentSpanId: (s['parentSpanId'] as string) || undefined, name: String(s['name']), kind: Number(s['kind']), serviceName, attributes });
      }
    }
  }
}


function serviceEntry(name: string, port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: shop }
spec:
  hosts: [${name}.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} }, labels: { app: ${name}, version: v1 } }]
`;
}

const ports: Record<string, number> = {};

function startService(service: string, nextUrl: string | undefined): Promise<{ port: number; adminPort: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [FIXTURE], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WEFT_XDS_ADDRESS: cp.xdsAddress,
      WEFT_SERVICE: service,
      WEFT_NAMESPACE: 'shop',
      WEFT_LABELS: 'version=v1',
      LISTEN_PORT: String(ports[service]),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: service,
      WEFT_TRACE_SAMPLING: '100',
      WEFT_ADMIN_PORT: '0',
      ...(nextUrl === undefined ? {} : { NEXT_URL: nextUrl }),
    },
  });
  children.push(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service} did not start: ${err}`)), 30_000);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ready (\d+) (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), adminPort: Number(m[2]), child });
      }
    });
    child.once('exit', (code) => reject(new Error(`${service} exited with ${code}: ${err}`)));
  });
}

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces') collect(body);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  otlpUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'weft-trace-'));
  for (const svc of ['svc-a', 'svc-b', 'svc-c']) ports[svc] = await freePort();
  writeFileSync(join(dir, 'mesh.yaml'), Object.entries(ports).map(([svc, port]) => serviceEntry(svc, port)).join('---\n'));
  cp = await startControlPlane({ configPaths: [join(dir, 'mesh.yaml')], args: ['--debounce-ms', '50'] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cp?.stop();
  receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

test('A → B → C: one trace id, parent/child spans across processes, exported over OTLP/HTTP', async () => {
  const [a, b, c] = await Promise.all([startService('svc-a', 'http://svc-b/b'), startService('svc-b', 'http://svc-c/c'), startService('svc-c', undefined)]);
  const res = await fetch(`http://127.0.0.1:${a.port}/a`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await res.text(), 'svc-a>svc-b>svc-c');
  // B's admin server: both sides of B in Istio's metrics, labelled from metadata exchange and EDS.
  const metrics = parsePrometheus(await (await fetch(`http://127.0.0.1:${b.adminPort}/stats/prometheus`)).text());
  assert.equal(sampleValue(metrics, 'istio_requests_total', { reporter: 'destination', source_workload: 'svc-a', destination_workload: 'svc-b', response_code: '200' }), 1);
  assert.equal(sampleValue(metrics, 'istio_requests_total', { reporter: 'source', source_workload: 'svc-b', destination_app: 'svc-c', destination_service: 'svc-c.shop.svc.cluster.local', response_code: '200' }), 1);
  // SIGTERM makes each SDK flush its pending spans before exiting.
  await stop(a.child);
  await stop(b.child);
  await stop(c.child);

  const byService = (svc: string, kind: number): OtlpSpan => {
    const found = spans.filter((s) => s.serviceName === svc && s.kind === kind);
    assert.equal(found.length, 1, `${svc} kind ${kind}: ${JSON.stringify(spans.map((s) => [s.serviceName, s.kind, s.name]))}`);
    return found[0]!;
  };
  const SERVER = 2;
  const CLIENT = 3;
  const aServer = byService('svc-a', SERVER);
  const aClient = byService('svc-a', CLIENT);
  const bServer = byService('svc-b', SERVER);
  const bClient = byService('svc-b', CLIENT);
  const cServer = byService('svc-c', SERVER);
  const traceIds = new Set([aServer, aClient, bServer, bClient, cServer].map((s) => s.traceId));
  assert.equal(traceIds.size, 1, 'one trace id');
  assert.equal(aServer.parentSpanId, undefined, 'A starts the trace');
  assert.equal(aClient.parentSpanId, aServer.spanId);
  assert.equal(bServer.parentSpanId, aClient.spanId);
  assert.equal(bClient.parentSpanId, bServer.spanId);
  assert.equal(cServer.parentSpanId, bClient.spanId);
  assert.equal(aClient.attributes['http.request.method'], 'GET');
  assert.equal(aClient.attributes['http.response.status_code'], 200);
  assert.equal(cServer.attributes['url.path'], '/c');
});
