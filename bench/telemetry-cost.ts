/**
 * Telemetry cost on the HTTP path, side by side in one run: requests/s and client CPU per
 * request of undici through (a) a plain Agent, (b) the mesh dispatcher without telemetry,
 * (c) the mesh dispatcher with telemetry (Istio metrics, client span + `traceparent` with the
 * OpenTelemetry API as a no-op — the default when no exporter is configured — metadata-exchange
 * headers, load stats) to a Weft workload, which takes the metadata exchange once per
 * connection, (d) the same to an Envoy sidecar's endpoint, which takes it on every request
 * (Istio's wire contract), (e) (c) plus the access log written to /dev/null. The endpoint's EDS
 * metadata names its workload (and for (c) its peer exchange), as Weft's control plane sends it. The upstream runs
 * in a child process, so `process.cpuUsage()` counts only the client. Short rounds go over
 * `raw`, `off`, `on` forward and backward in turn (`off` and `on` always next to each other), so
 * drift hits every side alike, then over `on` and `logged` the same way (the access log's writes
 * and garbage would spill into the next side's round); ratios are medians of per-round ratios.
 * Rounds are short (300 ms, several thousand requests each) so the two sides of a pair run
 * close together in time; a full run takes 100 of them, whose per-round ratios still scatter by
 * about ±10 % on the project machine, so the goal ratio is printed with a bootstrap 95 %
 * interval of its median.
 *
 * The sides share one process on purpose: two processes with the very same dispatcher
 * configuration differed by up to 12 % in requests/s on the project machine (per-process
 * placement and JIT), while two identical dispatchers in one process agree within ±3 %.
 *
 *   node_modules/.bin/node bench/telemetry-cost.ts [--quick]
 *
 * Prints `RESULT telemetry_*` lines and `RATIO telemetry_on_vs_off=<x>` (goal ≥ 0.90),
 * `RATIO telemetry_on_vs_raw_undici=<x>`, and `RESULT telemetry_envoy_destination_vs_off=<x>`.
 */
import { startBenchUpstream } from './support/http-upstream.ts';
import { loadRound, median, medianInterval } from './support/http-load.ts';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { createAccessLog, createMeshTelemetry, createPeerIdentity } from '../packages/core/src/index.ts';
import { createMeshDispatcher } from '../packages/http-adapter/src/index.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from '../packages/http-adapter/test/support.ts';

const isQuick = process.argv.includes('--quick');
const ROUNDS = isQuick ? 20 : 100;
const ROUND_MS = 300;
const CONCURRENCY = 32;

const upstream = await startBenchUpstream();
const port = upstream.port;

const REVIEWS_V1_ISTIO = { workload: 'reviews-v1;default;reviews;v1;Kubernetes', namespace: 'default', service_account: 'reviews', labels: { app: 'reviews', version: 'v1' } };

