/**
 * Telemetry cost on the HTTP path, side by side in one run: requests/s and client CPU per
 * request of undici through (a) a plain Agent, (b) the mesh dispatcher without telemetry,
 * (c) the mesh dispatcher with telemetry (Istio metrics, client span + `traceparent` with the
 * OpenTelemetry API as a no-op — the default when no exporter is configured — metadata-exchange
 * headers, load stats), (d) the same plus the access log written to /dev/null. The endpoint's EDS
 * metadata names its workload, as Weft's control plane and istiod send it.
 *
 * Each side runs in a process of its own, as an application has one dispatcher configuration:
 * sharing one process would make the shared mesh stages see every side's shapes (three
 * dispatchers, with and without telemetry), which no real process does. The upstream runs in a
 * child process too, so a side's `process.cpuUsage()` counts only its client. The driver
 * rotates short rounds over the sides (one side loads the upstream at a time), so drift hits
 * every side alike; ratios are medians of per-round ratios.
 *
 *   node_modules/.bin/node bench/telemetry-cost.ts [--quick]
 *
 * Prints `RESULT telemetry_*` lines and `RATIO telemetry_on_vs_off=<x>` (goal ≥ 0.90),
 * `RATIO telemetry_on_vs_raw_undici=<x>`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBenchUpstream } from './support/http-upstream.ts';
import { loadRound, median } from './support/http-load.ts';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { createAccessLog, createMeshTelemetry, createPeerIdentity } from '../packages/core/src/index.ts';
import { createMeshDispatcher } from '../packages/http-adapter/src/index.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from '../packages/http-adapter/test/support.ts';

const isQuick = process.argv.includes('--quick');
const ROUNDS = isQuick ? 12 : 30;
const ROUND_MS = isQuick ? 400 : 1000;
const CONCURRENCY = 32;
const SIDES = ['raw', 'off', 'on', 'logged'] as const;
type Side = (typeof SIDES)[number];
type RoundResult = { rps: number; cpuUs: number };

const REVIEWS_V1_METADATA = { istio: { workload: 'reviews-v1;default;reviews;v1;Kubernetes', namespace: 'default', service_account: 'reviews', labels: { app: 'reviews', version: 'v1' } } };

/** One side in this process: its dispatcher, rounds on request from the driver. */
async function runSide(side: Side, port: number): Promise<void> {
  let dispatcher: Dispatcher;
  let url = 'http://reviews:9080/ratings';
  let close = async (): Promise<void> => {};
  if (side === 'raw') {
    dispatcher = new Agent({ connections: CONCURRENCY });
    url = `http://127.0.0.1:${port}/ratings`;
  } else {
    const xds = new FakeXds();
    const listener = 'reviews.default.svc.cluster.local:9080';
    xds.set(
      xdsConfigOf(listener, routeConfig('rc', [virtualHost('vh', ['reviews:9080', 'reviews'], [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction([['reviews-v1', 100]]))])]), [
        // the endpoint carries the workload identity Weft's control plane (like istiod) puts in EDS
        [edsCluster('reviews-v1'), loadAssignment('reviews-v1', [{ endpoints: [{ addr: `127.0.0.1:${port}`, metadata: REVIEWS_V1_METADATA }] }])],
      ]),
    );
    const mesh = await createTestMesh(xds);
    const local = createPeerIdentity({ workload: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
    const telemetry = side === 'off' ? undefined : createMeshTelemetry({ local, ...(side === 'logged' ? { accessLog: createAccessLog({ target: '/dev/null' }) } : {}) });
    dispatcher = createMeshDispatcher({ mesh, ...(telemetry ? { telemetry } : {}) });
    close = async () => {
      await telemetry?.close();
      await mesh.close();
    };
  }
  await loadRound(url, dispatcher, 500, CONCURRENCY); // warm-up: connections, JIT
  process.on('message', async (m: { op: 'round'; ms: number } | { op: 'close' }) => {
    if (m.op === 'round') process.send?.(await loadRound(url, dispatcher, m.ms, CONCURRENCY));
    else {
      await dispatcher.close();
      await close();
      process.disconnect();
    }
  });
  process.send?.({ ready: true });
}

const sideArg = process.argv.indexOf('--side');
if (sideArg > 0) {
  await runSide(process.argv[sideArg + 1] as Side, Number(process.argv[process.argv.indexOf('--port') + 1]));
} else {
  const upstream = await startBenchUpstream();
  const workers = new Map<Side, ChildProcess>();
  const next = (child: ChildProcess) => new Promise<unknown>((resolve) => child.once('message', resolve));
  for (const side of SIDES) {
    // one at a time: the warm-ups do not overlap
    const child = fork(fileURLToPath(import.meta.url), ['--side', side, '--port', String(upstream.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await next(child);
    workers.set(side, child);
  }
  const round = async (side: Side, ms: number): Promise<RoundResult> => {
    const child = workers.get(side)!;
    const done = next(child);
    child.send({ op: 'round', ms });
    return (await done) as RoundResult;
  };

  const rps: Record<Side, number[]> = { raw: [], off: [], on: [], logged: [] };
  const cpu: Record<Side, number[]> = { raw: [], off: [], on: [], logged: [] };
  const onVsOff: number[] = [];
  const onVsRaw: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = SIDES.map((_, k) => SIDES[(k + i) % SIDES.length]!);
    for (const side of order) {
      const r = await round(side, ROUND_MS);
      rps[side].push(r.rps);
      cpu[side].push(r.cpuUs);
    }
    onVsOff.push(rps.on.at(-1)! / rps.off.at(-1)!);
    onVsRaw.push(rps.on.at(-1)! / rps.raw.at(-1)!);
  }

  for (const side of SIDES) console.log(`RESULT telemetry_${side}_rps=${median(rps[side]).toFixed(0)}`);
  for (const side of SIDES) console.log(`RESULT telemetry_${side}_client_cpu_us_per_request=${median(cpu[side]).toFixed(1)}`);
  console.log(`RESULT telemetry_added_cpu_us_per_request=${(median(cpu.on) - median(cpu.off)).toFixed(1)}`);
  console.log(`RESULT telemetry_access_log_added_cpu_us_per_request=${(median(cpu.logged) - median(cpu.on)).toFixed(1)}`);
  console.log(`RATIO telemetry_on_vs_off=${median(onVsOff).toFixed(3)}`);
  console.log(`RATIO telemetry_on_vs_raw_undici=${median(onVsRaw).toFixed(3)}`);

  await Promise.all([...workers.values()].map((child) => new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.send({ op: 'close' });
  })));
  upstream.child.stdin!.end();
}
