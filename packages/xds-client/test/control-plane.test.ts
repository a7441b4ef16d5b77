/**
 * The xds-client against a real `weft control-plane` process (loopback, ephemeral ports):
 * subscribe, update and removal over both protocols; the control plane killed → the last good
 * config keeps serving with no does-not-exist; restarted with new config → reconnect and
 * converge within 5 s.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startControlPlane as startControlPlaneProcess } from '../../control-plane/src/demo/control-plane-process.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createXdsClient, type MeshError, type XdsConfig } from '@weft/xds-client';
import { waitFor } from './fake-ads-server.ts';

const LISTENER = 'reviews.default.svc.cluster.local:9080';
const dir = mkdtempSync(join(tmpdir(), 'weft-xds-client-cp-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function writeMesh(weights: readonly [number, number]): void {
  const routes = [
    weights[0] > 0 ? `        - { destination: { host: reviews, subset: v1 }, weight: ${weights[0]} }` : '',
    weights[1] > 0 ? `        - { destination: { host: reviews, subset: v2 }, weight: ${weights[1]} }` : '',
  ].filter(Boolean);
  writeFileSync(
    join(dir, 'mesh.yaml'),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: 19081 }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { http: 19082 }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { consistentHash: { httpHeaderName: x-user } }
    connectionPool: { http: { http2MaxRequests: 50, http1MaxPendingRequests: 7 } }
    outlierDetection: { consecutive5xxErrors: 3, interval: 2s, baseEjectionTime: 15s, maxEjectionPercent: 50 }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - fault: { abort: { percentage: { value: 10 }, httpStatus: 503 } }
      timeout: 5s
      retries: { attempts: 3, perTryTimeout: 1s, retryOn: 5xx }
      route:
${routes.join('\n')}
`,
  );
}

/** Starts `weft control-plane` on `xdsPort` (0 = any); resolves with the bound xDS port. */
async function startControlPlane(xdsPort: number): Promise<{ child: ChildProcess; port: number }> {
  const cp = await startControlPlaneProcess({ configPaths: [dir], xdsPort, args: ['--debounce-ms', '20'] });
  children.add(cp.child);
  cp.child.on('exit', () => children.delete(cp.child));
  return { child: cp.child, port: Number(cp.xdsAddress.split(':').pop()) };
}

/** Weights of the v1/v2 clusters in the catch-all route of the latest config. */
function weights(config: XdsConfig | undefined): Record<string, number> {
  const route = config?.routeConfig.virtualHosts.flatMap((vh) => vh.routes).find((r) => r.action.type === 'route');
  if (route?.action.type !== 'route') return {};
  const spec = route.action.route.clusterSpecifier;
  const subset = (name: string): string => name.split('|')[2] ?? name;
  if (spec.type === 'cluster') return { [subset(spec.cluster)]: 100 };
  if (spec.type !== 'weightedClusters') return {};
  return Object.fromEntries(spec.clusters.map((c) => [subset(c.name), c.weight]));
}