/** A mesh whose one endpoint carries `metadata` in EDS. */
async function meshWithEndpointMetadata(metadata: Readonly<Record<string, Readonly<Record<string, unknown>>>>): Promise<Awaited<ReturnType<typeof createTestMesh>>> {
  const xds = new FakeXds();
  xds.set(
    xdsConfigOf('reviews.default.svc.cluster.local:9080', routeConfig('rc', [virtualHost('vh', ['reviews:9080', 'reviews'], [route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction([['reviews-v1', 100]]))])]), [
      [edsCluster('reviews-v1'), loadAssignment('reviews-v1', [{ endpoints: [{ addr: `127.0.0.1:${port}`, metadata }] }])],
    ]),
  );
  return createTestMesh(xds);
}
// The endpoint carries the workload identity Weft's control plane (like istiod) puts in EDS; a
// registered Weft workload also its peer exchange, an Envoy sidecar's endpoint does not.
const mesh = await meshWithEndpointMetadata({ istio: REVIEWS_V1_ISTIO, weft: { peer_exchange: 'connection' } });
const envoyMesh = await meshWithEndpointMetadata({ istio: REVIEWS_V1_ISTIO });
const local = createPeerIdentity({ workload: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
const telemetry = createMeshTelemetry({ local });
const telemetryLogged = createMeshTelemetry({ local, accessLog: createAccessLog({ target: '/dev/null' }) });
const sides: Record<string, { url: string; dispatcher: Dispatcher }> = {
  raw: { url: `http://127.0.0.1:${port}/ratings`, dispatcher: new Agent({ connections: CONCURRENCY }) },
  off: { url: 'http://reviews:9080/ratings', dispatcher: createMeshDispatcher({ mesh }) },
  on: { url: 'http://reviews:9080/ratings', dispatcher: createMeshDispatcher({ mesh, telemetry }) },
  envoy: { url: 'http://reviews:9080/ratings', dispatcher: createMeshDispatcher({ mesh: envoyMesh, telemetry }) },
  logged: { url: 'http://reviews:9080/ratings', dispatcher: createMeshDispatcher({ mesh, telemetry: telemetryLogged }) },
};

function round(name: string, ms: number): Promise<{ rps: number; cpuUs: number }> {
  const { url, dispatcher } = sides[name]!;
  return loadRound(url, dispatcher, ms, CONCURRENCY);
}

for (const name of Object.keys(sides)) await round(name, 500); // warm-up: connections, JIT

const rps: Record<string, number[]> = { raw: [], off: [], on: [], envoy: [], logged: [] };
const cpu: Record<string, number[]> = { raw: [], off: [], on: [], envoy: [], logged: [] };
const onVsOff: number[] = [];
const envoyVsOff: number[] = [];
const onVsRaw: number[] = [];
const loggedVsOn: number[] = [];
const names = Object.keys(sides);

/** Rounds over `phase` forward and backward in turn: neighbours stay neighbours, each first half the time. */
async function rotate(phase: readonly string[], rounds: number, after: () => void): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const name of i % 2 === 0 ? phase : [...phase].reverse()) {
      const r = await round(name, ROUND_MS);
      rps[name]!.push(r.rps);
      cpu[name]!.push(r.cpuUs);
    }
    after();
  }
}

// The access log's writes (a turn after each request) and its garbage would spill into the round
// after a `logged` one: it is measured in a phase of its own, against `on`.
await rotate(['raw', 'envoy', 'off', 'on'], ROUNDS, () => {
  onVsOff.push(rps['on']!.at(-1)! / rps['off']!.at(-1)!);
  onVsRaw.push(rps['on']!.at(-1)! / rps['raw']!.at(-1)!);
  envoyVsOff.push(rps['envoy']!.at(-1)! / rps['off']!.at(-1)!);
});
const onRounds = rps['on']!.length;
await rotate(['on', 'logged'], Math.ceil(ROUNDS / 2), () => loggedVsOn.push(rps['logged']!.at(-1)! / rps['on']!.at(-1)!));
// `on` keeps the rounds of the first phase only, so every side's medians come from one phase
rps['on']!.length = onRounds;
cpu['on']!.length = onRounds;

for (const name of names) console.log(`RESULT telemetry_${name}_rps=${median(rps[name]!).toFixed(0)}`);
for (const name of names) console.log(`RESULT telemetry_${name}_client_cpu_us_per_request=${median(cpu[name]!).toFixed(1)}`);
console.log(`RESULT telemetry_added_cpu_us_per_request=${(median(cpu['on']!) - median(cpu['off']!)).toFixed(1)}`);
console.log(`RESULT telemetry_access_log_added_cpu_us_per_request=${(median(cpu['logged']!) - median(cpu['on']!)).toFixed(1)}`);
const interval = medianInterval(onVsOff);
console.log(`RESULT telemetry_on_vs_off_interval95=${interval.low.toFixed(3)}..${interval.high.toFixed(3)} (${onVsOff.length} paired rounds)`);
console.log(`RATIO telemetry_on_vs_off=${median(onVsOff).toFixed(3)}`);
console.log(`RATIO telemetry_on_vs_raw_undici=${median(onVsRaw).toFixed(3)}`);
const envoyInterval = medianInterval(envoyVsOff);
console.log(`RESULT telemetry_envoy_destination_vs_off=${median(envoyVsOff).toFixed(3)} (95 % interval ${envoyInterval.low.toFixed(3)}..${envoyInterval.high.toFixed(3)})`);
console.log(`RESULT telemetry_logged_vs_on=${median(loggedVsOn).toFixed(3)}`);

for (const s of Object.values(sides)) await s.dispatcher.close();
await telemetryLogged.close();
await mesh.close();
await envoyMesh.close();
upstream.child.stdin!.end();
