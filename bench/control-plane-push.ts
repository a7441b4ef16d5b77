/**
 * Control-plane push benchmark: how long from a config file change to the new RouteConfiguration
 * reaching every connected client, for 100 and 1,000 clients (p50/p99 over clients and rounds),
 * and the control plane's memory per connected client.
 *
 *   node_modules/.bin/node bench/control-plane-push.ts [--quick]
 *
 * The control plane runs as its own process (`weft control-plane`, config store debounce 100 ms
 * as in production); the clients are raw SotW ADS streams in this process, each on its own
 * channel (TCP connection), identifying as grpc-js-xds and subscribing LDS → RDS like it does.
 * "after debounce" subtracts the store's 100 ms debounce. Prints `RESULT name=value` lines.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeUrl, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { startControlPlane } from '../packages/control-plane/src/demo/control-plane-process.ts';
import { rawAdsClient, testNode } from '../packages/control-plane/src/xds/testing/raw-ads-client.ts';
import { fakeSource, makeModel, type FixtureInput } from '../packages/control-plane/src/xds/testing/model-fixture.ts';
import { createXdsServer } from '../packages/control-plane/src/xds/xds-server.ts';

const isQuick = process.argv.includes('--quick');
const DEBOUNCE_MS = 100;
const SERVICES = 50;
const ROUNDS = isQuick ? 3 : 10;
const SIZES = isQuick ? [100, 1000] : [100, 1000];

function mesh(weight: number): string {
  const docs: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc${i}, namespace: bench }
spec:
  hosts: [svc${i}.bench.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${20000 + i} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { grpc: ${30000 + i} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc${i}, namespace: bench }
spec:
  host: svc${i}
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc${i}, namespace: bench }
spec:
  hosts: [svc${i}]
  http:
    - route:
        - { destination: { host: svc${i}, subset: v1 }, weight: ${i === 0 ? 100 - weight : 90} }
        - { destination: { host: svc${i}, subset: v2 }, weight: ${i === 0 ? weight : 10} }`);
  }
  return `${docs.join('\n---\n')}\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function heapUsed(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

interface BenchClient {
  /** Resolves at the next RDS push (after `arm`). */
  arm(): Promise<number>;
  close(): void;
}

async function connect(address: string, id: number): Promise<BenchClient> {
  const c = rawAdsClient(address);
  const s = c.sotw<DiscoveryRequest, DiscoveryResponse>();
  const listener = 'svc0.bench.svc.cluster.local:50051';
  s.send({ node: testNode(`bench-${id}`, { NAMESPACE: 'bench' }, 'gRPC Node Pure JS'), type_url: TypeUrl.listener, resource_names: [listener] });
  const lds = await s.next(30_000);
  s.send({ type_url: TypeUrl.listener, resource_names: [listener], version_info: lds.version_info, response_nonce: lds.nonce });
  s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [listener] });
  const rds = await s.next(30_000);
  s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [listener], version_info: rds.version_info, response_nonce: rds.nonce });
  return {
    async arm() {
      for (;;) {
        const res = await s.next(30_000);
        s.send({ type_url: res.type_url, resource_names: [listener], version_info: res.version_info, response_nonce: res.nonce });
        if (res.type_url === TypeUrl.routeConfiguration) return performance.now();
      }
    },
    close() {
      s.close();
      c.close();
    },
  };
}

