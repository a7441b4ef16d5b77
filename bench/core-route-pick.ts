/**
 * Benchmark of @weft/core's per-request path and its EDS compile step.
 *
 *   node_modules/.bin/node bench/core-route-pick.ts [--quick]
 *
 * (1) route + pick: a Mesh holding one listener whose route table has 100 routes (prefix, path,
 *     header and regex matches mixed) over clusters with 100 endpoints in total; each sample is
 *     one `mesh.route(authority, request)` (resolve → route match → weighted choice → pick), with
 *     requests spread over all routes. Timed one call at a time with `process.hrtime.bigint()`
 *     (its own cost, measured separately, is subtracted) → median and p99 in µs. Also per policy.
 * (2) compiling a ClusterLoadAssignment of 10,000 endpoints (3 localities × 2 priorities) into a
 *     load balancer, per policy, median of several runs in ms.
 *
 * Prints human-readable lines and `RESULT name=value` lines. Bounded: --quick runs in a few
 * seconds, the full run in well under a minute.
 */
import { Mesh } from '../packages/core/src/mesh/mesh.ts';
import type { XdsConfigSource } from '../packages/core/src/mesh/mesh.ts';
import { compileCluster } from '../packages/core/src/cluster/compiled-cluster.ts';
import { EndpointStateStore } from '../packages/core/src/lb/endpoint-state-store.ts';
import { loadHasher } from '../packages/core/src/lb/hasher.ts';
import { edsCluster, headerMatcher, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfig } from '../packages/core/src/internal/xds-fixtures.ts';
import type { LbPolicy, Route, XdsConfig, XdsConfigWatcher } from '@weft/xds-client';

const isQuick = process.argv.includes('--quick');
const SAMPLES = isQuick ? 100_000 : 400_000;
/** Rounds per policy; the round with the lowest median is reported (other processes on a shared machine only ever add time). */
const ROUNDS = isQuick ? 1 : 3;
const COMPILE_RUNS = isQuick ? 5 : 15;
const LISTENER = 'bench.default.svc.cluster.local:8080';

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function buildConfig(policy: LbPolicy): XdsConfig {
  const routes: Route[] = [];
  for (let i = 0; i < 100; i++) {
    const target = i % 10 === 0 ? routeAction([[`c${i % 10}`, 90], [`c${(i + 1) % 10}`, 10]]) : routeAction(`c${i % 10}`, {
      hashPolicies: [{ type: 'header', headerName: 'x-user', terminal: false }],
    });
    const kind = i % 4;
    const m =
      kind === 0
        ? routeMatch({ type: 'prefix', prefix: `/svc${i}/` })
        : kind === 1
          ? routeMatch({ type: 'path', path: `/svc${i}/item` })
          : kind === 2
            ? routeMatch({ type: 'prefix', prefix: `/svc${i}/` }, { headers: [headerMatcher('x-version', { type: 'exact', value: 'v2', ignoreCase: false })] })
            : routeMatch({ type: 'safeRegex', regex: `/svc${i}/[a-z]+/[0-9]+` });
    routes.push(route(`r${i}`, m, target));
  }
  const rc = routeConfig('bench', [virtualHost('bench', ['bench', 'bench:8080', 'bench.default.svc.cluster.local:8080'], routes)]);
  const clusters = Array.from({ length: 10 }, (_, c) => {
    const eps = Array.from({ length: 10 }, (_, e) => `10.${c}.0.${e + 1}:8080`);
    return [edsCluster(`c${c}`, policy), loadAssignment(`c${c}`, [{ zone: 'a', endpoints: eps.slice(0, 5) }, { zone: 'b', endpoints: eps.slice(5) }])] as const;
  });
  return xdsConfig(LISTENER, rc, clusters);
}

function requestFor(i: number) {
  const kind = i % 4;
  const path = kind === 0 ? `/svc${i}/x` : kind === 1 ? `/svc${i}/item` : kind === 2 ? `/svc${i}/y` : `/svc${i}/abc/123`;
  return { method: 'GET', path, headers: { 'x-version': 'v2', 'x-user': `user-${i}`, accept: '*/*' } };
}

async function benchRoutePick(label: string, policy: LbPolicy): Promise<{ median: number; p99: number; mean: number }> {
  let best: { median: number; p99: number; mean: number } | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const result = await routePickRound(label, policy);
    if (best === undefined || result.median < best.median) best = result;
  }
  return best!;
}

