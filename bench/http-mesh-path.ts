/**
 * The mesh's own CPU per HTTP request, without sockets: requests go through the whole mesh
 * dispatcher (routing with a 90/10 split, rate-limit and fault stages, timeout + retry state,
 * circuit breaker, pick, outlier bookkeeping, and in a second dispatcher
 * that also records Istio metrics, a client span, the trace headers and load stats), but the
 * endpoint pool is replaced by one that answers synchronously, so nothing else is measured.
 * The same handler answered by that pool directly is the baseline. Each side runs in its own
 * process (sharing one would make the shared stages see several handler shapes, which a real
 * process with one dispatcher does not); the median round is reported in ns per request.
 *
 *   node_modules/.bin/node bench/http-mesh-path.ts [--quick]
 *
 * Prints `RESULT http_mesh_path_ns_per_request=…` and `RESULT http_mesh_path_telemetry_ns_per_request=…`.
 * `bench/http-ratio.ts` measures the same path end to end against raw undici.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { createMeshDispatcher } from '../packages/http-adapter/src/index.ts';
import type { MeshDispatcher } from '../packages/http-adapter/src/index.ts';
import { createMeshTelemetry, createPeerIdentity } from '../packages/core/src/index.ts';
import { FakeXds, createTestMesh, edsCluster, loadAssignment, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from '../packages/http-adapter/test/support.ts';
import { retryPolicy } from '../packages/http-adapter/test/harness.ts';
import { median } from './support/http-load.ts';

const isQuick = process.argv.includes('--quick');
const ROUNDS = isQuick ? 5 : 15;
const PER_ROUND = isQuick ? 100_000 : 300_000;

const xds = new FakeXds();
const action = routeAction(
  [
    ['reviews-v1', 90],
    ['reviews-v2', 10],
  ],
  { retryPolicy: retryPolicy(['5xx', 'reset', 'connect-failure'], 2), timeoutMs: 15_000 },
);
xds.set(
  xdsConfigOf('reviews.default.svc.cluster.local:9080', routeConfig('rc', [virtualHost('vh', ['reviews:9080', 'reviews'], [route('r', routeMatch({ type: 'prefix', prefix: '/' }), action)])]), [
    [edsCluster('reviews-v1'), loadAssignment('reviews-v1', [{ endpoints: ['127.0.0.1:9'] }])],
    [edsCluster('reviews-v2'), loadAssignment('reviews-v2', [{ endpoints: ['127.0.0.1:9'] }])],
  ]),
);
const mesh = await createTestMesh(xds);
await mesh.waitForHost('reviews:9080');
const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } }) });

/** A pool that answers every request at once with a 200 and a two-byte body (undici's legacy handler calls). */
const RAW_HEADERS = [Buffer.from('content-length'), Buffer.from('2'), Buffer.from('date'), Buffer.from('Mon, 23 Nov 2026 10:00:00 GMT')];
const BODY = Buffer.from('ok');
type LegacyHandler = {
  onConnect?(abort: () => void): void;
  onHeaders?(status: number, headers: Buffer[], resume: () => void, text: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[]): void;
};
const answeringPool = {
  destroyed: false,
  closed: false,
  dispatch(_opts: unknown, h: LegacyHandler): boolean {
    h.onConnect?.(() => {});
    h.onHeaders?.(200, RAW_HEADERS, () => {}, 'OK');
    h.onData?.(BODY);
    h.onComplete?.([]);
    return true;
  },
};

function meshedWithAnsweringPool(withTelemetry: boolean): MeshDispatcher {
  const d = createMeshDispatcher({ mesh, ...(withTelemetry ? { telemetry } : {}) });
  (d.endpoints.pools as unknown as { get(): unknown }).get = () => answeringPool;
  return d;
}

let completed = 0;
/** What undici's `request()` hands a dispatcher: a legacy handler. */
function callerHandler(): Dispatcher.DispatchHandler {
  return {
    onConnect() {},
    onHeaders() {
      return true;
    },
    onData() {
      return true;
    },
    onComplete() {
      completed++;
    },
    onError(err: Error) {
      throw err;
    },
  } as unknown as Dispatcher.DispatchHandler;
}

const sides: Record<string, () => () => void> = {
  baseline: () => () => void answeringPool.dispatch({}, callerHandler() as unknown as LegacyHandler),
  mesh: () => ((d) => () => void d.dispatch({ origin: 'http://reviews:9080', path: '/ratings', method: 'GET', headers: {} }, callerHandler()))(meshedWithAnsweringPool(false)),
  telemetry: () => ((d) => () => void d.dispatch({ origin: 'http://reviews:9080', path: '/ratings', method: 'GET', headers: {} }, callerHandler()))(meshedWithAnsweringPool(true)),
};

function round(fn: () => void, n: number): number {
  const before = completed;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const cpu = process.cpuUsage(cpu0);
  if (completed - before !== n) throw new Error(`only ${completed - before} of ${n} requests completed`);
  return ((cpu.user + cpu.system) * 1000) / n;
}

const sideArg = process.argv.indexOf('--side');
if (sideArg > 0) {
  // Child: measure one side, print its median.
  const fn = sides[process.argv[sideArg + 1]!]!();
  round(fn, PER_ROUND / 5); // warm-up (JIT)
  const rounds = Array.from({ length: ROUNDS }, () => round(fn, PER_ROUND));
  console.log(median(rounds).toFixed(1));
} else {
  const measure = (side: string): number => {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--side', side, ...(isQuick ? ['--quick'] : [])], { encoding: 'utf8' });
    return Number(out.trim().split('\n').at(-1));
  };
  const base = measure('baseline');
  const meshNs = measure('mesh');
  const telemetryNs = measure('telemetry');
  console.log(`baseline (the answering pool alone): ${base.toFixed(0)} ns per request`);
  console.log(`RESULT http_mesh_path_ns_per_request=${(meshNs - base).toFixed(0)}`);
  console.log(`RESULT http_mesh_path_telemetry_ns_per_request=${(telemetryNs - base).toFixed(0)}`);
}
await mesh.close();
await telemetry.close();
