/**
 * HTTP adapter overhead, side by side in one run: requests/s of undici through the mesh
 * dispatcher (a 90/10 weighted split and a retry policy configured, not triggered) over the
 * same upstream reached with a plain undici Agent. The upstream runs in a child process, so
 * `process.cpuUsage()` here counts only the client side. Short raw/meshed rounds alternate in
 * pairs so load drift hits both alike; the RATIO is the median of the per-pair rps ratios.
 * The client CPU per request of each side is printed too (insensitive to other load on the
 * machine). Then a sequential phase measures the added p50/p99 latency per request in µs.
 *
 *   node_modules/.bin/node bench/http-ratio.ts [--quick]
 *
 * Prints `RESULT http_raw_rps=…`, `RESULT http_meshed_rps=…`, `RESULT http_added_p50_us=…`,
 * `RESULT http_added_p99_us=…` and `RATIO http_meshed_vs_raw_undici=<x>` (goal ≥ 0.90).
 */
import { startBenchUpstream } from './support/http-upstream.ts';
import { loadRound, median, oneRequest } from './support/http-load.ts';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { createMeshDispatcher } from '../packages/http-adapter/src/index.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from '../packages/http-adapter/test/support.ts';
import { retryPolicy } from '../packages/http-adapter/test/harness.ts';

const isQuick = process.argv.includes('--quick');
const PAIRS = isQuick ? 16 : 40;
const ROUND_MS = isQuick ? 400 : 1000;
const CONCURRENCY = 32;
const LATENCY_SAMPLES = isQuick ? 2000 : 10_000;

const upstream = await startBenchUpstream();
const port = upstream.port;

const xds = new FakeXds();
const listener = 'reviews.default.svc.cluster.local:9080';
const action = routeAction(
  [
    ['reviews-v1', 90],
    ['reviews-v2', 10],
  ],
  { retryPolicy: retryPolicy(['5xx', 'reset', 'connect-failure'], 2), timeoutMs: 15_000 },
);
xds.set(
  xdsConfigOf(listener, routeConfig('rc', [virtualHost('vh', ['reviews:9080', 'reviews'], [route('r', routeMatch({ type: 'prefix', prefix: '/' }), action)])]), [
    [edsCluster('reviews-v1'), loadAssignment('reviews-v1', [{ endpoints: [`127.0.0.1:${port}`] }])],
    [edsCluster('reviews-v2'), loadAssignment('reviews-v2', [{ endpoints: [`127.0.0.1:${port}`] }])],
  ]),
);
const mesh = await createTestMesh(xds);
const meshed = createMeshDispatcher({ mesh });
const raw = new Agent({ connections: CONCURRENCY });

const RAW_URL = `http://127.0.0.1:${port}/ratings`;
const MESH_URL = 'http://reviews:9080/ratings';

let lastCpuUs = 0;
async function round(url: string, dispatcher: Dispatcher, ms: number): Promise<number> {
  const r = await loadRound(url, dispatcher, ms, CONCURRENCY);
  lastCpuUs = r.cpuUs;
  return r.rps;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

// Warm-up: connections, JIT, first config.
await round(RAW_URL, raw, 500);
await round(MESH_URL, meshed, 500);

const ratios: number[] = [];
const rawRps: number[] = [];
const meshRps: number[] = [];
const rawCpu: number[] = [];
const meshCpu: number[] = [];
for (let i = 0; i < PAIRS; i++) {
  const order = i % 2 === 0 ? (['raw', 'mesh'] as const) : (['mesh', 'raw'] as const);
  for (const side of order) {
    if (side === 'raw') {
      rawRps.push(await round(RAW_URL, raw, ROUND_MS));
      rawCpu.push(lastCpuUs);
    } else {
      meshRps.push(await round(MESH_URL, meshed, ROUND_MS));
      meshCpu.push(lastCpuUs);
    }
  }
  ratios.push(meshRps.at(-1)! / rawRps.at(-1)!);
}
console.log(`pairs: ${ratios.map((r) => r.toFixed(2)).join(' ')}`);

const rawLat: number[] = [];
const meshLat: number[] = [];
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  for (const [url, d, out] of i % 2 === 0 ? ([[RAW_URL, raw, rawLat], [MESH_URL, meshed, meshLat]] as const) : ([[MESH_URL, meshed, meshLat], [RAW_URL, raw, rawLat]] as const)) {
    const t0 = process.hrtime.bigint();
    await oneRequest(url, d);
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}

const rawMedian = median(rawRps);
const meshMedian = median(meshRps);
const rawCpuMedian = median(rawCpu);
const meshCpuMedian = median(meshCpu);
const p50 = quantile(meshLat, 0.5) - quantile(rawLat, 0.5);
const p99 = quantile(meshLat, 0.99) - quantile(rawLat, 0.99);
console.log(`latency raw p50 ${quantile(rawLat, 0.5).toFixed(0)} µs p99 ${quantile(rawLat, 0.99).toFixed(0)} µs; meshed p50 ${quantile(meshLat, 0.5).toFixed(0)} µs p99 ${quantile(meshLat, 0.99).toFixed(0)} µs`);
console.log(`RESULT http_raw_rps=${rawMedian.toFixed(0)}`);
console.log(`RESULT http_meshed_rps=${meshMedian.toFixed(0)}`);
console.log(`RESULT http_client_cpu_us_per_request_raw=${rawCpuMedian.toFixed(1)}`);
console.log(`RESULT http_client_cpu_us_per_request_meshed=${meshCpuMedian.toFixed(1)}`);
console.log(`RESULT http_added_p50_us=${p50.toFixed(0)}`);
console.log(`RESULT http_added_p99_us=${p99.toFixed(0)}`);
console.log(`RATIO http_meshed_vs_raw_undici=${median(ratios).toFixed(3)}`);
console.log(`RATIO http_cpu_raw_vs_meshed=${(rawCpuMedian / meshCpuMedian).toFixed(3)}`);

await meshed.close();
await raw.close();
await mesh.close();
upstream.child.stdin!.end();