for (const protocol of ['delta', 'sotw'] as const) {
  test(`${protocol}: subscribe, update, removal, control plane killed and restarted`, async () => {
    writeMesh([80, 20]);
    let cp = await startControlPlane(0);
    const port = cp.port;
    const client = createXdsClient({
      bootstrap: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }] }], node: { id: `sidecar~127.0.0.1~xds-client-test-${protocol}.default~default.svc.cluster.local`, metadata: { NAMESPACE: 'default' } } },
      protocol,
    });
    try {
      const updates: XdsConfig[] = [];
      const errors: MeshError[] = [];
      const missing: string[] = [];
      client.watchXdsConfig(LISTENER, { onUpdate: (c) => updates.push(c), onError: (e) => errors.push(e), onResourceDoesNotExist: (r) => missing.push(r.name) });

      await waitFor(() => weights(updates.at(-1))['v2'] === 20, 'initial 80/20 config', 10_000);
      const first = updates.at(-1);
      assert.deepEqual(weights(first), { v1: 80, v2: 20 });
      for (const result of first?.clusters.values() ?? []) {
        assert.ok(result.ok, result.ok ? '' : result.error.message);
        assert.ok((result.value.endpoints?.localities.flatMap((l) => l.endpoints).length ?? 0) >= 1, 'each subset has its endpoint');
      }
      // Field-level interop with the control plane's generators.
      const hcm = first?.listener.httpConnectionManager;
      assert.deepEqual(hcm?.httpFilters.map((f) => f.config.type), ['fault', 'router']);
      const route = first?.routeConfig.virtualHosts.flatMap((vh) => vh.routes).find((r) => r.action.type === 'route');
      assert.ok(route?.action.type === 'route');
      assert.equal(route.action.route.timeoutMs, 5000);
      assert.equal(route.action.route.retryPolicy?.numRetries, 3);
      assert.equal(route.action.route.retryPolicy?.perTryTimeoutMs, 1000);
      assert.ok(route.action.route.retryPolicy?.retryOn.includes('5xx'));
      assert.deepEqual(route.action.route.hashPolicies.map((h) => h.type === 'header' && h.headerName), ['x-user']);
      const fault = route.typedPerFilterConfig.get(hcm?.httpFilters[0]?.name ?? '');
      assert.ok(fault?.type === 'fault', 'the abort is configured on the route');
      assert.equal(fault.fault.abort?.httpStatus, 503);
      const cluster = [...(first?.clusters.values() ?? [])][0];
      assert.ok(cluster?.ok);
      assert.equal(cluster.value.cluster.lbPolicy.type, 'ringHash');
      assert.equal(cluster.value.cluster.circuitBreakers[0]?.maxRequests, 50);
      assert.equal(cluster.value.cluster.circuitBreakers[0]?.maxPendingRequests, 7);
      assert.equal(cluster.value.cluster.outlierDetection?.consecutive5xx, 3);
      assert.equal(cluster.value.cluster.outlierDetection?.intervalMs, 2000);
      assert.equal(cluster.value.cluster.outlierDetection?.baseEjectionTimeMs, 15000);
      assert.equal(cluster.value.cluster.outlierDetection?.maxEjectionPercent, 50);
      assert.equal(client.dump().server?.protocol, protocol);
      assert.ok(client.dump().resources.every((r) => r.status === 'ACKED'), JSON.stringify(client.dump().resources.map((r) => [r.name, r.status, r.errorState?.detail])));

      writeMesh([50, 50]);
      await waitFor(() => weights(updates.at(-1))['v2'] === 50, 'update to 50/50', 10_000);

      writeMesh([100, 0]);
      await waitFor(() => weights(updates.at(-1))['v2'] === undefined && weights(updates.at(-1))['v1'] === 100, 'v2 removed from the route', 10_000);
      await waitFor(() => !client.dump().resources.some((r) => r.name.includes('|v2|')), 'v2 cluster unsubscribed', 5000);

      // Killed under load: the last good config stays, nothing is reported missing.
      const before = updates.length;
      cp.child.kill('SIGKILL');
      await waitFor(() => errors.some((e) => e.code === 'WEFT_ERR_XDS_UNAVAILABLE'), 'unavailability reported', 10_000);
      assert.deepEqual(missing, []);
      assert.ok(client.dump().resources.every((r) => r.value !== undefined), 'cached config kept');
      assert.equal(updates.length, before, 'no new (emptier) config was delivered while the control plane was gone');

      // Restarted with new config on the same port: reconnect and converge within 5 s.
      writeMesh([30, 70]);
      cp = await startControlPlane(port);
      const restartedAt = performance.now();
      await waitFor(() => weights(updates.at(-1))['v2'] === 70, 'converged after restart', 5000);
      console.log(`# ${protocol}: converged ${Math.round(performance.now() - restartedAt)} ms after the control plane was ready again`);
      assert.deepEqual(missing, []);
    } finally {
      client.close();
      cp.child.kill('SIGTERM');
    }
  });
}