/** The same mesh as a MeshModel literal, for the in-process server-cost measurement. */
function meshModel(generation: number, w: number) {
  const input: FixtureInput = { generation, services: [], virtualServices: [], destinationRules: [] };
  for (let i = 0; i < SERVICES; i++) {
    const host = `svc${i}.bench.svc.cluster.local`;
    input.services.push({ hostname: host, ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', ports: { grpc: 20000 + i }, labels: { version: 'v1' } }, { address: '127.0.0.1', ports: { grpc: 30000 + i }, labels: { version: 'v2' } }] });
    input.destinationRules?.push({ name: `svc${i}`, namespace: 'bench', spec: { host: `svc${i}`, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } });
    input.virtualServices?.push({ name: `svc${i}`, namespace: 'bench', spec: { hosts: [`svc${i}`], http: [{ route: [{ destination: { host: `svc${i}`, subset: 'v1' }, weight: i === 0 ? 100 - w : 90 }, { destination: { host: `svc${i}`, subset: 'v2' }, weight: i === 0 ? w : 10 }] }] } });
  }
  return makeModel(input);
}

/**
 * Server cost alone: an in-process server, N streams, and the synchronous time of one push
 * round (snapshot build + encode once + write to every stream), without the config store.
 */
async function serverCost(size: number): Promise<void> {
  const source = fakeSource(meshModel(1, 10));
  const server = createXdsServer({ source, debounceMs: 1_000_000 });
  const port = await server.listen('127.0.0.1', 0);
  const clients: BenchClient[] = [];
  while (clients.length < size) clients.push(...(await Promise.all(Array.from({ length: Math.min(50, size - clients.length) }, (_, i) => connect(`127.0.0.1:${port}`, clients.length + i)))));
  const rounds: number[] = [];
  const firstTurn: number[] = [];
  const delivered: number[] = [];
  const deliveredMedian: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const arrivals = clients.map((c) => c.arm());
    source.set(meshModel(round + 2, round % 2 ? 10 : 40));
    const finished = new Promise<number>((resolve) => {
      const sub = server.onPushed(() => {
        sub[Symbol.dispose]();
        resolve(performance.now());
      });
    });
    const t0 = performance.now();
    server.pushNow();
    firstTurn.push(performance.now() - t0);
    rounds.push((await finished) - t0);
    const arrived = (await Promise.all(arrivals)).map((t) => t - t0).sort((a, b) => a - b);
    delivered.push(arrived[arrived.length - 1] as number);
    deliveredMedian.push(percentile(arrived, 50));
  }
  rounds.sort((a, b) => a - b);
  firstTurn.sort((a, b) => a - b);
  delivered.sort((a, b) => a - b);
  deliveredMedian.sort((a, b) => a - b);
  process.stdout.write(`# in-process server, ${size} streams: push round = snapshot build + writes to every stream; first turn = until pushNow returns (ms)\n`);
  process.stdout.write(`RESULT control_plane_server_push_round_p50_ms_${size}_clients=${percentile(rounds, 50).toFixed(1)}\n`);
  process.stdout.write(`RESULT control_plane_server_push_round_max_ms_${size}_clients=${rounds[rounds.length - 1]?.toFixed(1)}\n`);
  process.stdout.write(`RESULT control_plane_server_first_turn_p50_ms_${size}_clients=${percentile(firstTurn, 50).toFixed(1)}\n`);
  process.stdout.write(`RESULT control_plane_server_delivered_median_stream_p50_ms_${size}_clients=${percentile(deliveredMedian, 50).toFixed(1)}\n`);
  process.stdout.write(`RESULT control_plane_server_delivered_all_p50_ms_${size}_clients=${percentile(delivered, 50).toFixed(1)}\n`);
  for (const c of clients) c.close();
  await server.close(500);
}

for (const size of SIZES) await serverCost(size);

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-cp-'));
const file = join(dir, 'mesh.yaml');
let weight = 10;
writeFileSync(file, mesh(weight));
const profileDir = process.env.WEFT_BENCH_CPU_PROF_DIR;
const cp = await startControlPlane({
  configPaths: [dir], args: ['--debounce-ms', String(DEBOUNCE_MS)], timeoutMs: 60_000,
  ...(profileDir ? { env: { ...process.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } } : {}),
});
const pid = cp.child.pid as number;
let publishedAt = 0;
cp.child.stderr?.on('data', (d: Buffer | string) => {
  if (String(d).includes('published')) publishedAt = performance.now();
});
try {
  await new Promise((r) => setTimeout(r, 500));
  const baseRss = rssBytes(pid);
  const baseHeap = await heapUsed(cp.adminUrl);
  let clients: BenchClient[] = [];
  for (const size of SIZES) {
    while (clients.length < size) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, size - clients.length) }, (_, i) => connect(cp.xdsAddress, clients.length + i)));
      clients.push(...batch);
    }
    await new Promise((r) => setTimeout(r, 300));
    const rss = rssBytes(pid);
    const heap = await heapUsed(cp.adminUrl);
    const samples: number[] = [];
    const lastClient: number[] = [];
    const publish: number[] = [];
    const fromPublish: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      weight = weight === 10 ? 40 : 10;
      const arrivals = clients.map((c) => c.arm());
      const written = performance.now();
      writeFileSync(file, mesh(weight));
      const arrived = await Promise.all(arrivals);
      const times = arrived.map((t) => t - written);
      publish.push(publishedAt - written);
      fromPublish.push(...arrived.map((t) => t - publishedAt));
      samples.push(...times);
      lastClient.push(Math.max(...times));
      await new Promise((r) => setTimeout(r, 300));
    }
    samples.sort((a, b) => a - b);
    publish.sort((a, b) => a - b);
    fromPublish.sort((a, b) => a - b);
    lastClient.sort((a, b) => a - b);
    const line = (name: string, v: number, unit = 'ms') => process.stdout.write(`RESULT control_plane_push_${name}_${size}_clients=${v.toFixed(1)}${unit === 'ms' ? '' : ''}\n`);
    process.stdout.write(`# ${size} clients, ${ROUNDS} rounds, ${SERVICES} services; times from file write to RDS arrival (ms)\n`);
    line('p50_ms', percentile(samples, 50));
    line('p99_ms', percentile(samples, 99));
    line('p99_after_debounce_ms', percentile(samples, 99) - DEBOUNCE_MS);
    line('all_clients_p50_ms', percentile(lastClient, 50));
    line('config_store_publish_p50_ms', percentile(publish, 50));
    line('from_publish_p50_ms', percentile(fromPublish, 50));
    line('from_publish_p99_ms', percentile(fromPublish, 99));
    const metricsText = await (await fetch(`${cp.adminUrl}/metrics`)).text();
    const sum = Number(/^pilot_proxy_convergence_time_sum (\S+)/m.exec(metricsText)?.[1]);
    const count = Number(/^pilot_proxy_convergence_time_count (\S+)/m.exec(metricsText)?.[1]);
    process.stdout.write(`RESULT control_plane_server_push_mean_ms_${size}_clients=${((sum / count) * 1000).toFixed(1)}\n`);
    process.stdout.write(`RESULT control_plane_rss_per_client_${size}_bytes=${Math.round((rss - baseRss) / size)}\n`);
    process.stdout.write(`RESULT control_plane_heap_per_client_${size}_bytes=${Math.round((heap - baseHeap) / size)}\n`);
  }
  for (const c of clients) c.close();
  clients = [];
} finally {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
}