async function routePickRound(label: string, policy: LbPolicy): Promise<{ median: number; p99: number; mean: number }> {
  let watcher: XdsConfigWatcher | undefined;
  const source: XdsConfigSource = { watchXdsConfig: (_n, w) => ((watcher = w), { cancel() {} }) };
  const mesh = await Mesh.create({ xdsClient: source });
  mesh.resolve('bench:8080');
  watcher!.onUpdate(buildConfig(policy));
  const requests = Array.from({ length: 100 }, (_, i) => requestFor(i));
  for (let i = 0; i < 50_000; i++) mesh.route('bench:8080', requests[i % 100]!); // warm up
  // Cost of the timer itself.
  const overhead = new Float64Array(20_000);
  for (let i = 0; i < overhead.length; i++) {
    const a = process.hrtime.bigint();
    const b = process.hrtime.bigint();
    overhead[i] = Number(b - a);
  }
  overhead.sort();
  const timerNs = quantile(overhead, 0.5);
  const samples = new Float64Array(SAMPLES);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SAMPLES; i++) {
    const req = requests[(i * 37) % 100]!;
    const a = process.hrtime.bigint();
    const r = mesh.route('bench:8080', req);
    const b = process.hrtime.bigint();
    sink += r.endpoint.port;
    samples[i] = Math.max(0, Number(b - a) - timerNs);
  }
  const totalNs = Number(process.hrtime.bigint() - t0);
  samples.sort();
  await mesh.close();
  if (sink === 0) throw new Error('unreachable');
  const result = { median: quantile(samples, 0.5) / 1000, p99: quantile(samples, 0.99) / 1000, mean: totalNs / SAMPLES / 1000 };
  console.log(`route+pick ${label.padEnd(13)} median ${result.median.toFixed(2)} µs  p99 ${result.p99.toFixed(2)} µs  (loop mean incl. timer ${result.mean.toFixed(2)} µs, timer ${timerNs} ns subtracted, ${SAMPLES} samples)`);
  return result;
}

async function benchCompile(label: string, policy: LbPolicy): Promise<{ median: number; min: number }> {
  const hasher = await loadHasher();
  const localities = [];
  for (let p = 0; p < 2; p++) {
    for (const zone of ['a', 'b', 'c']) {
      const n = p === 0 ? 2000 : 1334;
      localities.push({ zone, priority: p, weight: 10, endpoints: Array.from({ length: n }, (_, i) => ({ addr: `10.${p * 3 + zone.charCodeAt(0) - 97}.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 3) })) });
    }
  }
  const cla = loadAssignment('big', localities);
  const total = cla.localities.reduce((s, l) => s + l.endpoints.length, 0);
  const cluster = edsCluster('big', policy);
  const states = new EndpointStateStore();
  const times: number[] = [];
  for (let r = 0; r < COMPILE_RUNS; r++) {
    const t = performance.now();
    const compiled = compileCluster({ cluster, endpoints: cla }, { hasher, states });
    times.push(performance.now() - t);
    if (compiled.balancer?.pick() === undefined) throw new Error('empty balancer');
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`compile EDS ${total} endpoints ${label.padEnd(13)} median ${median.toFixed(1)} ms  (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)}, ${COMPILE_RUNS} runs)`);
  return { median, min: times[0]! };
}

const started = performance.now();
console.log(`core-route-pick${isQuick ? ' (quick)' : ''}: Node ${process.version}`);
const rr = await benchRoutePick('ROUND_ROBIN', { type: 'roundRobin' });
const lr = await benchRoutePick('LEAST_REQUEST', { type: 'leastRequest', choiceCount: 2 });
const ring = await benchRoutePick('RING_HASH', { type: 'ringHash', minRingSize: 1024, maxRingSize: 8_388_608, hashFunction: 'XX_HASH' });
const maglev = await benchRoutePick('MAGLEV', { type: 'maglev', tableSize: 65537 });
const cRr = await benchCompile('ROUND_ROBIN', { type: 'roundRobin' });
const cRing = await benchCompile('RING_HASH', { type: 'ringHash', minRingSize: 1024, maxRingSize: 8_388_608, hashFunction: 'XX_HASH' });
const cMaglev = await benchCompile('MAGLEV', { type: 'maglev', tableSize: 65537 });
console.log(`RESULT core_route_pick_median_us=${rr.median.toFixed(3)}`);
console.log(`RESULT core_route_pick_p99_us=${rr.p99.toFixed(3)}`);
console.log(`RESULT core_route_pick_least_request_median_us=${lr.median.toFixed(3)}`);
console.log(`RESULT core_route_pick_ring_hash_median_us=${ring.median.toFixed(3)}`);
console.log(`RESULT core_route_pick_maglev_median_us=${maglev.median.toFixed(3)}`);
console.log(`RESULT core_eds_compile_10k_ms=${cRr.median.toFixed(2)}`);
console.log(`RESULT core_eds_compile_10k_min_ms=${cRr.min.toFixed(2)}`);
console.log(`RESULT core_eds_compile_10k_ring_hash_ms=${cRing.median.toFixed(2)}`);
console.log(`RESULT core_eds_compile_10k_maglev_ms=${cMaglev.median.toFixed(2)}`);
console.log(`load average at end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')} on ${(await import('node:os')).availableParallelism()} cores`);
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
